// Package miner is bc-mine: it turns pending messages into blocks through
// the chain's proof-of-work plugin.
//
// The miner waits for pending messages without spinning (fsnotify on the
// chain directory, plus a slow rescan), packs up to MaxMessages of them into
// a block on the current tip, has the plugin seal it in one call, and
// appends it only if the tip is still the one it mined on. When the tip
// moves underneath (another process adopted a longer chain), the search is
// cancelled at once and restarted on the new tip; the messages of the lost
// attempt simply stay pending. A message whose id is already in the chain is
// never mined again, and a pending entry leaves the pending set only by its
// block being durably appended.
package miner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/store"
)

// Sealer is what the miner needs of a strategy plugin.
type Sealer interface {
	SealProgress(ctx context.Context, req pow.SealRequest, every time.Duration, progress func(total uint64, elapsed time.Duration)) (pow.SealResult, error)
}

// Config tunes a Miner.
type Config struct {
	MaxMessages int           // messages per block (1 reproduces the seed)
	Threads     int           // search threads; 0 means one per CPU
	Rescan      time.Duration // safety-net rescan interval
	// Progress, if not nil, receives the running search's state about once
	// a second (for a terminal status line).
	Progress func(Progress)
	// Mined, if not nil, is called with each block this miner appended.
	Mined func(b *chain.Block, line []byte)
	// Now returns the current time (time.Now when nil).
	Now func() time.Time
	// PluginTimeout is how long a search may go without its attempt count
	// growing before the plugin is taken for hung, stopped and restarted.
	PluginTimeout time.Duration
}

// DefaultPluginTimeout is Config.PluginTimeout's default.
const DefaultPluginTimeout = 30 * time.Second

// Restarter is implemented by Sealers that can replace a hung plugin.
type Restarter interface {
	Restart()
}

// ErrPluginHung is returned when a search made no progress for the
// plugin timeout.
var ErrPluginHung = errors.New("the strategy plugin made no progress")

// Progress describes the running search.
type Progress struct {
	Index    uint64
	Messages int
	Attempts uint64
	Elapsed  time.Duration
	Rate     float64 // attempts/s
}

// Stats are the miner's counters since it started.
type Stats struct {
	Blocks    uint64  // blocks appended
	Messages  uint64  // messages in them
	Restarts  uint64  // searches cancelled because the tip moved
	LastRate  float64 // attempts/s of the last search
	Attempts  uint64
	SealTime  time.Duration
	Compacted uint64 // pending entries dropped by compaction
}

// Miner mines one chain directory.
type Miner struct {
	dir     *store.Dir
	view    *store.View
	pending *store.PendingSet
	sealer  Sealer
	cfg     Config
	log     *slog.Logger
	wake    chan struct{}
	rate    atomic.Uint64 // float64 bits of the current rate

	// statsMu guards stats: the status file writer reads them while the
	// mining goroutine counts.
	statsMu sync.Mutex
	stats   Stats
}

