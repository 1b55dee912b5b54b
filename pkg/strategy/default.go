package strategy

import (
	"context"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/powsdk"
	"github.com/bc-chain/bc/pkg/sha256block"
)

// DefaultDifficulty of the default strategy: 2^25 expected attempts, about
// 0.3 s for a block on both cores of the reference machine (117 M
// attempts/s) and 0.55 s on one; the README explains the choice.
const DefaultDifficulty = 25

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
// the proof, in a sha256block.Searcher (one compression per attempt, two
// attempts interleaved on SHA-NI).
type defaultSearch struct {
	searcher   *sha256block.Searcher
	difficulty uint32
}

func newDefaultSearch(header *[chain.HeaderSize]byte, difficulty uint32) *defaultSearch {
	mid := sha256block.Midstate((*[64]byte)(header[:64]))
	var tail [64]byte
	copy(tail[:], header[64:])
	sha256block.Pad(&tail, chain.HeaderSize-64, chain.HeaderSize)
	return &defaultSearch{searcher: sha256block.NewSearcher(mid, tail), difficulty: difficulty}
}

// try tests first, first+stride, ... (count proofs). No allocation.
func (s *defaultSearch) try(first, stride, count uint64) (uint64, chain.Hash, bool) {
	mask := sha256block.Mask(s.difficulty)
	for count > 0 {
		proof, ok := s.searcher.Search(first, stride, count, mask)
		if !ok {
			return 0, chain.Hash{}, false
		}
		st := s.searcher.State(proof)
		if leadingZeroBits(&st, s.difficulty) {
			var h chain.Hash
			sha256block.Digest(&st, (*[32]byte)(&h))
			return proof, h, true
		}
		// The first word passed but a difficulty over 32 bits needs more.
		done := (proof-first)/stride + 1
		count -= min(done, count)
		first = proof + stride
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

// The proof's place in the header must be where the searcher puts it.
var _ [chain.ProofOffset - 64 - sha256block.ProofOffset]struct{}
var _ [sha256block.ProofOffset - (chain.ProofOffset - 64)]struct{}
