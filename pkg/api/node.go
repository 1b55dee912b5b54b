package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/miner"
	"github.com/bc-chain/bc/pkg/peer"
	"github.com/bc-chain/bc/pkg/store"
)

// node is bc-serve's in-memory view of the chain directory. It follows the
// files through their fsnotify events (see refresh) so that requests never
// rescan a file.
type node struct {
	dir     *store.Dir
	log     *slog.Logger
	hub     *hub
	started time.Time

	mu       sync.RWMutex
	view     *store.View // nil until the chain exists
	follower *store.PendingLog
	all      []store.PendingEntry // every entry of the pending log, each id once
	known    map[string]bool      // ids in all
	pending  []store.PendingEntry // the entries not in the chain, in arrival order
	pendIdx  map[string]int       // id -> index in pending
	book     peer.Book
	bookErr  error
	miner    miner.Status
	hasMiner bool
	gossip   peer.Status
	hasGoss  bool
}

func newNode(d *store.Dir, log *slog.Logger, h *hub) *node {
	return &node{dir: d, log: log, hub: h, started: time.Now(), follower: d.FollowPending(), pendIdx: map[string]int{}, known: map[string]bool{}}
}

func (n *node) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.view != nil {
		n.view.Close()
	}
	n.follower.Close()
}

// refresh brings the view up to date with the files named in changed (all
// of them when changed is nil) and publishes what changed as events.
func (n *node) refresh(changed map[string]bool) {
	all := changed == nil
	if all || changed[store.ChainFile] {
		n.refreshChain()
	}
	if all || changed[store.PendingFile] || changed[store.ChainFile] {
		n.refreshPending()
	}
	if all || changed[store.NeighboursFile] {
		n.refreshBook()
	}
	if all || changed[miner.StatusFile] {
		st, ok := miner.ReadStatus(n.dir)
		n.mu.Lock()
		n.miner, n.hasMiner = st, ok
		n.mu.Unlock()
	}
	if all || changed[peer.StatusFile] {
		st, ok := peer.ReadStatus(n.dir)
		n.mu.Lock()
		n.gossip, n.hasGoss = st, ok
		n.mu.Unlock()
	}
}

// maxEventBlocks bounds the block events one refresh publishes (a node
// catching up thousands of blocks sends one "replaced"-style event instead).
const maxEventBlocks = 64

func (n *node) refreshChain() {
	n.mu.Lock()
	if n.view == nil {
		v, err := n.dir.OpenView(store.ViewOptions{IDs: true, Hashes: true})
		if err != nil {
			n.mu.Unlock()
			if !errors.Is(err, store.ErrNoChain) {
				n.log.Warn("cannot read the chain", "error", err)
			}
			return
		}
		n.view = v
		n.mu.Unlock()
		n.log.Info("serving the chain", "height", v.Height(), "strategy", v.Params().Strategy, "difficulty", v.Params().Difficulty)
		n.hub.publish("replaced", map[string]any{"fork": 0, "tip": v.Height()})
		return
	}
	v := n.view
	n.mu.Unlock()
	ch, changed, err := v.Refresh()
	if err != nil {
		n.log.Warn("cannot read the chain", "error", err)
		return
	}
	if !changed {
		return
	}
	if ch.Replaced {
		// Blocks were dropped: their messages may be pending again.
		n.mu.Lock()
		n.rebuildPendingLocked()
		n.mu.Unlock()
	}
	if ch.Replaced || ch.Tip-ch.OldTip > maxEventBlocks {
		n.hub.publish("replaced", map[string]any{"fork": ch.Fork, "tip": ch.Tip, "old_tip": ch.OldTip})
		return
	}
	for i := ch.OldTip + 1; i <= ch.Tip; i++ {
		b, err := v.Block(i)
		if err != nil {
			continue
		}
		ids := make([]string, len(b.Data))
		for j, m := range b.Data {
			ids[j] = m.ID
		}
		n.hub.publish("block", map[string]any{"index": b.Index, "hash": b.Hash, "timestamp": b.Timestamp, "messages": len(b.Data), "ids": ids})
	}
}

// maxEventPending bounds the pending events one refresh publishes.
const maxEventPending = 256

func (n *node) refreshPending() {
	news, reset, err := n.follower.Read()
	if err != nil {
		n.log.Warn("cannot read the pending log", "error", err)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if reset {
		n.all, n.known = nil, map[string]bool{}
		n.rebuildPendingLocked()
	}
	published := 0
	for _, e := range news {
		if n.addEntryLocked(e) && published < maxEventPending {
			n.hub.publish("pending", e)
			published++
		}
	}
	n.dropMinedLocked()
}

// addEntryLocked records a log entry and reports whether it is newly
// pending (n.mu held).
func (n *node) addEntryLocked(e store.PendingEntry) bool {
	if n.known[e.ID] {
		return false
	}
	n.known[e.ID] = true
	n.all = append(n.all, e)
	if n.view != nil && n.view.HasID(e.ID) {
		return false
	}
	n.pendIdx[e.ID] = len(n.pending)
	n.pending = append(n.pending, e)
	return true
}

// rebuildPendingLocked derives the pending list from every entry and the
// chain as it is now (n.mu held).
func (n *node) rebuildPendingLocked() {
	n.pending, n.pendIdx = n.pending[:0], map[string]int{}
	for _, e := range n.all {
		if n.view == nil || !n.view.HasID(e.ID) {
			n.pendIdx[e.ID] = len(n.pending)
			n.pending = append(n.pending, e)
		}
	}
}

// dropMinedLocked removes the entries whose block is in the chain (n.mu held).
func (n *node) dropMinedLocked() {
	if n.view == nil {
		return
	}
	kept := n.pending[:0]
	for _, e := range n.pending {
		if n.view.HasID(e.ID) {
			delete(n.pendIdx, e.ID)
			continue
		}
		n.pendIdx[e.ID] = len(kept)
		kept = append(kept, e)
	}
	clear(n.pending[len(kept):])
	n.pending = kept
}

func (n *node) refreshBook() {
	b, err := peer.ReadBook(n.dir)
	n.mu.Lock()
	old := n.book
	n.book, n.bookErr = b, err
	n.mu.Unlock()
	if err != nil {
		n.log.Warn("cannot read the neighbour list", "error", err)
		return
	}
	if !sameAddrs(old.Neighbours, b.Neighbours) {
		n.hub.publish("neighbours", map[string]any{"neighbours": b.Neighbours, "length": len(b.Neighbours)})
	}
}

func sameAddrs(a, b []peer.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// acked records entries the server just made durable, so that a client
// that asks right after its 200 sees its message as pending.
func (n *node) acked(es []store.PendingEntry) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range es {
		if n.addEntryLocked(e) {
			n.hub.publish("pending", e)
		}
	}
}

// chainView returns the view, or nil before the chain exists.
func (n *node) chainView() *store.View {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.view
}

// pendingCount returns how many messages wait to be mined.
func (n *node) pendingCount() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.pending)
}