// New returns a miner for dir, whose chain must exist, sealing with s.
func New(dir *store.Dir, s Sealer, cfg Config) (*Miner, error) {
	if cfg.MaxMessages <= 0 {
		cfg.MaxMessages = DefaultMaxMessages
	}
	if cfg.MaxMessages > chain.MaxMessages {
		return nil, fmt.Errorf("--max-messages %d: a block holds at most %d", cfg.MaxMessages, chain.MaxMessages)
	}
	if cfg.Rescan <= 0 {
		cfg.Rescan = store.DefaultPoll
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PluginTimeout <= 0 {
		cfg.PluginTimeout = DefaultPluginTimeout
	}
	v, err := dir.OpenView(store.ViewOptions{IDs: true})
	if err != nil {
		return nil, err
	}
	return &Miner{
		dir: dir, view: v, sealer: s, cfg: cfg, log: dir.Log(),
		pending: dir.NewPendingSet(v), wake: make(chan struct{}, 1),
	}, nil
}

// DefaultMaxMessages is how many pending messages go into one block at
// most: as many as the format allows (the line's 1 MiB bounds it too), so
// that under a backlog the messages mined per second are not capped below
// what a block can carry.
const DefaultMaxMessages = chain.MaxMessages

// Close releases the miner's files.
func (m *Miner) Close() {
	m.view.Close()
	m.pending.Close()
}

// View returns the miner's view of the chain.
func (m *Miner) View() *store.View { return m.view }

// Stats returns the counters.
func (m *Miner) Stats() Stats {
	m.statsMu.Lock()
	defer m.statsMu.Unlock()
	return m.stats
}

// count updates the counters.
func (m *Miner) count(f func(s *Stats)) {
	m.statsMu.Lock()
	defer m.statsMu.Unlock()
	f(&m.stats)
}

// Wake makes the miner look at the directory again.
func (m *Miner) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Watch turns file events of the directory into wake-ups until ctx ends.
func (m *Miner) Watch(ctx context.Context) error {
	return m.dir.Watch(ctx, m.cfg.Rescan, nil, func(changed map[string]bool) {
		if changed == nil || changed[store.ChainFile] || changed[store.PendingFile] || changed[store.TiebreakFile] {
			m.Wake()
		}
	})
}

// refresh brings the view of the chain and of the pending log up to date.
// A chain changed in place where it was verified is not mined on.
func (m *Miner) refresh() error {
	if _, _, err := m.view.Refresh(); err != nil {
		return fmt.Errorf("read chain: %w", err)
	}
	if err := m.view.Problem(); errors.Is(err, store.ErrTampered) {
		return err
	}
	_, err := m.pending.Refresh(0)
	return err
}

// blockBudget leaves room under chain.MaxLineBytes for the rest of a line.
const blockBudget = chain.MaxLineBytes - 4096

// candidates returns the pending messages the next block would carry.
func (m *Miner) candidates() []chain.Message {
	return m.pending.Take(m.cfg.MaxMessages, blockBudget)
}

// Pending returns how many pending messages are not in the chain yet.
func (m *Miner) Pending() int { return m.pending.Counts().Messages }

// tiebreakDue reports whether bc-gossip asked for an empty block on the
// current tip (and drops a request made for another tip).
func (m *Miner) tiebreakDue() bool {
	tip, ok := m.dir.Tiebreak()
	if !ok {
		return false
	}
	if tip != m.view.Tip().Hash {
		m.dir.ClearTiebreak()
		return false
	}
	return true
}

// ErrIdle is returned by MineOne when nothing is pending.
var ErrIdle = errors.New("nothing to mine")

// errTipMoved reports a search abandoned because the chain changed.
var errTipMoved = errors.New("tip moved")

// MineOne mines one block from the pending messages, or returns ErrIdle.
// A search whose tip moves is restarted on the new tip.
func (m *Miner) MineOne(ctx context.Context) (*chain.Block, error) {
	for {
		if err := m.refresh(); err != nil {
			return nil, err
		}
		msgs := m.candidates()
		if len(msgs) == 0 {
			if !m.tiebreakDue() {
				return nil, ErrIdle
			}
			m.log.Info("mining an empty block to settle a tie with a fork of equal work", "on", m.view.Tip().Index)
		}
		b, err := m.mine(ctx, msgs)
		if errors.Is(err, errTipMoved) || errors.Is(err, store.ErrTipMoved) {
			m.count(func(s *Stats) { s.Restarts++ })
			m.log.Debug("the chain changed during the search; mining again on the new tip", "reason", err)
			continue
		}
		return b, err
	}
}

// mine seals one block with msgs on the current tip and appends it.
func (m *Miner) mine(ctx context.Context, msgs []chain.Message) (*chain.Block, error) {
	tip := m.view.Tip()
	b := &chain.Block{
		Index:     tip.Index + 1,
		Timestamp: max(uint64(m.cfg.Now().UnixMilli()), tip.Timestamp+1),
		Data:      msgs,
		PrevHash:  tip.Hash,
	}
	h := b.Header()
	req := pow.SealRequest{Params: *m.view.Params(), PrevProof: tip.Proof, Threads: m.cfg.Threads}
	h.Encode(&req.Header)

	sealCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		res pow.SealResult
		err error
	}
	done := make(chan outcome, 1)
	// Hang detection: the attempt count must grow now and then.
	var lastAttempts atomic.Uint64
	var lastGrowth atomic.Int64
	lastGrowth.Store(time.Now().UnixNano())
	go func() {
		res, err := m.sealer.SealProgress(sealCtx, req, time.Second, func(total uint64, elapsed time.Duration) {
			if total > lastAttempts.Load() {
				lastAttempts.Store(total)
				lastGrowth.Store(time.Now().UnixNano())
			}
			rate := float64(total) / max(elapsed.Seconds(), 1e-9)
			m.setRate(rate)
			if m.cfg.Progress != nil {
				m.cfg.Progress(Progress{Index: b.Index, Messages: len(msgs), Attempts: total, Elapsed: elapsed, Rate: rate})
			}
		})
		done <- outcome{res, err}
	}()
	watchdog := time.NewTicker(min(time.Second, m.cfg.PluginTimeout/2))
	defer watchdog.Stop()
	for {
		select {
		case <-watchdog.C:
			if stalled := time.Since(time.Unix(0, lastGrowth.Load())); stalled > m.cfg.PluginTimeout {
				cancel()
				<-done
				if r, ok := m.sealer.(Restarter); ok {
					r.Restart()
				}
				return nil, fmt.Errorf("seal block %d: %w for %v; restarting it", b.Index, ErrPluginHung, stalled.Round(time.Second))
			}
		case o := <-done:
			if o.err != nil {
				return nil, fmt.Errorf("seal block %d: %w", b.Index, o.err)
			}
			return b, m.append(ctx, b, tip, o.res)
		case <-m.wake:
			// The chain may have moved: if so, stop this search at once.
			if _, _, err := m.view.Refresh(); err == nil && m.view.Tip().Hash != tip.Hash {
				cancel()
				<-done
				return nil, errTipMoved
			}
		case <-ctx.Done():
			cancel()
			<-done
			return nil, ctx.Err()
		}
	}
}

