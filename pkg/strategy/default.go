package strategy

import (
	"context"
	"encoding/binary"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/powsdk"
	"github.com/bc-chain/bc/pkg/sha256block"
)

// DefaultDifficulty of the default strategy: 2^24 expected attempts, about
// 0.4 s for a block on both cores of the reference machine (45 M attempts/s)
// and 0.75 s on one; the README explains the choice.
const DefaultDifficulty = 24

// Default is bc's default strategy: the block hash must start with
// difficulty zero bits.
type Default struct{}

// Describe implements powsdk.Strategy.
func (Default) Describe() powsdk.Info {
	return powsdk.Info{
		Name:              "default",
		Description:       "SHA-256 of the whole block header (the block hash) starts with <difficulty> zero bits",
		Version:           "1",
		DefaultDifficulty: DefaultDifficulty,
		MinDifficulty:     0,
		MaxDifficulty:     128,
		DifficultyUnit:    "leading zero bits of the block hash",
	}
}

// defaultSearch holds one thread's search state: the midstate of the first
// 64 header bytes and the padded second block whose last 8 message bytes are
// the proof.
type defaultSearch struct {
	mid        [8]uint32
	tail       [64]byte
	difficulty uint32
}

// The proof sits at header bytes 88..95, which are bytes 24..31 of the
// second 64-byte block.
const proofInTail = chain.ProofOffset - 64

func newDefaultSearch(header *[chain.HeaderSize]byte, difficulty uint32) *defaultSearch {
	s := &defaultSearch{difficulty: difficulty}
	s.mid = sha256block.Midstate((*[64]byte)(header[:64]))
	copy(s.tail[:], header[64:])
	sha256block.Pad(&s.tail, chain.HeaderSize-64, chain.HeaderSize)
	return s
}

// try tests first, first+stride, ... (count proofs). No allocation.
func (s *defaultSearch) try(first, stride, count uint64) (uint64, chain.Hash, bool) {
	proof := first
	for i := uint64(0); i < count; i++ {
		binary.BigEndian.PutUint64(s.tail[proofInTail:], proof)
		st := s.mid
		sha256block.Block(&st, &s.tail)
		if leadingZeroBits(&st, s.difficulty) {
			var h chain.Hash
			sha256block.Digest(&st, (*[32]byte)(&h))
			return proof, h, true
		}
		proof += stride
	}
	return 0, chain.Hash{}, false
}

// Seal implements powsdk.Strategy.
func (Default) Seal(ctx context.Context, req powsdk.SealRequest, report func(uint64)) (powsdk.SealResult, error) {
	return powsdk.Search(ctx, req, report, func() func(first, stride, count uint64) (uint64, chain.Hash, bool) {
		return newDefaultSearch(&req.Header, req.Params.Difficulty).try
	})
}

// headerHash returns the SHA-256 of a 96-byte header with two compressions.
func headerHash(header []byte, st *[8]uint32) {
	*st = sha256block.IV
	sha256block.Block(st, (*[64]byte)(header[:64]))
	var tail [64]byte
	copy(tail[:], header[64:chain.HeaderSize])
	sha256block.Pad(&tail, chain.HeaderSize-64, chain.HeaderSize)
	sha256block.Block(st, &tail)
}

// Verify implements powsdk.Strategy.
func (Default) Verify(params chain.Params, records []byte) (int, chain.Hash, error) {
	recs := powsdk.Records(records)
	bad, work := powsdk.ParallelVerify(recs, func(i int) (bool, chain.Hash) {
		var st [8]uint32
		headerHash(recs.Header(i), &st)
		if leadingZeroBits(&st, params.Difficulty) {
			return true, chain.Hash{}
		}
		var h chain.Hash
		sha256block.Digest(&st, (*[32]byte)(&h))
		return false, h
	})
	return bad, work, nil
}

// Hash implements powsdk.Strategy.
func (Default) Hash(_ chain.Params, records []byte, out []byte) error {
	recs := powsdk.Records(records)
	powsdk.ParallelHash(recs, out, func(i int, o []byte) {
		var st [8]uint32
		headerHash(recs.Header(i), &st)
		sha256block.Digest(&st, (*[32]byte)(o))
	})
	return nil
}