// pendingEntry returns the pending entry with id.
func (n *node) pendingEntry(id string) (store.PendingEntry, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	i, ok := n.pendIdx[id]
	if !ok {
		return store.PendingEntry{}, false
	}
	return n.pending[i], true
}

// pendingList returns a copy of up to max pending entries and the total.
func (n *node) pendingList(max int) ([]store.PendingEntry, int) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]store.PendingEntry, min(max, len(n.pending)))
	copy(out, n.pending)
	return out, len(n.pending)
}

// neighbours returns the neighbour list.
func (n *node) neighbours() []peer.Addr {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return append([]peer.Addr{}, n.book.Neighbours...)
}

func (n *node) minerStatus() (miner.Status, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.miner, n.hasMiner
}

func (n *node) gossipStatus() (peer.Status, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.gossip, n.hasGoss
}

// Health is the /health answer.
type Health struct {
	Status     string       `json:"status"` // ok, starting, degraded
	Reason     string       `json:"reason,omitempty"`
	Height     uint64       `json:"height"`
	Tip        string       `json:"tip,omitempty"`
	Genesis    string       `json:"genesis,omitempty"`
	Network    string       `json:"network,omitempty"`
	Strategy   string       `json:"strategy,omitempty"`
	Difficulty uint32       `json:"difficulty"`
	Peers      int          `json:"peers"`
	Pending    int          `json:"pending"`
	Uptime     float64      `json:"uptime_seconds"`
	Miner      *MinerHealth `json:"miner,omitempty"`
	Gossip     *peer.Status `json:"gossip,omitempty"`
	Version    string       `json:"version,omitempty"`
	NodeID     string       `json:"node_id,omitempty"`
}

// MinerHealth is the miner part of /health.
type MinerHealth struct {
	Running  bool    `json:"running"`
	HashRate float64 `json:"hash_rate"`
	Blocks   uint64  `json:"blocks_mined"`
}

func (n *node) health() Health {
	h := Health{Status: "ok", Uptime: time.Since(n.started).Seconds(), Peers: len(n.neighbours()), Pending: n.pendingCount()}
	if st, ok := n.minerStatus(); ok {
		h.Miner = &MinerHealth{Running: st.Running, HashRate: st.Rate, Blocks: st.Blocks}
	}
	if st, ok := n.gossipStatus(); ok {
		h.Gossip = &st
	}
	v := n.chainView()
	if v == nil {
		h.Status, h.Reason = "starting", "no chain in "+n.dir.Path()+" yet (bc-mine creates it)"
		return h
	}
	tip := v.Tip()
	p := v.Params()
	h.Height, h.Tip, h.Genesis = tip.Index, tip.Hash.String(), v.Genesis().String()
	h.Network, h.Strategy, h.Difficulty = p.Network, p.Strategy, p.Difficulty
	if err := v.Problem(); err != nil {
		h.Status, h.Reason = "degraded", err.Error()
	}
	n.mu.RLock()
	if n.bookErr != nil && h.Status == "ok" {
		h.Status, h.Reason = "degraded", n.bookErr.Error()
	}
	n.mu.RUnlock()
	return h
}

// messageStatus is the /data/<id> answer.
type messageStatus struct {
	ID            string     `json:"id"`
	Status        string     `json:"status"` // pending, mined
	Message       string     `json:"message,omitempty"`
	Block         *uint64    `json:"block,omitempty"`
	BlockHash     chain.Hash `json:"block_hash,omitzero"`
	Confirmations uint64     `json:"confirmations,omitempty"`
	Received      uint64     `json:"received,omitempty"`
}

func (n *node) messageStatus(id string) (messageStatus, bool) {
	st := messageStatus{ID: id}
	if v := n.chainView(); v != nil {
		if i, ok := v.BlockOf(id); ok {
			st.Status, st.Block = "mined", &i
			st.Confirmations = v.Height() - i + 1
			if h, ok := v.HashAt(i); ok {
				st.BlockHash = h
			}
			if b, err := v.Block(i); err == nil {
				for _, m := range b.Data {
					if m.ID == id {
						st.Message = m.Text
					}
				}
			}
			return st, true
		}
	}
	if e, ok := n.pendingEntry(id); ok {
		st.Status, st.Message, st.Received = "pending", e.Message, e.Received
		return st, true
	}
	return st, false
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
