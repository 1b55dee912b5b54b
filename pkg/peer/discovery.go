package peer

import (
	"slices"

	"github.com/bc-chain/bc/pkg/node"

	"context"
	"net"
	"sort"
	"sync"
	"time"
)

// discover is the seed's gossip job, made careful: check every neighbour's
// health (dropping those that fail repeatedly, run another chain or are this
// node itself), learn the addresses they know within limits, and fill the
// neighbour list up to the maximum from the known addresses.
func (g *Gossiper) discover(ctx context.Context) {
	var wg sync.WaitGroup
	for _, n := range g.neighbours() {
		wg.Add(1)
		go func(n target) {
			defer wg.Done()
			if !g.probe(ctx, n) {
				return
			}
			var doc struct {
				Neighbours []string `json:"neighbours"`
			}
			if err := g.client.get(ctx, n.addr, n.trust, "/neighbours", maxNeighboursBytes, &doc); err != nil {
				g.log.Debug("neighbours not fetched", "peer", n.addr, "error", err)
				return
			}
			g.learn(n.addr, doc.Neighbours)
		}(n)
	}
	wg.Wait()
	g.fill(ctx)
	g.saveBook(ctx)
	g.forgetIdlePeers(time.Now())
}

// probe checks a peer's health and records the outcome; it reports whether
// the peer is usable.
func (g *Gossiper) probe(ctx context.Context, n target) bool {
	h, err := g.client.health(ctx, n.addr, n.trust)
	switch {
	case err != nil:
		g.failed(n.addr, err)
		return false
	case h.Genesis != g.genesis.String():
		g.ban(n.addr, g.cfg.BanGenesis, "another genesis: "+h.Genesis)
		return false
	case h.NodeID != "" && h.NodeID == g.nodeID:
		g.ban(n.addr, 100*365*24*time.Hour, "this node itself")
		return false
	}
	g.ok(n.addr)
	return true
}

// learn adds addresses a peer told us about, within the per-peer and
// per-minute limits; special and (for peers not on private networks)
// private or loopback addresses are kept out now and checked again, on the
// resolved IP, at every dial. When the book is full, an address never
// reached makes room (see evictUnproven), so junk cannot lock out good
// addresses for ever.
func (g *Gossiper) learn(from node.Addr, addrs []string) {
	trust := hostScope(from)
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	recent := g.learned[:0]
	for _, t := range g.learned {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	g.learned = recent
	taken := 0
	for _, raw := range addrs {
		if taken >= g.cfg.LearnPerPeer || len(g.learned) >= g.cfg.LearnPerMin {
			break
		}
		a, err := node.ParseAddr(raw)
		if err != nil || a == g.cfg.Advertise || a == from || g.book.Lookup(a) != nil || g.book.IsRemoved(a, now) {
			continue
		}
		if ip := net.ParseIP(a.Host()); ip != nil && !mayDial(trust, ip) {
			continue
		}
		if len(g.book.Known) >= g.cfg.MaxKnown && !g.book.EvictUnproven() {
			break // every known address has answered once: keep them
		}
		g.book.Known = append(g.book.Known, node.Known{Addr: a, From: from, Trust: trust.String(), Added: now.UnixMilli()})
		g.learned = append(g.learned, now)
		taken++
	}
}

// fill adds known addresses to the neighbours until the maximum: the most
// recently healthy first, each checked before it is taken.
func (g *Gossiper) fill(ctx context.Context) {
	now := time.Now()
	g.mu.Lock()
	room := g.cfg.MaxNeighbours - len(g.book.Neighbours)
	var cands []node.Known
	for _, k := range g.book.Known {
		if !g.book.IsNeighbour(k.Addr) && k.Banned < now.UnixMilli() && !g.book.IsRemoved(k.Addr, now) &&
			k.Addr != g.cfg.Advertise && retryDue(k, now) {
			cands = append(cands, k)
		}
	}
	g.mu.Unlock()
	if room <= 0 {
		return
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].Failures != cands[j].Failures {
			return cands[i].Failures < cands[j].Failures
		}
		return cands[i].LastOK > cands[j].LastOK
	})
	for _, k := range cands {
		if room == 0 {
			return
		}
		t := target{addr: k.Addr, trust: g.trust(k.Addr)}
		if !g.probe(ctx, t) {
			continue
		}
		g.mu.Lock()
		if !g.book.IsNeighbour(k.Addr) {
			g.book.Neighbours = append(g.book.Neighbours, k.Addr)
			room--
		}
		g.mu.Unlock()
		g.log.Info("new neighbour", "peer", k.Addr, "learned_from", k.From)
		g.requestSync(k.Addr)
	}
}

// retryDue spaces out the retries of failing addresses: 20 s, 40 s, 80 s,
// ... up to an hour after the last failure.
func retryDue(k node.Known, now time.Time) bool {
	if k.Failures == 0 {
		return true
	}
	wait := min(20*time.Second<<min(k.Failures-1, 8), time.Hour)
	return now.Sub(time.UnixMilli(k.LastFail)) >= wait
}

func (g *Gossiper) trust(a node.Addr) Scope {
	g.mu.Lock()
	defer g.mu.Unlock()
	return trustOf(&g.book, a)
}

// ban drops a peer and leaves it alone for d.
func (g *Gossiper) ban(a node.Addr, d time.Duration, reason string) {
	g.mu.Lock()
	k := g.book.Entry(a)
	k.Banned, k.BanReason = time.Now().Add(d).UnixMilli(), reason
	wasNeighbour := g.book.IsNeighbour(a)
	g.book.DropNeighbour(a)
	g.stats.InvalidPeers++
	g.mu.Unlock()
	if wasNeighbour {
		g.log.Warn("dropped a peer", "peer", a, "reason", reason, "for", d.String())
	}
	g.saveBook(context.Background())
}

// saveBook writes the book, merging removals made meanwhile by bc-serve.
// The merge and the snapshot happen in one critical section on the
// in-memory book, under the file's lock: a change made by another
// goroutine (a ban, a failure) is never overwritten by an older snapshot.
func (g *Gossiper) saveBook(ctx context.Context) {
	err := node.UpdateBook(ctx, g.dir, func(b *node.Book) error {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.applyRemovalsLocked(b.Removed, time.Now())
		// b is encoded after this returns: it gets its own copy.
		*b = g.book.Clone()
		return nil
	})
	if err != nil {
		g.log.Warn("cannot save the neighbour list", "error", err)
	}
}

// applyRemovals takes into the in-memory book the removals an
// administrator made through bc-serve (the file's Removed list, which only
// bc-serve adds to); everything else in memory is newer than the file.
func (g *Gossiper) applyRemovals(removed []node.Removed) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.applyRemovalsLocked(removed, time.Now())
}

func (g *Gossiper) applyRemovalsLocked(removed []node.Removed, now time.Time) {
	g.book.Removed = slices.Clone(removed)
	for _, r := range removed {
		if r.Until > now.UnixMilli() {
			g.book.Remove(r.Addr, time.UnixMilli(r.Until).Add(-node.RemovalBan))
		}
	}
}
