package peer

import (
	"context"
	"strconv"
	"time"

	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
)

// pullData is the seed's unprocessed-data job: take the neighbours' pending
// messages that are neither in the chain nor pending here, within bounds:
// per peer and pull (PullMessages, PullBytes), and in all (the peers' share
// of the pending set, MaxPulledMessages and MaxPulledBytes, so that a flood
// from peers never fills the room bc-serve keeps for local clients).
func (g *Gossiper) pullData(ctx context.Context) {
	if _, _, err := g.view.Refresh(); err != nil {
		return
	}
	for _, n := range g.neighbours() {
		if ctx.Err() != nil || g.peersShareFull() {
			return
		}
		var doc struct {
			Data []store.PendingEntry `json:"data"`
		}
		path := "/data?limit=" + strconv.Itoa(g.cfg.PullMessages)
		if err := g.client.get(ctx, n.addr, n.trust, path, maxDataBytes, &doc); err != nil {
			g.log.Debug("pending data not fetched", "peer", n.addr, "error", err)
			continue
		}
		if _, err := g.takePending(ctx, n.addr, doc.Data, g.cfg.PullMessages, g.cfg.PullBytes); err != nil {
			g.log.Warn("cannot store pending data from a peer", "peer", n.addr, "error", err)
			return
		}
	}
}

// refreshPending brings the pending set up to date (g.pmu held).
func (g *Gossiper) refreshPendingLocked() {
	if _, err := g.pending.Refresh(0); err != nil {
		g.log.Warn("cannot read the pending log", "error", err)
	}
}

// peersShareFull reports whether messages pulled from peers fill their
// share of the pending set.
func (g *Gossiper) peersShareFull() bool {
	g.pmu.Lock()
	defer g.pmu.Unlock()
	g.refreshPendingLocked()
	c := g.pending.Counts()
	full := c.PeerMessages >= g.cfg.MaxPulledMessages || c.PeerBytes >= g.cfg.MaxPulledBytes
	if full {
		g.log.Warn("the messages pulled from peers fill their share of the pending set; taking no more until they are mined",
			"messages", c.PeerMessages, "bytes", c.PeerBytes)
	}
	return full
}

// takePending stores the entries a peer offered that are valid (ids bound
// to their text), new here and in the chain, up to maxCount messages and
// maxBytes of text from this peer, and within the peers' share. It returns
// how many it stored.
func (g *Gossiper) takePending(ctx context.Context, from node.Addr, offered []store.PendingEntry, maxCount, maxBytes int) (int, error) {
	g.pmu.Lock()
	g.refreshPendingLocked()
	c := g.pending.Counts()
	roomCount := min(maxCount, g.cfg.MaxPulledMessages-c.PeerMessages)
	roomBytes := min(maxBytes, g.cfg.MaxPulledBytes-c.PeerBytes)
	now := uint64(time.Now().UnixMilli())
	var fresh []store.PendingEntry
	seen := map[string]bool{}
	size := 0
	for _, e := range offered {
		if len(fresh) >= roomCount {
			break
		}
		if e.Validate() != nil || seen[e.ID] || g.pending.Has(e.ID) || g.view.HasID(e.ID) {
			continue
		}
		if size+len(e.Message) > roomBytes {
			break
		}
		seen[e.ID] = true
		size += len(e.Message)
		fresh = append(fresh, store.PendingEntry{ID: e.ID, Message: e.Message, Received: now, From: string(from)})
	}
	g.pmu.Unlock()
	if len(fresh) == 0 {
		return 0, nil
	}
	if err := g.dir.AddPending(ctx, fresh); err != nil {
		return 0, err
	}
	g.mu.Lock()
	g.stats.PendingPulled += uint64(len(fresh))
	g.mu.Unlock()
	g.log.Debug("pulled pending messages", "peer", from, "messages", len(fresh), "bytes", size)
	return len(fresh), nil
}
