package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/bc-chain/bc/pkg/node"
)

// A failing peer is worth one WARN line, not one per round: the first
// warning comes once it has failed warnAfter times in a row (so that a
// peer still starting, as in make run, or a blip, stays quiet), or at once
// when it answers but is not a bc node; the next for the same peer and
// the same kind of failure only after warnEvery. Its recovery is logged
// once.
const (
	warnAfter = 2
	warnEvery = 10 * time.Minute
)

// Kinds of failure, as the warnings name them.
const (
	kindUnreachable = "a peer is unreachable"
	kindNotBC       = "a peer is not a bc node"
	kindFailing     = "a peer answers with errors"
)

// failureKind sorts a failed contact for the log.
func failureKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errNotBC):
		return kindNotBC
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded):
		return kindUnreachable
	default:
		return kindFailing
	}
}

// ok records a successful contact.
func (g *Gossiper) ok(a node.Addr) {
	g.mu.Lock()
	if k := g.book.Lookup(a); k != nil {
		k.Failures, k.LastOK, k.Reason = 0, time.Now().UnixMilli(), ""
	}
	recovered := false
	if ps := g.peers[a]; ps != nil && ps.warnedKind != "" {
		ps.warnedKind, ps.warnedAt, recovered = "", time.Time{}, true
	}
	g.mu.Unlock()
	if recovered {
		g.log.Info("a peer answers again", "peer", a)
	}
}

// failed records a failed contact: a neighbour that fails MaxFailures
// times in a row is dropped (and tried again later from the known list),
// unless the operator gave it (--peers), and a failing neighbour or
// configured peer is warned about (see warnAfter).
func (g *Gossiper) failed(a node.Addr, err error) {
	now := time.Now()
	kind := failureKind(err)
	g.mu.Lock()
	k := g.book.Entry(a)
	k.Failures++
	k.LastFail = now.UnixMilli()
	k.Reason = describe(err)
	failures, configured := k.Failures, k.Trust == ScopeConfigured.String()
	watched := configured || g.book.IsNeighbour(a)
	dropped := false
	if failures >= g.cfg.MaxFailures && g.book.IsNeighbour(a) && !configured {
		g.book.DropNeighbour(a)
		dropped = true
	}
	warn := false
	if watched && (failures >= warnAfter || kind == kindNotBC) {
		ps := g.peerLocked(a)
		if ps.warnedKind != kind || now.Sub(ps.warnedAt) >= warnEvery {
			ps.warnedKind, ps.warnedAt, warn = kind, now, true
		}
	}
	g.mu.Unlock()
	switch {
	case warn:
		g.log.Warn(kind, "peer", a, "failures", failures, "error", describe(err),
			"next_warning", "in "+warnEvery.String()+" if it still fails")
	default:
		g.log.Debug("contact failed", "peer", a, "failures", failures, "error", err)
	}
	if dropped {
		g.log.Info("dropped a neighbour that keeps failing", "peer", a, "failures", failures, "error", describe(err))
	}
}

// maxReasonText bounds what the status file repeats of one failure.
const maxReasonText = 200

// reachabilityLocked counts the neighbours whose last contact worked and
// describes those that have failed warnAfter times in a row (g.mu held),
// for /health.
func (g *Gossiper) reachabilityLocked() (reachable int, unreachable string) {
	var failing []string
	for _, a := range g.book.Neighbours {
		k := g.book.Lookup(a)
		switch {
		case k == nil:
		case k.Failures >= warnAfter:
			reason := strings.TrimPrefix(k.Reason, "peer "+string(a)+": ")
			if len(reason) > maxReasonText {
				reason = reason[:maxReasonText] + "…"
			}
			failing = append(failing, fmt.Sprintf("%s (%s)", a, reason))
		case k.Failures == 0 && k.LastOK > 0:
			reachable++
		}
	}
	return reachable, strings.Join(failing, "; ")
}

// noteTip records a neighbour's chain as its /health answer gave it.
func (g *Gossiper) noteTip(a node.Addr, height uint64, tip string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ps := g.peerLocked(a)
	ps.height, ps.tip, ps.seen = height, tip, time.Now()
}

// peerTipsLocked describes each neighbour for the status file (g.mu held).
func (g *Gossiper) peerTipsLocked() []node.PeerTip {
	out := make([]node.PeerTip, 0, len(g.book.Neighbours))
	for _, a := range g.book.Neighbours {
		pt := node.PeerTip{Addr: a}
		if k := g.book.Lookup(a); k != nil {
			pt.Failures, pt.Reachable = k.Failures, k.Failures == 0 && k.LastOK > 0
		}
		if ps := g.peers[a]; ps != nil && !ps.seen.IsZero() {
			pt.Height, pt.Tip, pt.Seen = ps.height, ps.tip, ps.seen.UnixMilli()
		}
		out = append(out, pt)
	}
	return out
}
