package miner

import (
	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/store"
)

// pendingSet follows the pending log and keeps every entry it holds (each
// id once, in arrival order). Whether an entry is pending is decided when a
// block is packed, against the chain as it is then: an entry whose block is
// dropped by a reorg becomes pending again without any new line.
type pendingSet struct {
	log     *store.PendingLog
	entries []store.PendingEntry
	ids     map[string]bool
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
// that fit in one block line, and how many entries the chain already has.
func (p *pendingSet) take(n int, inChain func(id string) bool) ([]chain.Message, int) {
	var out []chain.Message
	size, mined := 0, 0
	for _, e := range p.entries {
		if inChain(e.ID) {
			mined++
			continue
		}
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
	return out, mined
}
