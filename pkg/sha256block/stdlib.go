package sha256block

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
	"math"
	"sync"
	"time"
)

// Where this package has no assembly of its own (anything but amd64 with
// SHA-NI), the standard library may still have the CPU's SHA-256
// instructions: on arm64 it uses the ARMv8 SHA2 extension. A search then
// resumes crypto/sha256 from the midstate for each candidate (one
// compression, in hardware) instead of running the portable compression.

// A search's engine, chosen by NewSearcher for the platform.
type engine uint8

const (
	engineGeneric engine = iota // this package's portable Go compression
	engineSHANI                 // this package's amd64 SHA-NI assembly
	engineStdlib                // crypto/sha256 resumed from the midstate
)

// platformEngine is the fastest engine here. Resuming crypto/sha256 costs
// about 65 ns per candidate besides the compression itself (measured on
// amd64), so the hardware path wins only where the portable compression
// is slow enough: where it is available, the choice is measured, once per
// process (about a millisecond).
func platformEngine() engine {
	switch {
	case useSHANI:
		return engineSHANI
	case stdlibAccelerated:
		return measuredEngine()
	}
	return engineGeneric
}

var measuredEngine = sync.OnceValue(func() engine { return faster(engineGeneric, engineStdlib) })

// faster times a search of a few thousand candidates with each engine
// (the best of three) and returns the quicker.
func faster(a, b engine) engine {
	var first, tail [64]byte
	Pad(&tail, 32, 96)
	best := func(e engine) time.Duration {
		s := newSearcher(Midstate(&first), tail, e)
		fastest := time.Duration(math.MaxInt64)
		for range 3 {
			start := time.Now()
			s.Search(0, 1, 4096, ^uint32(0))
			fastest = min(fastest, time.Since(start))
		}
		return fastest
	}
	if best(b) < best(a) {
		return b
	}
	return a
}

// stdlibSearch hashes candidates with crypto/sha256, without allocating:
// for each one, the hasher is set to a marshaled state that already holds
// the tail's message bytes (the proof patched in), and Sum pads and
// compresses that last block.
type stdlibSearch struct {
	h     hash.Hash
	reset encoding.BinaryUnmarshaler
	state []byte // crypto/sha256's marshaled form of mid plus the tail's bytes
	proof int    // where the proof sits in state
	sum   [sha256.Size]byte
}

// Offsets in crypto/sha256's marshaled state: magic, 8 state words, the
// 64-byte buffer, the message length so far.
const (
	marshaledBuffer = 4 + 8*4
	marshaledLen    = marshaledBuffer + 64
	marshaledSize   = marshaledLen + 8
)

// newStdlibSearch prepares the hasher for the preimage whose state after
// its full blocks is mid and whose padded last block is tail.
func newStdlibSearch(mid [8]uint32, tail [64]byte) *stdlibSearch {
	total := binary.BigEndian.Uint64(tail[56:]) / 8 // message bytes
	state := make([]byte, marshaledSize)
	copy(state, "sha\x03")
	for i, w := range mid {
		binary.BigEndian.PutUint32(state[4+4*i:], w)
	}
	copy(state[marshaledBuffer:], tail[:total%64])
	binary.BigEndian.PutUint64(state[marshaledLen:], total)
	h := sha256.New()
	return &stdlibSearch{h: h, reset: h.(encoding.BinaryUnmarshaler), state: state, proof: marshaledBuffer + ProofOffset}
}

// digest0 returns the first word of the digest for proof.
func (s *stdlibSearch) digest0(proof uint64) uint32 {
	binary.BigEndian.PutUint64(s.state[s.proof:], proof)
	if err := s.reset.UnmarshalBinary(s.state); err != nil {
		panic("sha256block: crypto/sha256 refused its own state: " + err.Error())
	}
	return binary.BigEndian.Uint32(s.h.Sum(s.sum[:0]))
}
