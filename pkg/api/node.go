package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
)

// nodeState is bc-serve's in-memory view of the chain directory. It follows the
// files through their fsnotify events (see refresh) so that requests never
// rescan a file.
type nodeState struct {
	dir     *store.Dir
	log     *slog.Logger
	hub     *hub
	started time.Time

	mu       sync.RWMutex
	view     *store.View // nil until the chain exists
	book     node.Book
	bookErr  error
	miner    node.MinerStatus
	hasMiner bool
	gossip   node.GossipStatus
	hasGoss  bool

	// The pending set has its own lock: reading a long burst of new log
	// lines must not hold up requests that only need the counts, which
	// are published after each refresh.
	pmu     sync.Mutex
	pending *store.PendingSet // nil until the chain exists
	counts  atomic.Pointer[pendingSummary]
	// writing counts the /add batches being stored: the file events
	// their own writes cause are left to them (appliedPending takes the
	// entries without reading them back, and reads whatever else came).
	writing atomic.Int32
}

// pendingSummary is what requests read of the pending set without its lock.
type pendingSummary struct {
	store.PendingCounts
	damage error // the first damaged line of the log, if any
}

func newNodeState(d *store.Dir, log *slog.Logger, h *hub) *nodeState {
	return &nodeState{dir: d, log: log, hub: h, started: time.Now()}
}

func (n *nodeState) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.view != nil {
		n.view.Close()
	}
	n.pmu.Lock()
	defer n.pmu.Unlock()
	if n.pending != nil {
		n.pending.Close()
	}
}

// refresh brings the view up to date with the files named in changed (all
// of them when changed is nil) and publishes what changed as events.
func (n *nodeState) refresh(changed map[string]bool) {
	all := changed == nil
	switch {
	case all || changed[store.ChainFile]:
		// The chain and the pending set change together: a message that a
		// reorg wrote back to pending before replacing the chain must not
		// be, for a moment, in neither (a /data/<id> between the two reads
		// would answer unknown). pendingEntry waits for both.
		n.pmu.Lock()
		n.refreshChain()
		n.refreshPendingLocked()
		n.pmu.Unlock()
	case changed[store.PendingFile] && n.writing.Load() == 0:
		n.refreshPending()
	}
	if all || changed[store.NeighboursFile] {
		n.refreshBook()
	}
	if all || changed[node.MinerStatusFile] {
		st, ok := node.ReadMinerStatus(n.dir)
		n.mu.Lock()
		n.miner, n.hasMiner = st, ok
		n.mu.Unlock()
	}
	if all || changed[node.GossipStatusFile] {
		st, ok := node.ReadGossipStatus(n.dir)
		n.mu.Lock()
		n.gossip, n.hasGoss = st, ok
		n.mu.Unlock()
	}
}

// maxEventBlocks bounds the block events one refresh publishes (a node
// catching up thousands of blocks sends one "replaced"-style event instead).
const maxEventBlocks = 64