// append writes the sealed block if the tip is still the one it was built on.
func (m *Miner) append(ctx context.Context, b *chain.Block, tip chain.Summary, res pow.SealResult) error {
	b.Proof = res.Proof
	b.Hash = b.ComputeHash()
	line := b.AppendJSON(nil)
	if err := m.dir.AppendFrom(ctx, tip.Hash, [][]byte{line}, store.OriginMined); err != nil {
		return err
	}
	if len(b.Data) == 0 {
		m.dir.ClearTiebreak()
	}
	m.count(func(s *Stats) {
		s.Blocks++
		s.Messages += uint64(len(b.Data))
		s.Attempts += res.Attempts
		s.SealTime += res.Elapsed
		s.LastRate = res.Rate()
	})
	m.setRate(res.Rate())
	m.log.Info("mined a block", "index", b.Index, "hash", b.Hash.String(), "messages", len(b.Data),
		"attempts", res.Attempts, "seconds", fmt.Sprintf("%.3f", res.Elapsed.Seconds()),
		"rate", fmt.Sprintf("%.1f M/s", res.Rate()/1e6))
	if m.cfg.Mined != nil {
		m.cfg.Mined(b, line)
	}
	if _, _, err := m.view.Refresh(); err != nil {
		return err
	}
	m.compact(ctx)
	return nil
}

// compact drops mined entries from the pending log once they are as many
// as the live ones (and at least compactAfter), so that every entry is
// rewritten a bounded number of times: draining a long log costs linear
// work, not quadratic. Damaged lines are moved aside at once.
// CompactPending decides under the exclusive pending lock, with the chain
// read again there: a reorg (which re-pends messages under the shared lock
// before it replaces the chain) cannot slip in between.
func (m *Miner) compact(ctx context.Context) {
	mined := m.pending.Mined()
	if len(m.pending.Damage()) == 0 && (mined < compactAfter || mined < m.pending.Counts().Messages) {
		return
	}
	_, dropped, err := m.dir.CompactPending(ctx, func() (func(store.PendingEntry) bool, error) {
		if _, _, err := m.view.Refresh(); err != nil {
			return nil, err
		}
		return func(e store.PendingEntry) bool { return !m.view.HasID(e.ID) }, nil
	})
	if err != nil {
		m.log.Warn("could not compact the pending log", "error", err)
		return
	}
	m.count(func(s *Stats) { s.Compacted += uint64(dropped) })
}

// compactAfter is how many mined entries the pending log holds at least
// before the miner rewrites it.
const compactAfter = 1000

func (m *Miner) setRate(r float64) {
	m.rate.Store(uint64(r))
}

// Rate returns the last known attempts per second.
func (m *Miner) Rate() float64 { return float64(m.rate.Load()) }

// Run mines until ctx ends: blocks while messages are pending, waiting
// without using the CPU otherwise. until, if not nil, ends the run when it
// returns true while the miner is idle. A failure (a plugin that died, a
// full disk, a lock held too long) is logged and retried with a growing
// pause; after maxFailures in a row (0: never) Run returns it.
func (m *Miner) Run(ctx context.Context, until func() bool, maxFailures int) error {
	failures := 0
	for {
		_, err := m.MineOne(ctx)
		switch {
		case err == nil:
			failures = 0
			continue
		case errors.Is(err, ErrIdle):
			failures = 0
			m.compact(ctx) // damaged lines are moved aside even when idle
			if until != nil && until() {
				return nil
			}
		case ctx.Err() != nil:
			return nil
		default:
			failures++
			if maxFailures > 0 && failures >= maxFailures {
				return err
			}
			pause := min(time.Duration(1<<min(failures-1, 5))*time.Second, 30*time.Second)
			m.log.Error("mining failed; trying again", "error", err, "in", pause.String(), "failures", failures)
			select {
			case <-time.After(pause):
				continue
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case <-m.wake:
		case <-ctx.Done():
			return nil
		}
	}
}
