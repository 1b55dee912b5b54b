package store

import (
	"errors"

	"github.com/bc-chain/bc/pkg/chain"
)

// PendingSet is the set of messages waiting to be mined, as one program
// sees it: it follows the pending log (entries in arrival order, each id
// once) and judges every entry against a chain view (an entry whose id a
// block of the chain carries is mined; ids are bound to their text, so
// that is the same message). bc-serve, bc-mine and bc-gossip each keep one.
//
// Every step costs what changed: new log lines are read incrementally,
// blocks appended to the chain mark their own ids, and only a replaced
// chain (a reorg, which can make mined entries pending again) or a
// compacted log makes the set judge everything again. Mined entries stay
// in the set until the log is compacted; Mined says how many, so that the
// miner can compact when they are as many as the live ones (linear work
// overall). A PendingSet is not safe for concurrent use.
type PendingSet struct {
	log   *PendingLog
	view  *View
	items []pendingItem
	head  int            // items before head are all mined
	pos   map[string]int // id -> index in items
	live  PendingCounts
	mined int
	// The view state the items were last judged against.
	gen    uint64
	height uint64
}

type pendingItem struct {
	PendingEntry
	mined bool
}

// PendingCounts are the live (not mined) entries of a set.
type PendingCounts struct {
	Messages, Bytes         int // all of them
	PeerMessages, PeerBytes int // those pulled from peers
}

func (c *PendingCounts) add(e *PendingEntry, sign int) {
	c.Messages += sign
	c.Bytes += sign * len(e.Message)
	if e.From != "" {
		c.PeerMessages += sign
		c.PeerBytes += sign * len(e.Message)
	}
}

// NewPendingSet follows d's pending log and judges it against v, which
// must index message ids (ViewOptions.IDs).
func (d *Dir) NewPendingSet(v *View) *PendingSet {
	return &PendingSet{log: d.FollowPending(), view: v, pos: map[string]int{}}
}

// Close releases the log file.
func (s *PendingSet) Close() { s.log.Close() }

// Refresh reads what was appended to the log and judges the set against
// the view as it is now (the caller refreshes the view). It returns the
// entries that became pending, up to maxNew of them (for events).
func (s *PendingSet) Refresh(maxNew int) ([]PendingEntry, error) {
	news, reset, err := s.log.Read()
	if err != nil {
		return nil, err
	}
	if reset {
		s.items, s.head, s.pos, s.live, s.mined = nil, 0, map[string]int{}, PendingCounts{}, 0
		s.gen = 0 // judge everything again
	}
	return s.take(news, maxNew), nil
}

// Apply takes in what this process just wrote (AddPendingAt) without
// reading it back when nothing else was appended since the last read,
// else it refreshes; it returns the same as Refresh. An add then costs
// the set O(1), not a parse of its own line.
func (s *PendingSet) Apply(w PendingWrite, maxNew int) ([]PendingEntry, error) {
	if !s.log.Skip(w) {
		return s.Refresh(maxNew)
	}
	fresh := s.take(w.Entries, maxNew)
	if s.log.Behind() {
		// Another appender wrote after us: read that too.
		more, err := s.Refresh(maxNew - len(fresh))
		return append(fresh, more...), err
	}
	return fresh, nil
}

// Behind reports whether the pending log holds more than the set has
// taken in.
func (s *PendingSet) Behind() bool { return s.log.Behind() }

// take adds the entries read or written to the set and returns the new
// live ones, at most maxNew.
func (s *PendingSet) take(news []PendingEntry, maxNew int) []PendingEntry {
	s.followChain()
	var fresh []PendingEntry
	for i := range news {
		e := &news[i]
		if _, dup := s.pos[e.ID]; dup {
			continue
		}
		s.pos[e.ID] = len(s.items)
		it := pendingItem{PendingEntry: *e, mined: s.view.HasID(e.ID)}
		s.items = append(s.items, it)
		if it.mined {
			s.mined++
			continue
		}
		s.live.add(e, 1)
		if len(fresh) < maxNew {
			fresh = append(fresh, *e)
		}
	}
	return fresh
}

