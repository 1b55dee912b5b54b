package peer

import (
	"github.com/bc-chain/bc/pkg/node"

	"math"
	"time"
)

// Misbehaviour scoring, after Bitcoin Core's: a peer that makes this node
// work without offering valid work in return earns points, which fade by
// half every scoreHalfLife; at BanScore the peer is dropped and left alone
// for Config.BanInvalid. Invalid data (a block that breaks a rule, a page
// of another chain) is worth BanScore at once.
const (
	BanScore      = 100
	scoreHalfLife = 10 * time.Minute
)

// Points for each kind of misbehaviour.
const (
	// pointsInvalid: a block that breaks a rule, a page of another chain.
	pointsInvalid = BanScore
	// pointsOversized: a fork larger than MaxReorgBytes (after which its tip
	// is not downloaded again); two within a few minutes ban.
	pointsOversized = 60
	// pointsUnproven: a claim the peer cannot back with blocks: a height
	// it serves nothing for, a tied tip it cannot show.
	pointsUnproven = 20
)

// refusalMemory is how long a refused fork tip is not downloaded again.
const refusalMemory = time.Hour

// peerState is what one run of bc-gossip knows of a peer's conduct.
type peerState struct {
	score            float64
	scoredAt         time.Time
	syncing          bool
	refused          map[string]time.Time // fork tips refused, until when
	tie              *tie                 // a standing tie with this peer
	lastAnnounceSync time.Time
	deferred         bool // a sync asked for by an announcement waits (see syncSoon)
	// warnedKind and warnedAt: the failure last logged at WARN, and when
	// (see reach.go); cleared when the peer answers again.
	warnedKind string
	warnedAt   time.Time
	// height, tip and seen: its chain as its last /health answer gave it.
	height uint64
	tip    string
	seen   time.Time
}

// peerLocked returns a's state, creating it (g.mu held).
func (g *Gossiper) peerLocked(a node.Addr) *peerState {
	ps := g.peers[a]
	if ps == nil {
		ps = &peerState{refused: map[string]time.Time{}}
		g.peers[a] = ps
	}
	return ps
}

// beginSync marks a sync with a in flight; false if one already is.
func (g *Gossiper) beginSync(a node.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	ps := g.peerLocked(a)
	if ps.syncing {
		return false
	}
	ps.syncing = true
	return true
}

func (g *Gossiper) endSync(a node.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.peerLocked(a).syncing = false
}

// misbehave adds points to a's score and bans it once the score reaches
// BanScore. It reports whether a was banned.
func (g *Gossiper) misbehave(a node.Addr, points int, why string) bool {
	now := time.Now()
	g.mu.Lock()
	ps := g.peerLocked(a)
	if !ps.scoredAt.IsZero() {
		ps.score *= math.Exp2(-float64(now.Sub(ps.scoredAt)) / float64(scoreHalfLife))
	}
	ps.score += float64(points)
	ps.scoredAt = now
	score := ps.score
	g.stats.Misbehaviour++
	g.mu.Unlock()
	if score < BanScore {
		g.log.Info("a peer misbehaved", "peer", a, "reason", why, "score", int(score), "ban_at", BanScore)
		return false
	}
	g.mu.Lock()
	ps.score, ps.scoredAt = 0, now
	g.mu.Unlock()
	g.ban(a, g.cfg.BanInvalid, why)
	return true
}

// refuse remembers that a's fork ending at tip was refused.
func (g *Gossiper) refuse(a node.Addr, tip string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.peerLocked(a).refused[tip] = time.Now().Add(refusalMemory)
}

// refused reports whether a's fork ending at tip was refused lately.
func (g *Gossiper) refused(a node.Addr, tip string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	ps := g.peerLocked(a)
	now := time.Now()
	for t, until := range ps.refused {
		if now.After(until) {
			delete(ps.refused, t)
		}
	}
	_, ok := ps.refused[tip]
	return ok
}

// forgetIdlePeers drops what this run knows of peers that have left the
// book and hold nothing worth keeping (a score, a refused fork, a sync or
// tie in progress), so that the map stays as small as the book however
// many addresses pass through it in a long run.
func (g *Gossiper) forgetIdlePeers(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for a, ps := range g.peers {
		if g.book.Lookup(a) != nil || ps.syncing || ps.deferred || ps.tie != nil {
			continue
		}
		score := ps.score
		if !ps.scoredAt.IsZero() {
			score *= math.Exp2(-float64(now.Sub(ps.scoredAt)) / float64(scoreHalfLife))
		}
		if score >= 1 {
			continue
		}
		live := false
		for _, until := range ps.refused {
			live = live || now.Before(until)
		}
		if !live {
			delete(g.peers, a)
		}
	}
}
