//go:build !amd64 || purego

package sha256block

const useSHANI = false

func blockSHANI(state *[8]uint32, block *[64]byte) { blockGeneric(state, block) }
