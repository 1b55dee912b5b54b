package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// Config tunes a Gossiper. The intervals default to the seed's.
type Config struct {
	Peers         []node.Addr // given by the operator
	Advertise     node.Addr   // this node's own reachable address ("" if none)
	MaxNeighbours int
	GossipEvery   time.Duration // discovery (the seed's gossip job): 20 s
	SyncEvery     time.Duration // chain sync fallback: 10 s
	DataEvery     time.Duration // pending-data sync: 5 s
	Timeout       time.Duration // per request to a peer
	PageBlocks    int           // blocks per /blocks request
	MaxFailures   int           // consecutive failures before a neighbour is dropped
	BanInvalid    time.Duration // how long a peer that sent invalid blocks is left alone
	BanGenesis    time.Duration // how long a peer of another chain is left alone
	LearnPerPeer  int           // addresses taken from one /neighbours answer
	LearnPerMin   int           // addresses learned per minute in all
	MaxKnown      int           // addresses kept in the book
	MaxReorgBytes int64         // size of a fork downloaded (to disk) before it is refused
	// SyncBudget is how long a sync with one peer may go without progress
	// (a page of valid blocks) before it is given up: a slow peer costs at
	// most that, and other peers are synced in parallel meanwhile.
	SyncBudget time.Duration
	// AnnounceEvery is the least time between two syncs that announcements
	// of one sender start.
	AnnounceEvery time.Duration
	// Pending data taken from peers: per peer and pull, and in all (the
	// peers' share of the pending set; the rest is kept for local clients).
	PullMessages      int
	PullBytes         int
	MaxPulledMessages int
	MaxPulledBytes    int
	Rescan            time.Duration
}

// Defaults of Config, the seed's where it had one; bc-gossip's flags show
// the same values.
const (
	DefaultMaxNeighbours     = 3
	DefaultGossipEvery       = 20 * time.Second
	DefaultSyncEvery         = 10 * time.Second
	DefaultDataEvery         = 5 * time.Second
	DefaultTimeout           = 5 * time.Second
	DefaultPageBlocks        = 1000
	DefaultMaxFailures       = 3
	DefaultBanInvalid        = 10 * time.Minute
	DefaultBanGenesis        = time.Hour
	DefaultLearnPerPeer      = 16
	DefaultLearnPerMin       = 64
	DefaultMaxKnown          = 256
	DefaultMaxReorgBytes     = 256 << 20
	DefaultAnnounceEvery     = time.Second
	DefaultPullMessages      = 1000
	DefaultPullBytes         = 1 << 20
	DefaultMaxPulledMessages = 50_000
	DefaultMaxPulledBytes    = 8 << 20
)

// Defaults fills the zero fields.
func (c *Config) Defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	seti := func(i *int, v int) {
		if *i <= 0 {
			*i = v
		}
	}
	seti(&c.MaxNeighbours, DefaultMaxNeighbours)
	set(&c.GossipEvery, DefaultGossipEvery)
	set(&c.SyncEvery, DefaultSyncEvery)
	set(&c.DataEvery, DefaultDataEvery)
	set(&c.Timeout, DefaultTimeout)
	seti(&c.PageBlocks, DefaultPageBlocks)
	seti(&c.MaxFailures, DefaultMaxFailures)
	set(&c.BanInvalid, DefaultBanInvalid)
	set(&c.BanGenesis, DefaultBanGenesis)
	seti(&c.LearnPerPeer, DefaultLearnPerPeer)
	seti(&c.LearnPerMin, DefaultLearnPerMin)
	seti(&c.MaxKnown, DefaultMaxKnown)
	if c.MaxReorgBytes <= 0 {
		c.MaxReorgBytes = DefaultMaxReorgBytes
	}
	set(&c.SyncBudget, 3*c.Timeout)
	set(&c.AnnounceEvery, DefaultAnnounceEvery)
	seti(&c.PullMessages, DefaultPullMessages)
	seti(&c.PullBytes, DefaultPullBytes)
	seti(&c.MaxPulledMessages, DefaultMaxPulledMessages)
	seti(&c.MaxPulledBytes, DefaultMaxPulledBytes)
	set(&c.Rescan, store.DefaultPoll)
}

