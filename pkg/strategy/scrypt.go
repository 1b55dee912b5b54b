package strategy

import (
	"context"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/scrypt"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/powsdk"
)

// scryptSalt separates bc's use of scrypt from any other.
var scryptSalt = []byte("bc-scrypt-pow")

// Scrypt defaults: N=1024, r=8 uses 1 MiB per attempt (128·N·r bytes), so a
// search cannot be sped up by hashing many candidates in a small cache, and
// an attempt costs about a millisecond instead of 40 ns.
const (
	ScryptDifficulty = 8
	scryptN          = 1024
	scryptR          = 8
	scryptP          = 1
)

// Scrypt is a memory-hard strategy.
type Scrypt struct{}

// Describe implements powsdk.Strategy.
func (Scrypt) Describe() powsdk.Info {
	return powsdk.Info{
		Name:              "scrypt",
		Description:       "memory-hard: scrypt(header, N, r, p) starts with <difficulty> zero bits; uses 128·N·r bytes per attempt",
		Version:           "1",
		DefaultDifficulty: ScryptDifficulty,
		MinDifficulty:     0,
		MaxDifficulty:     64,
		DifficultyUnit:    "leading zero bits of the scrypt output",
		Options: []powsdk.OptionSpec{
			{Name: "n", Default: scryptN, Min: 2, Max: 1 << 20, Description: "CPU/memory cost, a power of two"},
			{Name: "p", Default: scryptP, Min: 1, Max: 16, Description: "parallelisation"},
			{Name: "r", Default: scryptR, Min: 1, Max: 32, Description: "block size"},
		},
	}
}

type scryptCost struct{ n, r, p int }

func scryptParams(p chain.Params) (scryptCost, error) {
	n, _ := p.Option("n")
	r, _ := p.Option("r")
	pp, _ := p.Option("p")
	if n&(n-1) != 0 {
		return scryptCost{}, fmt.Errorf("option n=%d is not a power of two", n)
	}
	return scryptCost{int(n), int(r), int(pp)}, nil
}

func scryptWork(header []byte, c scryptCost) (chain.Hash, error) {
	var h chain.Hash
	key, err := scrypt.Key(header, scryptSalt, c.n, c.r, c.p, 32)
	if err != nil {
		return h, err
	}
	copy(h[:], key)
	return h, nil
}

// Seal implements powsdk.Strategy.
func (Scrypt) Seal(ctx context.Context, req powsdk.SealRequest, report func(uint64)) (powsdk.SealResult, error) {
	cost, err := scryptParams(req.Params)
	if err != nil {
		return powsdk.SealResult{}, err
	}
	// An attempt takes about a millisecond: look at cancellation after each.
	return powsdk.SearchEvery(ctx, req, report, 1, func() func(first, stride, count uint64) (uint64, chain.Hash, bool) {
		header := req.Header
		return func(first, stride, count uint64) (uint64, chain.Hash, bool) {
			proof := first
			for i := uint64(0); i < count; i++ {
				binary.BigEndian.PutUint64(header[chain.ProofOffset:], proof)
				h, err := scryptWork(header[:], cost)
				if err == nil && hashLeadingZeroBits((*[32]byte)(&h), req.Params.Difficulty) {
					return proof, h, true
				}
				proof += stride
			}
			return 0, chain.Hash{}, false
		}
	})
}

// Verify implements powsdk.Strategy.
func (Scrypt) Verify(params chain.Params, records []byte) (int, chain.Hash, error) {
	cost, err := scryptParams(params)
	if err != nil {
		return -1, chain.Hash{}, err
	}
	recs := powsdk.Records(records)
	bad, work := powsdk.ParallelVerify(recs, func(i int) (bool, chain.Hash) {
		h, err := scryptWork(recs.Header(i), cost)
		return err == nil && hashLeadingZeroBits((*[32]byte)(&h), params.Difficulty), h
	})
	return bad, work, nil
}
