// Command bc-pow-sha256d is an example third-party proof-of-work plugin for
// bc, meant to be copied: Bitcoin's rule, SHA-256 applied twice to the block
// header, must start with <difficulty> zero bits.
//
// Build it and put it where bc looks for plugins, then create a chain with it:
//
//	go build -o ~/bc-plugins/bc-pow-sha256d ./contrib/example-plugin/bc-pow-sha256d
//	bc-mine --plugin-dir ~/bc-plugins --strategy sha256d --difficulty 20 --once
//
// It needs nothing from bc but the SDK (pkg/powsdk) and the format (pkg/chain).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/powsdk"
)

type sha256d struct{}

func (sha256d) Describe() powsdk.Info {
	return powsdk.Info{
		Name:              "sha256d",
		Description:       "example plugin: SHA-256(SHA-256(header)) starts with <difficulty> zero bits",
		Version:           "1",
		DefaultDifficulty: 20,
		MinDifficulty:     0,
		MaxDifficulty:     128,
		DifficultyUnit:    "leading zero bits",
	}
}

// work hashes a 96-byte header twice.
func work(header []byte) chain.Hash {
	first := sha256.Sum256(header)
	return sha256.Sum256(first[:])
}

// meets reports whether h starts with d zero bits.
func meets(h chain.Hash, d uint32) bool {
	for _, b := range h {
		if d <= 8 {
			return d == 0 || b>>(8-d) == 0
		}
		if b != 0 {
			return false
		}
		d -= 8
	}
	return true
}

func (sha256d) Seal(ctx context.Context, req powsdk.SealRequest, report func(uint64)) (powsdk.SealResult, error) {
	// powsdk.Search runs one try function per thread, each on its own
	// copy of the header, and stops them all at the first proof found or
	// when ctx ends.
	return powsdk.Search(ctx, req, report, func() func(first, stride, count uint64) (uint64, chain.Hash, bool) {
		header := req.Header
		return func(first, stride, count uint64) (uint64, chain.Hash, bool) {
			proof := first
			for i := uint64(0); i < count; i++ {
				binary.BigEndian.PutUint64(header[chain.ProofOffset:], proof)
				if h := work(header[:]); meets(h, req.Params.Difficulty) {
					return proof, h, true
				}
				proof += stride
			}
			return 0, chain.Hash{}, false
		}
	})
}

func (sha256d) Verify(params chain.Params, records []byte) (int, chain.Hash, error) {
	recs := powsdk.Records(records)
	bad, h := powsdk.ParallelVerify(recs, func(i int) (bool, chain.Hash) {
		h := work(recs.Header(i))
		return meets(h, params.Difficulty), h
	})
	return bad, h, nil
}

func main() {
	powsdk.Logger().Debug("sha256d plugin starting")
	powsdk.Serve(sha256d{})
}