// Gossiper is a running bc-gossip.
type Gossiper struct {
	dir     *store.Dir
	log     *slog.Logger
	cfg     Config
	client  *Client
	verify  validate.Verifier
	params  *chain.Params
	genesis chain.Hash
	view    *store.View
	nodeID  string

	mu       sync.Mutex
	book     node.Book
	stats    node.GossipStatus
	learned  []time.Time // times of recent learnings (rate limit)
	announce chan struct{}
	syncReq  chan node.Addr // a peer to sync with, "" for every neighbour
	inbox    chan struct{}
	lastSent chain.Hash
	// lastStatus is the status last written (Updated left zero).
	lastStatus node.GossipStatus
	// peers is what this run knows of each peer's conduct (see score.go).
	peers map[node.Addr]*peerState
	// inbound are the peers that announced to this node lately (g.mu).
	inbound map[node.Addr]inboundPeer
	// lastAll is when an announcement last started a sync with every
	// neighbour; allDeferred, whether one waits (see syncSoon).
	lastAll     time.Time
	allDeferred bool

	// workers are the per-peer syncs in flight; Run waits for them.
	workers sync.WaitGroup

	// pmu guards pending, the pending set as bc-gossip sees it.
	pmu     sync.Mutex
	pending *store.PendingSet
}

// New prepares a gossiper for d, whose chain must exist; v checks proofs of
// work (the chain's strategy plugin).
func New(d *store.Dir, v validate.Verifier, cfg Config) (*Gossiper, error) {
	cfg.Defaults()
	view, err := d.OpenView(store.ViewOptions{IDs: true, Hashes: true})
	if err != nil {
		return nil, err
	}
	id, err := d.NodeID()
	if err != nil {
		view.Close()
		return nil, err
	}
	g := &Gossiper{
		dir: d, log: d.Log(), cfg: cfg, client: NewClient(cfg.Timeout), verify: v,
		params: view.Params(), genesis: view.Genesis(), view: view, nodeID: id,
		announce: make(chan struct{}, 1), syncReq: make(chan node.Addr, 64), inbox: make(chan struct{}, 1),
		peers: map[node.Addr]*peerState{}, pending: d.NewPendingSet(view),
	}
	if err := g.loadBook(); err != nil {
		view.Close()
		return nil, err
	}
	return g, nil
}

// Close releases files and connections.
func (g *Gossiper) Close() {
	g.pmu.Lock()
	g.pending.Close()
	g.pmu.Unlock()
	g.view.Close()
	g.client.Close()
}

// loadBook reads the neighbour list and adds the configured peers.
func (g *Gossiper) loadBook() error {
	return node.UpdateBook(context.Background(), g.dir, func(b *node.Book) error {
		for _, p := range g.cfg.Peers {
			if p == g.cfg.Advertise {
				continue
			}
			k := b.Entry(p)
			k.From, k.Failures, k.Banned, k.Reason, k.BanReason = "", 0, 0, "", ""
			k.Trust = ScopeConfigured.String()
			if !b.IsNeighbour(p) {
				b.Neighbours = append(b.Neighbours, p)
			}
		}
		g.mu.Lock()
		g.book = b.Clone() // b is encoded after this returns
		g.mu.Unlock()
		return nil
	})
}

// Stats returns the counters.
func (g *Gossiper) Stats() node.GossipStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats
	s.Neighbours = len(g.book.Neighbours)
	s.Reachable, s.Unreachable = g.reachabilityLocked()
	s.Peers = g.peerTipsLocked()
	return s
}

// neighbours returns the current neighbours with their dial trust.
func (g *Gossiper) neighbours() []target {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]target, 0, len(g.book.Neighbours))
	for _, a := range g.book.Neighbours {
		out = append(out, target{addr: a, trust: trustOf(&g.book, a)})
	}
	return out
}

