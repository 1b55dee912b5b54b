package node

import (
	"errors"
	"fmt"

	"github.com/bc-chain/bc/pkg/chain"
)

// Announcement is what a node POSTs to a neighbour's /announce when its tip
// changes: the new tip, and its newest blocks so that a neighbour that was
// one step behind needs no further request.
type Announcement struct {
	From    Addr       `json:"from,omitempty"` // the announcer's advertised address
	Genesis chain.Hash `json:"genesis"`
	Height  uint64     `json:"height"`
	Hash    chain.Hash `json:"hash"`
	// Blocks are the newest canonical block lines, oldest first, ending
	// with the tip; at most MaxAnnouncedBlocks.
	Blocks []string `json:"blocks,omitempty"`
	// Set by the receiving bc-serve.
	Remote   string `json:"remote,omitempty"`
	Received int64  `json:"received,omitempty"`
}

// MaxAnnouncedBlocks bounds the blocks an announcement carries.
const MaxAnnouncedBlocks = 8

// Check validates the shape (not the blocks, which bc-gossip verifies).
func (a *Announcement) Check() error {
	if a.From != "" {
		if _, err := ParseAddr(string(a.From)); err != nil {
			return fmt.Errorf("from: %w", err)
		}
	}
	if a.Hash.IsZero() {
		return errors.New("announcement without a tip hash")
	}
	if len(a.Blocks) > MaxAnnouncedBlocks {
		return fmt.Errorf("announcement carries %d blocks, at most %d", len(a.Blocks), MaxAnnouncedBlocks)
	}
	for i, b := range a.Blocks {
		if len(b) > chain.MaxLineBytes {
			return fmt.Errorf("announced block %d is longer than %d bytes", i, chain.MaxLineBytes)
		}
	}
	return nil
}
