package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// errInvalid marks errors caused by invalid data from a peer.
var errInvalid = errors.New("invalid data")

// errUnproven marks a claim a peer could not back with blocks.
var errUnproven = errors.New("unproven claim")

// errMoved marks a peer whose chain changed between two requests (or ours
// did): nothing is wrong with it, the sync is simply tried again later.
var errMoved = errors.New("the chains moved during the sync")

// errOversized marks a fork larger than MaxReorgBytes.
var errOversized = errors.New("fork too large")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalid, fmt.Sprintf(format, args...))
}

func unproven(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUnproven, fmt.Sprintf(format, args...))
}

// budget gives up a sync that makes no progress (a page of valid blocks)
// for a while: a peer that answers slowly, or answers without substance,
// costs at most that much, once per round.
type budget struct {
	ctx    context.Context
	cancel context.CancelFunc
	timer  *time.Timer
	d      time.Duration
}

func newBudget(parent context.Context, d time.Duration) *budget {
	ctx, cancel := context.WithCancel(parent)
	return &budget{ctx: ctx, cancel: cancel, timer: time.AfterFunc(d, cancel), d: d}
}

func (b *budget) progress() { b.timer.Reset(b.d) }

func (b *budget) stop() {
	b.timer.Stop()
	b.cancel()
}

// syncPeer compares tips with one peer and acts on what fork choice says:
// take its chain if it has more work, look into a tie, or nothing. It runs
// within a budget, in a goroutine of its own (see startSyncs).
func (g *Gossiper) syncPeer(parent context.Context, p target) {
	b := newBudget(parent, g.cfg.SyncBudget)
	defer b.stop()
	ctx := b.ctx
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
	g.noteTip(p.addr, h.Height, h.Tip)
	theirs, err := remoteTip(g.genesis, h)
	if err != nil {
		g.misbehave(p.addr, pointsUnproven, "its /health: "+err.Error())
		return
	}
	if g.refused(p.addr, h.Tip) {
		return // this fork was refused already; the peer was scored then
	}
	switch validate.Compare(g.localTip(g.view.Tip()), theirs) {
	case validate.Adopt:
		err = g.syncWith(ctx, b, p, theirs)
	case validate.Tie:
		err = g.tieWith(ctx, b, p, theirs)
	default:
		g.forgetTie(p.addr)
		return
	}
	g.judge(parent, p, h.Tip, err)
}

// remoteTip is a peer's /health answer as fork choice sees it.
func remoteTip(genesis chain.Hash, h remoteHealth) (validate.Tip, error) {
	tip, err := chain.ParseHash(h.Tip)
	if err != nil {
		return validate.Tip{}, fmt.Errorf("tip: %w", err)
	}
	return validate.Tip{Genesis: genesis, Height: h.Height, Hash: tip}, nil
}

// judge records how a sync with p ended: misbehaviour is scored, failures
// counted, and a moving chain only logged.
func (g *Gossiper) judge(parent context.Context, p target, tip string, err error) {
	switch {
	case err == nil:
	case parent.Err() != nil:
	case errors.Is(err, errInvalid):
		g.misbehave(p.addr, pointsInvalid, err.Error())
	case errors.Is(err, errOversized):
		g.refuse(p.addr, tip)
		g.misbehave(p.addr, pointsOversized, err.Error())
	case errors.Is(err, errUnproven):
		g.misbehave(p.addr, pointsUnproven, err.Error())
	case errors.Is(err, errMoved), errors.Is(err, store.ErrTipMoved):
		g.log.Debug("a chain moved during the sync; trying again later", "peer", p.addr, "error", err)
	case errors.Is(err, context.Canceled):
		g.log.Info("a sync made no progress within its budget; given up", "peer", p.addr, "budget", g.cfg.SyncBudget.String())
		g.failed(p.addr, err)
	default:
		g.log.Info("sync with a peer failed", "peer", p.addr, "error", err)
		g.failed(p.addr, err)
	}
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

// syncWith brings the local chain to p's, which claims more work: it
// fetches only the blocks after the common ancestor, checks them with the
// strategy plugin before anything is written, and appends (or, for a fork,
// replaces the chain atomically once the fork has more work).
func (g *Gossiper) syncWith(ctx context.Context, b *budget, p target, theirs validate.Tip) error {
	tip := g.view.Tip()
	lines, sums, _, err := g.page(ctx, p, tip.Index)
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		return unproven("claims height %d but serves no block after our %d", theirs.Height, tip.Index)
	}
	if sums[0].PrevHash == tip.Hash {
		return g.extend(ctx, b, p, tip, lines)
	}
	ancestor, err := g.findAncestor(ctx, p, tip.Index)
	if err != nil {
		return err
	}
	return g.adoptFork(ctx, b, p, ancestor)
}