// followChain marks the entries the chain carries: those of new blocks
// after an append, all of them after a replacement.
func (s *PendingSet) followChain() {
	gen, height := s.view.state()
	if gen == s.gen && height == s.height {
		return
	}
	if gen == s.gen && height > s.height && s.live.Messages == 0 {
		s.height = height // appended blocks cannot mine what is not pending
		return
	}
	if gen == s.gen && height > s.height {
		err := s.view.Lines(s.height+1, height, func(_ uint64, line []byte) error {
			var p chain.Parser
			var sum chain.Summary
			if err := p.ParseSummary(line, &sum); err != nil {
				return err
			}
			for m := 0; m < p.NumMessages(); m++ {
				if i, ok := s.pos[string(p.ID(m))]; ok {
					s.setMined(i, true)
				}
			}
			return nil
		})
		if err == nil {
			s.height = height
			return
		}
		if !errors.Is(err, ErrReplaced) {
			s.view.d.log.Warn("cannot read new blocks for the pending set; judging it again", "error", err)
		}
	}
	// Replaced (or unknown): judge every entry again.
	gen, height = s.view.state()
	for i := range s.items {
		s.setMined(i, s.view.HasID(s.items[i].ID))
	}
	s.head = 0
	s.gen, s.height = gen, height
}

func (s *PendingSet) setMined(i int, mined bool) {
	it := &s.items[i]
	if it.mined == mined {
		return
	}
	it.mined = mined
	if mined {
		s.mined++
		s.live.add(&it.PendingEntry, -1)
	} else {
		s.mined--
		s.live.add(&it.PendingEntry, 1)
	}
}

// advance moves head past the mined entries at the front.
func (s *PendingSet) advance() {
	for s.head < len(s.items) && s.items[s.head].mined {
		s.head++
	}
}

// Counts returns the live entries' counts.
func (s *PendingSet) Counts() PendingCounts { return s.live }

// Mined returns how many entries of the log the chain already carries
// (what a compaction would drop).
func (s *PendingSet) Mined() int { return s.mined }

// Damage returns the lines of the log that are not entries (see
// PendingLog), until a compaction moves them aside.
func (s *PendingSet) Damage() []PendingDamage { return s.log.Damage() }

// Has reports whether the log holds id (pending or mined).
func (s *PendingSet) Has(id string) bool {
	_, ok := s.pos[id]
	return ok
}

// Get returns the live entry with id.
func (s *PendingSet) Get(id string) (PendingEntry, bool) {
	i, ok := s.pos[id]
	if !ok || s.items[i].mined {
		return PendingEntry{}, false
	}
	return s.items[i].PendingEntry, true
}

// Each calls fn with the live entries, oldest first, until fn returns
// false.
func (s *PendingSet) Each(fn func(e *PendingEntry) bool) {
	s.advance()
	for i := s.head; i < len(s.items); i++ {
		if !s.items[i].mined && !fn(&s.items[i].PendingEntry) {
			return
		}
	}
}

// List returns copies of up to max live entries, oldest first.
func (s *PendingSet) List(max int) []PendingEntry {
	out := make([]PendingEntry, 0, min(max, s.live.Messages))
	s.Each(func(e *PendingEntry) bool {
		if len(out) == max {
			return false
		}
		out = append(out, *e)
		return true
	})
	return out
}

// Take returns up to n live messages, oldest first, as many as fit in
// budget bytes of a block line (so that it stays under
// chain.MaxLineBytes). It stops at the first message that does not fit:
// the next block takes it first.
func (s *PendingSet) Take(n, budget int) []chain.Message {
	var out []chain.Message
	size := 0
	s.Each(func(e *PendingEntry) bool {
		sz := chain.StringLen(e.Message) + messageOverhead
		if len(out) == n || size+sz > budget {
			return false
		}
		size += sz
		out = append(out, chain.Message{ID: e.ID, Text: e.Message})
		return true
	})
	return out
}

// messageOverhead is the encoded size of a message besides its text:
// {"id":"<36>","message":...}, and a comma.
const messageOverhead = len(`{"id":"","message":},`) + 36
