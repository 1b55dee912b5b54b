//go:build amd64 && !purego

package sha256block

import "github.com/klauspost/cpuid/v2"

var useSHANI = cpuid.CPU.Supports(cpuid.SHA, cpuid.SSE4, cpuid.SSSE3)

//go:noescape
func blockSHANI(state *[8]uint32, block *[64]byte)

//go:noescape
func search2SHANI(st *searchState, first, stride, pairs uint64, mask uint32) (proof uint64, found bool)