// extend appends p's blocks after tip page by page, each page checked
// (proofs included) before it is written.
func (g *Gossiper) extend(ctx context.Context, b *budget, p target, tip chain.Summary, lines [][]byte) error {
	total := 0
	for len(lines) > 0 {
		n, err := g.checkAndAppend(ctx, tip, lines, store.OriginPeer(string(p.addr)))
		if err != nil {
			if validate.AsRuleError(err) != nil {
				return invalid("%v", err)
			}
			return err
		}
		b.progress()
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
			return false, unproven("serves no block %d", h)
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

// adoptFork fetches p's blocks after the common ancestor into a spool file
// in the chain directory (so that memory does not grow with the fork),
// checking each page (proofs included) as it comes, and once they carry
// more work than the local chain, replaces the local chain with them
// (store.Reorg re-pends the messages of the dropped blocks). A fork larger
// than MaxReorgBytes is refused.
func (g *Gossiper) adoptFork(ctx context.Context, b *budget, p target, ancestor uint64) error {
	local := g.view.Tip()
	base, err := g.view.Summary(ancestor)
	if err != nil {
		return err
	}
	spool, err := os.CreateTemp(g.dir.Path(), ".fork-*.tmp")
	if err != nil {
		return fmt.Errorf("spool a fork: %w", err)
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	w := bufio.NewWriterSize(spool, 256<<10)
	s := validate.NewStreamAfter(ctx, validate.Options{}, g.params, g.genesis, base, g.verify)
	defer s.Close()
	var size int64
	var forkTip chain.Summary
	from, prev := ancestor, base.Hash
	for {
		lines, sums, pg, err := g.page(ctx, p, from)
		if err != nil {
			return err
		}
		if len(lines) == 0 {
			return unproven("its fork from block %d ends at %d, with no more work than ours (%d)", ancestor, from, local.Index)
		}
		if sums[0].PrevHash != prev {
			// The peer's chain changed between two pages.
			return fmt.Errorf("%w: the peer's block %d does not follow its block %d any more", errMoved, sums[0].Index, from)
		}
		for i, l := range lines {
			if err := s.Add(int(sums[i].Index)+1, l); err != nil {
				return invalid("%v", err)
			}
			size += int64(len(l)) + 1
			_, _ = w.Write(l)
			if err := w.WriteByte('\n'); err != nil {
				return fmt.Errorf("spool a fork: %w", err)
			}
		}
		if size > g.cfg.MaxReorgBytes {
			return fmt.Errorf("%w: its fork from block %d is larger than %d bytes (max reorg bytes); not taken", errOversized, ancestor, g.cfg.MaxReorgBytes)
		}
		b.progress()
		forkTip = sums[len(sums)-1]
		prev, from = forkTip.Hash, forkTip.Index
		if validate.Compare(g.localTip(local), g.localTip(forkTip)) == validate.Adopt {
			break
		}
		if !pg.More {
			return unproven("its fork from block %d ends at %d, with no more work than ours (%d)", ancestor, from, local.Index)
		}
	}
	if err := s.Flush(); err != nil {
		return invalid("%v", err)
	}
	keep, ok := g.view.End(ancestor)
	if !ok {
		return fmt.Errorf("no block %d locally", ancestor)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("spool a fork: %w", err)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	res, err := g.dir.Reorg(ctx, store.ReorgSpec{Prev: local.Hash, Base: base, Keep: keep, Lines: spool,
		Cause:  fmt.Sprintf("peer %s had a chain with more work: it forks after block %d", p.addr, ancestor),
		Origin: store.OriginPeer(string(p.addr))})
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.stats.Reorgs++
	g.stats.BlocksAdopted += res.Added
	g.mu.Unlock()
	g.log.Info("adopted a fork with more work", "peer", p.addr, "ancestor", ancestor, "dropped", res.Dropped,
		"new_blocks", res.Added, "repended", res.Repended, "height", res.Tip.Index)
	if _, _, err := g.view.Refresh(); err != nil {
		return err
	}
	// Whatever the peer has beyond, take it as a plain extension.
	tip := g.view.Tip()
	lines, sums, _, err := g.page(ctx, p, tip.Index)
	if err != nil || len(lines) == 0 {
		return err
	}
	if sums[0].PrevHash != tip.Hash {
		// Our miner (or the peer) moved on meanwhile: not the peer's fault.
		return fmt.Errorf("%w: the peer's block %d does not follow our tip", errMoved, sums[0].Index)
	}
	return g.extend(ctx, b, p, tip, lines)
}
