package strategy

import (
	"context"
	"crypto/sha256"
	"strconv"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/powsdk"
	"github.com/bc-chain/bc/pkg/sha256block"
)

// ClassicDifficulty is the seed's default difficulty.
const ClassicDifficulty = 5

// Classic is the seed's proof of work: SHA-256 of str(previous proof) +
// str(proof) must end with difficulty zero hex digits.
type Classic struct{}

// Describe implements powsdk.Strategy.
func (Classic) Describe() powsdk.Info {
	return powsdk.Info{
		Name:              "classic",
		Description:       "the seed's rule: SHA-256 of decimal previous proof + decimal proof ends with <difficulty> zero hex digits",
		Version:           "1",
		DefaultDifficulty: ClassicDifficulty,
		MinDifficulty:     0,
		MaxDifficulty:     32,
		DifficultyUnit:    "trailing zero hex digits",
	}
}

// classicSearch keeps the preimage decimal(prev) || decimal(proof) in a
// padded block and counts in decimal in place, so that an attempt costs one
// compression and no formatting.
type classicSearch struct {
	block      [64]byte
	prefix     int // length of decimal(prev)
	digits     int // length of decimal(proof)
	difficulty uint32
	prev       uint64
}

func newClassicSearch(prev uint64, difficulty uint32) *classicSearch {
	return &classicSearch{prev: prev, difficulty: difficulty}
}

// load writes decimal(prev) || decimal(proof) and the padding.
func (s *classicSearch) load(proof uint64) {
	msg := strconv.AppendUint(s.block[:0], s.prev, 10)
	s.prefix = len(msg)
	msg = strconv.AppendUint(msg, proof, 10)
	s.digits = len(msg) - s.prefix
	sha256block.Pad(&s.block, len(msg), uint64(len(msg)))
}

// add increments the decimal proof in place by n (< 10^9); it reloads the
// block when the number of digits grows.
func (s *classicSearch) add(n uint64, proof uint64) {
	i := s.prefix + s.digits - 1
	for n > 0 {
		if i < s.prefix {
			s.load(proof)
			return
		}
		d := uint64(s.block[i]-'0') + n%10
		n /= 10
		if d >= 10 {
			d -= 10
			n++
		}
		s.block[i] = byte('0' + d)
		i--
	}
}

func (s *classicSearch) try(first, stride, count uint64) (uint64, chain.Hash, bool) {
	if first+stride*count < first || stride >= 1e9 {
		return s.trySlow(first, stride, count)
	}
	s.load(first)
	proof := first
	for i := uint64(0); i < count; i++ {
		st := sha256block.IV
		sha256block.Block(&st, &s.block)
		if trailingZeroNibbles(&st, s.difficulty) {
			var h chain.Hash
			sha256block.Digest(&st, (*[32]byte)(&h))
			return proof, h, true
		}
		proof += stride
		s.add(stride, proof)
	}
	return 0, chain.Hash{}, false
}

// trySlow handles the wrap-around at the end of the proof space.
func (s *classicSearch) trySlow(first, stride, count uint64) (uint64, chain.Hash, bool) {
	proof := first
	for i := uint64(0); i < count; i++ {
		if h, ok := classicCheck(s.prev, proof, s.difficulty); ok {
			return proof, h, true
		}
		proof += stride
	}
	return 0, chain.Hash{}, false
}

// classicCheck computes the work hash of (prev, proof) the plain way.
func classicCheck(prev, proof uint64, difficulty uint32) (chain.Hash, bool) {
	var buf [40]byte
	msg := strconv.AppendUint(buf[:0], prev, 10)
	msg = strconv.AppendUint(msg, proof, 10)
	h := chain.Hash(sha256.Sum256(msg))
	var st [8]uint32
	for i := range st {
		st[i] = uint32(h[4*i])<<24 | uint32(h[4*i+1])<<16 | uint32(h[4*i+2])<<8 | uint32(h[4*i+3])
	}
	return h, trailingZeroNibbles(&st, difficulty)
}

// Seal implements powsdk.Strategy.
func (Classic) Seal(ctx context.Context, req powsdk.SealRequest, report func(uint64)) (powsdk.SealResult, error) {
	return powsdk.Search(ctx, req, report, func() func(first, stride, count uint64) (uint64, chain.Hash, bool) {
		return newClassicSearch(req.PrevProof, req.Params.Difficulty).try
	})
}

// Verify implements powsdk.Strategy.
func (Classic) Verify(params chain.Params, records []byte) (int, chain.Hash, error) {
	recs := powsdk.Records(records)
	bad, work := powsdk.ParallelVerify(recs, func(i int) (bool, chain.Hash) {
		h, ok := classicCheck(recs.PrevProof(i), recs.Proof(i), params.Difficulty)
		return ok, h
	})
	return bad, work, nil
}
