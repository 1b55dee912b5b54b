package peer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// tipOf is a neighbour and the tip it reported.
type tipOf struct {
	t target
	h remoteHealth
}

// syncRound compares tips with the neighbours (or one of them) and takes the
// chain with the most work: the best peer first, the next one if it fails.
func (g *Gossiper) syncRound(ctx context.Context, only Addr) {
	if _, _, err := g.view.Refresh(); err != nil {
		g.log.Warn("cannot read the chain", "error", err)
		return
	}
	var peers []target
	for _, n := range g.neighbours() {
		if only == "" || n.addr == only {
			peers = append(peers, n)
		}
	}
	var mu sync.Mutex
	var ahead, tied []tipOf
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func(p target) {
			defer wg.Done()
			h, err := g.client.health(ctx, p.addr, p.trust)
			if err != nil {
				g.failed(p.addr, err)
				return
			}
			if h.Genesis != g.genesis.String() {
				g.ban(p.addr, g.cfg.BanGenesis, "another genesis: "+h.Genesis)
				return
			}
			g.ok(p.addr)
			mine := g.view.Tip()
			mu.Lock()
			switch {
			case h.Height > mine.Index:
				ahead = append(ahead, tipOf{p, h})
			case h.Height == mine.Index && h.Tip != mine.Hash.String():
				tied = append(tied, tipOf{p, h})
			}
			mu.Unlock()
		}(p)
	}
	wg.Wait()
	// A tie keeps the local chain, but the messages only the other fork
	// carries would then never reach this one, and with nothing left to
	// mine the tie would last: take them as pending, so that the next block
	// (ours or theirs) settles it.
	for _, tie := range tied {
		n, err := g.pullForkMessages(ctx, tie.t)
		if err != nil {
			g.log.Debug("messages of a tied fork not taken", "peer", tie.t.addr, "error", err)
			continue
		}
		if n == 0 {
			g.settleTie(tie.t.addr, tie.h.Tip)
		}
	}
	g.forgetTies(tied)
	sort.Slice(ahead, func(i, j int) bool { return ahead[i].h.Height > ahead[j].h.Height })
	for _, a := range ahead {
		if a.h.Height <= g.view.Height() {
			break // a previous peer brought us this far already
		}
		err := g.syncWith(ctx, a.t)
		switch {
		case err == nil:
		case errors.Is(err, errInvalid):
			g.ban(a.t.addr, g.cfg.BanInvalid, err.Error())
		case errors.Is(err, errMoved), errors.Is(err, store.ErrTipMoved):
			g.log.Debug("a chain moved during the sync; trying again later", "peer", a.t.addr, "error", err)
		case ctx.Err() != nil:
			return
		default:
			g.log.Info("sync with a peer failed; trying the next", "peer", a.t.addr, "error", err)
			g.failed(a.t.addr, err)
		}
	}
}

// errInvalid marks errors caused by invalid data from a peer.
var errInvalid = errors.New("invalid data")

// errMoved marks a peer whose chain changed between two requests (or ours
// did): nothing is wrong with it, the sync is simply tried again later.
var errMoved = errors.New("the chains moved during the sync")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalid, fmt.Sprintf(format, args...))
}

// page fetches the blocks after height from p and parses their summaries.
func (g *Gossiper) page(ctx context.Context, p target, from uint64) ([][]byte, []chain.Summary, remotePage, error) {
	pg, err := g.client.blocksFrom(ctx, p.addr, p.trust, from, g.cfg.PageBlocks)
	if err != nil {
		return nil, nil, pg, err
	}
	if pg.Genesis != g.genesis.String() {
		return nil, nil, pg, invalid("page of another chain")
	}
	lines := make([][]byte, len(pg.Blocks))
	sums := make([]chain.Summary, len(pg.Blocks))
	var parser chain.Parser
	for i, raw := range pg.Blocks {
		lines[i] = []byte(raw)
		if err := parser.ParseSummary(lines[i], &sums[i]); err != nil {
			return nil, nil, pg, invalid("block after height %d: %v", from+uint64(i), err)
		}
		if sums[i].Index != from+1+uint64(i) {
			return nil, nil, pg, invalid("asked for block %d, got %d", from+1+uint64(i), sums[i].Index)
		}
	}
	return lines, sums, pg, nil
}