// target is a peer with the trust its address was learned under.
type target struct {
	addr  node.Addr
	trust Scope
}

// Run gossips until ctx ends.
func (g *Gossiper) Run(ctx context.Context, ready func()) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer g.workers.Wait() // after cancel: the per-peer syncs end with ctx
	run := func(name string, f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
			g.log.Debug("stopped", "task", name)
		}()
	}
	watchErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		watchErr <- g.dir.Watch(ctx, g.cfg.Rescan, []string{store.InboxDir}, g.onFiles)
	}()
	run("sync", g.syncLoop)
	run("inbox", g.inboxLoop)
	run("announce", g.announceLoop)
	run("discovery", g.every(g.cfg.GossipEvery, g.discover))
	run("data", g.every(g.cfg.DataEvery, g.pullData))
	run("status", g.every(2*time.Second, func(context.Context) { g.writeStatus(true) }))
	g.requestSync("")
	g.poke(g.inbox)
	if ready != nil {
		ready()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-watchErr:
	}
	cancel()
	wg.Wait()
	g.workers.Wait()
	g.writeStatus(false)
	return err
}

// every returns a task that runs f now and then every d.
func (g *Gossiper) every(d time.Duration, f func(context.Context)) func(context.Context) {
	return func(ctx context.Context) {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			f(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
}

// onFiles reacts to changes in the chain directory (fsnotify hints).
func (g *Gossiper) onFiles(changed map[string]bool) {
	all := changed == nil
	if all || changed[store.ChainFile] {
		g.poke(g.announce)
	}
	if all || changed[store.NeighboursFile] {
		// Only bc-serve's removals come from the file: the rest of the
		// book in memory is newer than any copy on disk (a ban made since
		// the last save would be lost).
		if b, err := node.ReadBook(g.dir); err == nil {
			g.applyRemovals(b.Removed)
		}
	}
	inbox := all
	for name := range changed {
		if strings.HasPrefix(name, store.InboxDir+string(filepath.Separator)) {
			inbox = true
		}
	}
	if inbox {
		g.poke(g.inbox)
	}
}

func (g *Gossiper) poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// requestSync asks the sync loop to sync with peer ("" for every
// neighbour).
func (g *Gossiper) requestSync(peer node.Addr) {
	select {
	case g.syncReq <- peer:
	default:
	}
}

// syncLoop starts syncs: on requests (announcements, a new neighbour) and
// every SyncEvery as a fallback. Each peer is synced by a goroutine of its
// own, at most one per peer at a time, so that a slow or lying peer holds up
// nobody but itself.
func (g *Gossiper) syncLoop(ctx context.Context) {
	t := time.NewTicker(g.cfg.SyncEvery)
	defer t.Stop()
	for {
		var peer node.Addr
		select {
		case <-ctx.Done():
			return
		case peer = <-g.syncReq:
		case <-t.C:
		}
		g.startSyncs(ctx, peer)
	}
}

// startSyncs starts a sync with peer, or with every neighbour that has
// none in flight.
func (g *Gossiper) startSyncs(ctx context.Context, only node.Addr) {
	if _, _, err := g.view.Refresh(); err != nil {
		g.log.Warn("cannot read the chain", "error", err)
		return
	}
	if err := g.view.Problem(); errors.Is(err, store.ErrTampered) {
		g.log.Error("not syncing a chain changed on disk", "error", err)
		return
	}
	for _, n := range g.neighbours() {
		if only != "" && n.addr != only || !g.beginSync(n.addr) {
			continue
		}
		g.workers.Add(1)
		go func(n target) {
			defer g.workers.Done()
			defer g.endSync(n.addr)
			g.syncPeer(ctx, n)
		}(n)
	}
	g.mu.Lock()
	g.stats.LastSync = time.Now().UnixMilli()
	g.mu.Unlock()
}

// announceLoop tells every neighbour (and recent inbound peer) about a
// new local tip, at once.
func (g *Gossiper) announceLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.announce:
		}
		if _, _, err := g.view.Refresh(); err != nil {
			g.log.Warn("cannot read the chain", "error", err)
			continue
		}
		tip := g.view.Tip()
		if tip.Hash == g.lastSent {
			continue
		}
		a := node.Announcement{From: g.cfg.Advertise, Genesis: g.genesis, Height: tip.Index, Hash: tip.Hash}
		first := uint64(0)
		if tip.Index+1 > node.MaxAnnouncedBlocks {
			first = tip.Index + 1 - node.MaxAnnouncedBlocks
		}
		_ = g.view.Lines(max(first, 1), tip.Index, func(_ uint64, line []byte) error {
			a.Blocks = append(a.Blocks, string(line))
			return nil
		})
		body, _ := json.Marshal(a)
		var wg sync.WaitGroup
		for _, n := range g.announceTargets() {
			wg.Add(1)
			go func(n target) {
				defer wg.Done()
				if err := g.client.do(ctx, n.addr, n.trust, "POST", "/announce", body, 64<<10, nil); err != nil {
					g.log.Debug("announcement not delivered", "peer", n.addr, "error", err)
					return
				}
				g.mu.Lock()
				g.stats.Announcements++
				g.mu.Unlock()
			}(n)
		}
		wg.Wait()
		g.lastSent = tip.Hash
	}
}

