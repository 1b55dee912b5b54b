package peer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// inboxLoop applies the announcements bc-serve hands over, as they arrive.
// It runs beside the syncs, so that an announced block is taken at once
// whatever a slow peer's sync is doing.
func (g *Gossiper) inboxLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.inbox:
		}
		g.processInbox(ctx)
	}
}

// maxInboxFile bounds an announcement file (bc-serve writes at most its
// max_announce_bytes plus a little).
const maxInboxFile = 8 << 20

// processInbox reads and removes every announcement of the inbox: blocks
// that extend the tip are checked and appended at once; an announcement
// that does not connect starts a sync with its sender (at most one per
// AnnounceEvery and sender), or with every neighbour when the sender is
// not one (at most once per AnnounceEvery).
func (g *Gossiper) processInbox(ctx context.Context) {
	dir, err := g.dir.Subdir(store.InboxDir)
	if err != nil {
		g.log.Warn("cannot read the inbox", "error", err)
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return
		}
		if !strings.HasPrefix(e.Name(), "announce-") || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := g.dir.ReadFile(filepath.Join(store.InboxDir, e.Name()))
		_ = os.Remove(filepath.Join(dir, e.Name()))
		if err != nil || len(data) > maxInboxFile {
			continue
		}
		var a node.Announcement
		if json.Unmarshal(data, &a) != nil || a.Check() != nil || a.Genesis != g.genesis {
			continue
		}
		g.noteInbound(a)
		g.takeAnnouncement(ctx, a)
	}
}

// takeAnnouncement applies one announcement, or asks for a sync.
func (g *Gossiper) takeAnnouncement(ctx context.Context, a node.Announcement) {
	if _, _, err := g.view.Refresh(); err != nil {
		return
	}
	mine := g.view.Tip()
	theirs := validate.Tip{Genesis: a.Genesis, Height: a.Height, Hash: a.Hash}
	if validate.Compare(g.localTip(mine), theirs) != validate.Adopt {
		return
	}
	if g.applyAnnounced(ctx, a) {
		return
	}
	// The announced blocks did not connect: fetch from the announcer if it
	// is a neighbour, else from every neighbour.
	sender := a.From
	if sender == "" || !g.isNeighbour(sender) {
		sender = ""
	}
	g.syncSoon(sender)
}

// localTip is mine as fork choice sees it.
func (g *Gossiper) localTip(mine chain.Summary) validate.Tip {
	return validate.Tip{Genesis: g.genesis, Height: mine.Index, Hash: mine.Hash}
}

// syncSoon asks for a sync with sender ("" for every neighbour) because of
// an announcement, at most once per AnnounceEvery for each: a sync asked
// for sooner is deferred to the end of that interval, never dropped, so
// that announcements cannot make this node sync without end and an honest
// one is never lost.
func (g *Gossiper) syncSoon(sender node.Addr) {
	now := time.Now()
	g.mu.Lock()
	last, deferred := &g.lastAll, &g.allDeferred
	if sender != "" {
		ps := g.peerLocked(sender)
		last, deferred = &ps.lastAnnounceSync, &ps.deferred
	}
	wait := g.cfg.AnnounceEvery - now.Sub(*last)
	switch {
	case wait <= 0:
		*last = now
		g.mu.Unlock()
		g.requestSync(sender)
	case !*deferred:
		*deferred = true
		g.mu.Unlock()
		time.AfterFunc(wait, func() {
			g.mu.Lock()
			*deferred, *last = false, time.Now()
			g.mu.Unlock()
			g.requestSync(sender)
		})
	default:
		g.mu.Unlock() // one is deferred already
	}
}

func (g *Gossiper) isNeighbour(a node.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.book.IsNeighbour(a)
}

// applyAnnounced appends announced blocks that extend the local tip, after
// checking them. It reports whether the chain now has the announced tip.
func (g *Gossiper) applyAnnounced(ctx context.Context, a node.Announcement) bool {
	tip := g.view.Tip()
	var lines [][]byte
	var s chain.Summary
	var p chain.Parser
	for _, b := range a.Blocks {
		if p.ParseSummary([]byte(b), &s) != nil {
			return false
		}
		if s.Index <= tip.Index {
			continue
		}
		if len(lines) == 0 && (s.Index != tip.Index+1 || s.PrevHash != tip.Hash) {
			return false // does not connect: the caller syncs instead
		}
		lines = append(lines, []byte(b))
	}
	if len(lines) == 0 {
		return false
	}
	from := string(a.From)
	if from == "" {
		from = string(a.Remote)
	}
	n, err := g.checkAndAppend(ctx, tip, lines, store.OriginPeer(from)+" (announced)")
	if err != nil {
		g.log.Debug("announced blocks not taken", "from", a.From, "remote", a.Remote, "error", err)
		return false
	}
	g.log.Debug("took announced blocks", "from", a.From, "blocks", n, "height", g.view.Height())
	return g.view.Tip().Hash == a.Hash
}