// syncWith brings the local chain to p's if p's has more work: it fetches
// only the blocks after the common ancestor, checks them with the strategy
// plugin before anything is written, and appends (or, for a fork, replaces
// the chain atomically once the fork is longer).
func (g *Gossiper) syncWith(ctx context.Context, p target) error {
	tip := g.view.Tip()
	lines, sums, _, err := g.page(ctx, p, tip.Index)
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		return nil // the peer is not ahead after all
	}
	if sums[0].PrevHash == tip.Hash {
		return g.extend(ctx, p, tip, lines)
	}
	ancestor, err := g.findAncestor(ctx, p, tip.Index)
	if err != nil {
		return err
	}
	return g.adoptFork(ctx, p, ancestor)
}

// extend appends p's blocks after tip page by page, each page checked
// (proofs included) before it is written.
func (g *Gossiper) extend(ctx context.Context, p target, tip chain.Summary, lines [][]byte) error {
	total := 0
	for len(lines) > 0 {
		n, err := g.checkAndAppend(ctx, tip, lines)
		if err != nil {
			if validate.AsRuleError(err) != nil {
				return invalid("%v", err)
			}
			return err
		}
		total += n
		tip = g.view.Tip()
		var sums []chain.Summary
		lines, sums, _, err = g.page(ctx, p, tip.Index)
		if err != nil {
			return err
		}
		if len(sums) > 0 && sums[0].PrevHash != tip.Hash {
			// Our miner (or the peer) moved on meanwhile: not the peer's fault.
			return fmt.Errorf("%w: the peer's block %d does not follow our tip", errMoved, sums[0].Index)
		}
	}
	g.log.Info("took blocks from a peer", "peer", p.addr, "blocks", total, "height", g.view.Height())
	return nil
}