// checkAfter validates lines, the blocks that follow base, proofs included.
func (g *Gossiper) checkAfter(ctx context.Context, base chain.Summary, lines [][]byte) error {
	s := validate.NewStreamAfter(ctx, validate.Options{}, g.params, g.genesis, base, g.verify)
	for i, l := range lines {
		if err := s.Add(int(base.Index)+2+i, l); err != nil {
			s.Close()
			return err
		}
	}
	return s.Close()
}

// checkAndAppend validates lines that continue tip (proofs included) and
// appends them, recording their origin. It returns how many were appended.
func (g *Gossiper) checkAndAppend(ctx context.Context, tip chain.Summary, lines [][]byte, origin string) (int, error) {
	if err := g.checkAfter(ctx, tip, lines); err != nil {
		return 0, err
	}
	if err := g.dir.AppendFrom(ctx, tip.Hash, lines, origin); err != nil {
		return 0, err
	}
	g.adopted(uint64(len(lines)))
	if _, _, err := g.view.Refresh(); err != nil {
		return len(lines), err
	}
	return len(lines), nil
}

func (g *Gossiper) adopted(n uint64) {
	g.mu.Lock()
	g.stats.BlocksAdopted += n
	g.mu.Unlock()
}

// writeStatus publishes the counters for bc-serve when they changed.
func (g *Gossiper) writeStatus(running bool) {
	st := g.Stats()
	st.PID, st.Running = os.Getpid(), running
	g.mu.Lock()
	same := sameStatus(st, g.lastStatus)
	g.mu.Unlock()
	if same {
		return
	}
	cur := st
	st.Updated = time.Now().UnixMilli()
	if err := g.dir.WriteJSON(node.GossipStatusFile, st); err != nil {
		g.log.Debug("cannot write the status file", "error", err)
		return
	}
	g.mu.Lock()
	g.lastStatus = cur
	g.mu.Unlock()
}

// sameStatus compares two statuses but for Updated.
func sameStatus(a, b node.GossipStatus) bool {
	if !slices.Equal(a.Peers, b.Peers) {
		return false
	}
	a.Peers, b.Peers = nil, nil
	return reflect.DeepEqual(a, b)
}

// hostScope returns the scope of an address's host as it resolves now.
func hostScope(a node.Addr) Scope {
	ips, err := net.LookupIP(a.Host())
	if err != nil || len(ips) == 0 {
		return ScopePublic
	}
	return ScopeOf(ips[0])
}

func describe(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprint(err)
}
