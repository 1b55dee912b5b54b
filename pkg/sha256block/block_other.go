//go:build !amd64 || purego

package sha256block

const useSHANI = false

func blockSHANI(state *[8]uint32, block *[64]byte) { blockGeneric(state, block) }

func search2SHANI(*searchState, uint64, uint64, uint64, uint32) (uint64, bool) {
	panic("sha256block: no SHA-NI search on this platform")
}
