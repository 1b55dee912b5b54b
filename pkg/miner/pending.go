package miner

import (
	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/store"
)

// pendingSet follows the pending log and keeps the entries not yet seen in
// the chain, in the order they arrived, each id once.
type pendingSet struct {
	log     *store.PendingLog
	entries []store.PendingEntry
	ids     map[string]bool
	mined   int // entries dropped because their block is in the chain
}

func newPendingSet(d *store.Dir) *pendingSet {
	return &pendingSet{log: d.FollowPending(), ids: map[string]bool{}}
}

func (p *pendingSet) close() { p.log.Close() }

// refresh reads what was appended to the log (or all of it after a
// compaction).
func (p *pendingSet) refresh() error {
	news, reset, err := p.log.Read()
	if err != nil {
		return err
	}
	if reset {
		p.entries, p.ids = nil, map[string]bool{}
	}
	for _, e := range news {
		if !p.ids[e.ID] {
			p.ids[e.ID] = true
			p.entries = append(p.entries, e)
		}
	}
	return nil
}

// blockBudget leaves room under chain.MaxLineBytes for the rest of a line.
const blockBudget = chain.MaxLineBytes - 4096

// take returns up to n messages that are not in the chain, oldest first,
// that fit in one block line. Entries found in the chain are dropped.
func (p *pendingSet) take(n int, inChain func(id string) bool) []chain.Message {
	var out []chain.Message
	size := 0
	kept := p.entries[:0]
	for _, e := range p.entries {
		if inChain(e.ID) {
			delete(p.ids, e.ID)
			p.mined++
			continue
		}
		kept = append(kept, e)
		if len(out) == n {
			continue
		}
		s := len(chain.AppendString(nil, e.Message)) + 64
		if size+s > blockBudget {
			continue
		}
		size += s
		out = append(out, chain.Message{ID: e.ID, Text: e.Message})
	}
	clear(p.entries[len(kept):])
	p.entries = kept
	return out
}

// minedSince returns how many entries were dropped as mined since the last
// call that returned at least compactAfter (so the caller compacts then).
func (p *pendingSet) minedSince(inChain func(string) bool) int {
	p.take(0, inChain)
	n := p.mined
	if n >= compactAfter {
		p.mined = 0
	}
	return n
}