// findAncestor returns the highest height at which p's chain and the local
// one have the same block: probing heights at growing distances below top,
// then bisecting, so a fork of depth d costs about 2·log2(d) requests.
func (g *Gossiper) findAncestor(ctx context.Context, p target, top uint64) (uint64, error) {
	same := func(h uint64) (bool, error) {
		pg, err := g.client.blocksBefore(ctx, p.addr, p.trust, h+1, 1)
		if err != nil {
			return false, err
		}
		if len(pg.Blocks) != 1 {
			return false, invalid("no block %d", h)
		}
		var s chain.Summary
		var parser chain.Parser
		if err := parser.ParseSummary(pg.Blocks[0], &s); err != nil || s.Index != h {
			return false, invalid("block %d: %v", h, err)
		}
		mine, ok := g.view.HashAt(h)
		return ok && mine == s.Hash, nil
	}
	hi := top // known to differ (or unknown)
	lo := uint64(0)
	for step := uint64(1); ; step *= 2 {
		h := uint64(0)
		if hi > step {
			h = hi - step
		}
		ok, err := same(h)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = h
			break
		}
		if h == 0 {
			return 0, invalid("no common block, not even the genesis")
		}
		hi = h
	}
	for hi-lo > 1 { // lo matches, hi differs
		mid := lo + (hi-lo)/2
		ok, err := same(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// adoptFork fetches p's blocks after the common ancestor and, once they
// carry more work than the local chain, replaces the local chain with them.
// Messages of the dropped blocks that the new chain lacks go back to
// pending first.
func (g *Gossiper) adoptFork(ctx context.Context, p target, ancestor uint64) error {
	local := g.view.Tip()
	base, err := g.view.Summary(ancestor)
	if err != nil {
		return err
	}
	s := validate.NewStreamAfter(ctx, validate.Options{}, g.params, g.genesis, base, g.verify)
	defer s.Close()
	var fork [][]byte
	var size int64
	from := ancestor
	prev := base.Hash
	for {
		lines, sums, pg, err := g.page(ctx, p, from)
		if err != nil {
			return err
		}
		if len(lines) == 0 {
			return nil // the fork ends without more work: keep ours
		}
		if sums[0].PrevHash != prev {
			// The peer's chain changed between two pages.
			return fmt.Errorf("%w: the peer's block %d does not follow its block %d any more", errMoved, sums[0].Index, from)
		}
		prev = sums[len(sums)-1].Hash
		for i, l := range lines {
			if err := s.Add(int(sums[i].Index)+1, l); err != nil {
				return invalid("%v", err)
			}
			size += int64(len(l))
		}
		if size > g.cfg.MaxReorgBytes {
			return fmt.Errorf("fork from block %d is larger than %d bytes; not taken", ancestor, g.cfg.MaxReorgBytes)
		}
		fork = append(fork, lines...)
		from = sums[len(sums)-1].Index
		if from > local.Index {
			break // more work than ours
		}
		if !pg.More {
			return nil
		}
	}
	if err := s.Flush(); err != nil {
		return invalid("%v", err)
	}
	keep, ok := g.view.End(ancestor)
	if !ok {
		return fmt.Errorf("no block %d locally", ancestor)
	}
	// No compaction between re-pending and replacing (see HoldPending).
	hold, err := g.dir.HoldPending(ctx)
	if err != nil {
		return err
	}
	err = g.repend(ctx, ancestor, local.Index, fork)
	if err == nil {
		err = g.dir.Replace(ctx, local.Hash, keep, base, fork)
	}
	hold.Unlock()
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.stats.Reorgs++
	g.stats.BlocksAdopted += uint64(len(fork))
	g.mu.Unlock()
	g.log.Info("adopted a longer fork", "peer", p.addr, "ancestor", ancestor, "dropped", local.Index-ancestor,
		"new_blocks", len(fork), "height", from)
	if _, _, err := g.view.Refresh(); err != nil {
		return err
	}
	// Whatever the peer has beyond, take it as a plain extension.
	return g.syncWith(ctx, p)
}

// repend puts the messages of local blocks first..last (after ancestor)
// back into the pending log unless the new chain carries them.
func (g *Gossiper) repend(ctx context.Context, ancestor, last uint64, fork [][]byte) error {
	inFork := map[string]bool{}
	var b chain.Block
	var parser chain.Parser
	for _, l := range fork {
		if parser.Parse(l, &b) == nil {
			for _, m := range b.Data {
				inFork[m.ID] = true
			}
		}
	}
	var back []store.PendingEntry
	now := uint64(time.Now().UnixMilli())
	err := g.view.Lines(ancestor+1, last, func(_ uint64, line []byte) error {
		if err := parser.Parse(line, &b); err != nil {
			return err
		}
		for _, m := range b.Data {
			if !inFork[m.ID] {
				back = append(back, store.PendingEntry{ID: m.ID, Message: m.Text, Received: now})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(back) == 0 {
		return nil
	}
	g.log.Info("messages of dropped blocks go back to pending", "messages", len(back))
	return g.dir.AddPending(ctx, back)
}

// MaxPulledPending bounds the pending log entries beyond which bc-gossip
// stops taking messages from peers (the pending-data job and tied forks), so
// that a peer cannot flood a node's disk.
const MaxPulledPending = 100_000

// maxForkPull bounds the blocks of a tied fork read for its messages.
const maxForkPull = 1000

// tie is a standing tie with a neighbour.
type tie struct {
	ours, theirs string
	since        time.Time
}

// settleTie asks the miner for an empty block when a tie with peer has
// lasted two sync rounds and this node's tip hash is the larger of the two:
// exactly one side acts, and the other then adopts the longer chain. (The
// fork-choice rule itself stays: a tie keeps the local chain.)
func (g *Gossiper) settleTie(peer Addr, theirs string) {
	ours := g.view.Tip().Hash.String()
	g.mu.Lock()
	t, seen := g.ties[peer]
	if !seen || t.ours != ours || t.theirs != theirs {
		g.ties[peer] = tie{ours: ours, theirs: theirs, since: time.Now()}
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	if time.Since(t.since) < 2*g.cfg.SyncEvery || ours < theirs {
		return
	}
	if tip, ok := g.dir.Tiebreak(); ok && tip.String() == ours {
		return // asked already
	}
	g.log.Info("a tie with a neighbour lasts; asking the miner for an empty block to settle it", "peer", peer, "ours", ours, "theirs", theirs)
	if err := g.dir.RequestTiebreak(g.view.Tip().Hash); err != nil {
		g.log.Warn("cannot ask for a tie-break block", "error", err)
	}
}

// forgetTies drops the ties that no longer stand.
func (g *Gossiper) forgetTies(standing []tipOf) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for peer := range g.ties {
		still := false
		for _, s := range standing {
			still = still || s.t.addr == peer
		}
		if !still {
			delete(g.ties, peer)
		}
	}
}

// pullForkMessages stores as pending the messages of p's blocks after the
// common ancestor that the local chain lacks, and returns how many.
func (g *Gossiper) pullForkMessages(ctx context.Context, p target) (int, error) {
	tip := g.view.Tip()
	ancestor, err := g.findAncestor(ctx, p, tip.Index)
	if err != nil {
		return 0, err
	}
	if tip.Index-ancestor > maxForkPull {
		return 0, fmt.Errorf("tied fork of %d blocks is too deep to read", tip.Index-ancestor)
	}
	lines, _, _, err := g.page(ctx, p, ancestor)
	if err != nil {
		return 0, err
	}
	// Only messages of valid blocks, proofs included: otherwise anyone
	// could fill our pending log with forged forks for free.
	base, err := g.view.Summary(ancestor)
	if err != nil {
		return 0, err
	}
	if err := g.checkAfter(ctx, base, lines); err != nil {
		return 0, invalid("%v", err)
	}
	pending := g.pendingIDs()
	if len(pending) >= MaxPulledPending {
		return 0, fmt.Errorf("%d messages already pending; not taking more from peers", len(pending))
	}
	var fresh []store.PendingEntry
	var b chain.Block
	var parser chain.Parser
	now := uint64(time.Now().UnixMilli())
	for _, l := range lines {
		if parser.Parse(l, &b) != nil {
			return 0, invalid("unparsable block from %s", p.addr)
		}
		for _, m := range b.Data {
			e := store.PendingEntry{ID: m.ID, Message: m.Text, Received: now}
			if e.Validate() == nil && !g.view.HasID(m.ID) && !pending[m.ID] {
				pending[m.ID] = true
				fresh = append(fresh, e)
			}
		}
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	g.log.Info("took the messages of a tied fork as pending", "peer", p.addr, "messages", len(fresh))
	g.mu.Lock()
	g.stats.PendingPulled += uint64(len(fresh))
	g.mu.Unlock()
	return len(fresh), g.dir.AddPending(ctx, fresh)
}

// pullData is the seed's unprocessed-data job: take the neighbours' pending
// messages that are neither in the chain nor pending here.
func (g *Gossiper) pullData(ctx context.Context) {
	if _, _, err := g.view.Refresh(); err != nil {
		return
	}
	pending := g.pendingIDs()
	for _, n := range g.neighbours() {
		if len(pending) >= MaxPulledPending {
			g.log.Warn("many messages are pending; not taking more from peers until they are mined", "pending", len(pending))
			return
		}
		var doc struct {
			Data []store.PendingEntry `json:"data"`
		}
		if err := g.client.get(ctx, n.addr, n.trust, "/data", maxDataBytes, &doc); err != nil {
			g.log.Debug("pending data not fetched", "peer", n.addr, "error", err)
			continue
		}
		var fresh []store.PendingEntry
		for _, e := range doc.Data {
			if e.Validate() != nil || pending[e.ID] || g.view.HasID(e.ID) {
				continue
			}
			pending[e.ID] = true
			e.Received = uint64(time.Now().UnixMilli())
			fresh = append(fresh, e)
		}
		if len(fresh) == 0 {
			continue
		}
		if err := g.dir.AddPending(ctx, fresh); err != nil {
			g.log.Warn("cannot store pending data from a peer", "peer", n.addr, "error", err)
			return
		}
		g.mu.Lock()
		g.stats.PendingPulled += uint64(len(fresh))
		g.mu.Unlock()
		g.log.Debug("pulled pending messages", "peer", n.addr, "messages", len(fresh))
	}
}

// pendingIDs reads the ids of the pending log.
func (g *Gossiper) pendingIDs() map[string]bool {
	log := g.dir.FollowPending()
	defer log.Close()
	ids := map[string]bool{}
	es, _, _ := log.Read()
	for _, e := range es {
		ids[e.ID] = true
	}
	return ids
}
