package sha256block

import "encoding/binary"

//go:generate go run gen_asm.go

// Searcher tries proofs for a preimage whose last 64-byte block holds the
// proof as a big-endian uint64 at bytes 24..31, the rest being fixed: the
// state before that block (the midstate) is computed once, and each
// candidate costs one compression. With the SHA extensions, two candidates
// run interleaved, so that one's rounds fill the other's latency.
type Searcher struct {
	mid    [8]uint32
	tail   [64]byte
	st     searchState
	engine engine
	std    *stdlibSearch // for engineStdlib
}

// searchState is what the assembly search reads: the midstate as the SHA
// instructions want it (ABEF, CDGH) and the tail block's words.
type searchState struct {
	abef, cdgh [4]uint32
	msg        [16]uint32
}

// ProofOffset is where the proof sits in the tail block.
const ProofOffset = 24

// NewSearcher prepares a search with the given midstate and padded tail
// block (the proof bytes are ignored).
func NewSearcher(mid [8]uint32, tail [64]byte) *Searcher {
	return newSearcher(mid, tail, platformEngine())
}

// newSearcher prepares a search with the given engine (tests compare them).
func newSearcher(mid [8]uint32, tail [64]byte, e engine) *Searcher {
	s := &Searcher{mid: mid, tail: tail, engine: e}
	if e == engineStdlib {
		s.std = newStdlibSearch(mid, tail)
	}
	s.st.abef = [4]uint32{mid[5], mid[4], mid[1], mid[0]}
	s.st.cdgh = [4]uint32{mid[7], mid[6], mid[3], mid[2]}
	for i := range s.st.msg {
		s.st.msg[i] = binary.BigEndian.Uint32(tail[4*i:])
	}
	s.st.msg[6], s.st.msg[7] = 0, 0
	return s
}

// Mask returns the first-word mask of a search for difficulty leading zero
// bits: a digest can only qualify if its first word w has w&mask == 0 (for
// difficulties over 32 this is a prefilter; check the whole digest).
func Mask(difficulty uint32) uint32 {
	switch {
	case difficulty == 0:
		return 0
	case difficulty >= 32:
		return ^uint32(0)
	}
	return ^uint32(0) << (32 - difficulty)
}

// Search tries first, first+stride, ... (count candidates, rounded up to
// an even number) and returns the first whose digest's first word passes
// mask.
func (s *Searcher) Search(first, stride, count uint64, mask uint32) (uint64, bool) {
	switch s.engine {
	case engineSHANI:
		return search2SHANI(&s.st, first, stride, (count+1)/2, mask)
	case engineStdlib:
		proof := first
		for range count {
			if s.std.digest0(proof)&mask == 0 {
				return proof, true
			}
			proof += stride
		}
		return 0, false
	}
	proof := first
	for range count {
		if s.Digest0(proof)&mask == 0 {
			return proof, true
		}
		proof += stride
	}
	return 0, false
}

// State returns the full state after compressing the tail with proof.
func (s *Searcher) State(proof uint64) [8]uint32 {
	st := s.mid
	tail := s.tail
	binary.BigEndian.PutUint64(tail[ProofOffset:], proof)
	Block(&st, &tail)
	return st
}

// Digest0 returns the first word of the digest for proof.
func (s *Searcher) Digest0(proof uint64) uint32 {
	st := s.State(proof)
	return st[0]
}