// refreshChain follows node.chain (n.pmu held: the first view also makes
// the pending set).
func (n *nodeState) refreshChain() {
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
		n.pending = n.dir.NewPendingSet(v) // n.pmu is held by refresh
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

// refreshPending follows the pending log and the chain (messages mined,
// or pending again after a reorg), and publishes the new pending messages.
// refreshPending reads what the pending log gained.
func (n *nodeState) refreshPending() {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	n.refreshPendingLocked()
}

// appliedPending takes in the entries this process just stored (see
// store.PendingSet.Apply), publishing them as a refresh would.
func (n *nodeState) appliedPending(w store.PendingWrite) {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	if n.pending == nil {
		return
	}
	n.pendingChanged(n.pending.Apply(w, maxEventPending))
}

// catchUpPending refreshes the pending set if its log holds more than it
// has read.
func (n *nodeState) catchUpPending() {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	if n.pending != nil && n.pending.Behind() {
		n.refreshPendingLocked()
	}
}

// refreshPendingLocked reads what the pending log gained (n.pmu held).
func (n *nodeState) refreshPendingLocked() {
	if n.pending == nil {
		return
	}
	n.pendingChanged(n.pending.Refresh(maxEventPending))
}

// pendingChanged publishes what the pending set gained (n.pmu held).
func (n *nodeState) pendingChanged(fresh []store.PendingEntry, err error) {
	if err != nil {
		n.log.Warn("cannot read the pending log", "error", err)
		return
	}
	sum := &pendingSummary{PendingCounts: n.pending.Counts()}
	if d := n.pending.Damage(); len(d) > 0 {
		sum.damage = d[0]
	}
	n.counts.Store(sum)
	for _, e := range fresh {
		n.hub.publish("pending", e)
	}
}

func (n *nodeState) refreshBook() {
	b, err := node.ReadBook(n.dir)
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

func sameAddrs(a, b []node.Addr) bool {
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

// chainView returns the view, or nil before the chain exists.
func (n *nodeState) chainView() *store.View {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.view
}

// pendingCounts returns the messages waiting to be mined, as of the last
// refresh.
func (n *nodeState) pendingCounts() store.PendingCounts {
	if sum := n.counts.Load(); sum != nil {
		return sum.PendingCounts
	}
	return store.PendingCounts{}
}

// pendingDamage returns the first damaged line of the pending log, if any.
func (n *nodeState) pendingDamage() error {
	if sum := n.counts.Load(); sum != nil {
		return sum.damage
	}
	return nil
}

// pendingEntry returns the pending entry with id.
func (n *nodeState) pendingEntry(id string) (store.PendingEntry, bool) {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	if n.pending == nil {
		return store.PendingEntry{}, false
	}
	return n.pending.Get(id)
}

// pendingList returns a copy of up to max pending entries and the total.
func (n *nodeState) pendingList(max int) ([]store.PendingEntry, int) {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	if n.pending == nil {
		return []store.PendingEntry{}, 0
	}
	return n.pending.List(max), n.pending.Counts().Messages
}

// neighbours returns the neighbour list.
func (n *nodeState) neighbours() []node.Addr {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return append([]node.Addr{}, n.book.Neighbours...)
}

func (n *nodeState) minerStatus() (node.MinerStatus, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.miner, n.hasMiner
}

func (n *nodeState) gossipStatus() (node.GossipStatus, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.gossip, n.hasGoss
}

// Health is the /health answer.
type Health struct {
	Status     string             `json:"status"` // ok, starting, degraded
	Reason     string             `json:"reason,omitempty"`
	Height     uint64             `json:"height"`
	Tip        string             `json:"tip,omitempty"`
	Genesis    string             `json:"genesis,omitempty"`
	Network    string             `json:"network,omitempty"`
	Strategy   string             `json:"strategy,omitempty"`
	Difficulty uint32             `json:"difficulty"`
	Peers      int                `json:"peers"`
	Pending    int                `json:"pending"`
	Uptime     float64            `json:"uptime_seconds"`
	Miner      *MinerHealth       `json:"miner,omitempty"`
	Gossip     *node.GossipStatus `json:"gossip,omitempty"`
	Version    string             `json:"version,omitempty"`
	NodeID     string             `json:"node_id,omitempty"`
}

// MinerHealth is the miner part of /health.
type MinerHealth struct {
	Running  bool    `json:"running"`
	HashRate float64 `json:"hash_rate"`
	Blocks   uint64  `json:"blocks_mined"`
}

func (n *nodeState) health() Health {
	h := Health{Status: "ok", Uptime: time.Since(n.started).Seconds(), Peers: len(n.neighbours()), Pending: n.pendingCounts().Messages}
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
	} else if err := n.pendingDamage(); err != nil {
		h.Status, h.Reason = "degraded", err.Error()+" (skipped; bc-mine moves it into "+store.TornDir+"/)"
	}
	n.mu.RLock()
	if n.bookErr != nil && h.Status == "ok" {
		h.Status, h.Reason = "degraded", n.bookErr.Error()
	}
	n.mu.RUnlock()
	if g := h.Gossip; h.Status == "ok" && g != nil && g.Running && g.Reachable == 0 && g.Unreachable != "" {
		h.Status, h.Reason = "degraded", "no neighbour is reachable: "+g.Unreachable
	}
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

func (n *nodeState) messageStatus(id string) (messageStatus, bool) {
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
