package peer

import (
	"context"
	"fmt"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// maxForkPull bounds the blocks of a tied fork read for its messages.
const maxForkPull = 1000

// tie is a standing tie with a neighbour whose fork was proved.
type tie struct {
	ours, theirs chain.Hash
	since        time.Time
}

// tieWith handles a peer whose chain has as much work as ours with
// another tip. Fork choice keeps ours; but first the peer must prove its
// fork: serve its blocks from the common ancestor to the tip it claims,
// with valid proofs of work. Then the messages only its fork carries are
// taken as pending (so that the next block, ours or theirs, carries them),
// and if the tie lasts, the side SettlesTie names asks its miner for one
// empty block. A peer that cannot prove its claim is scored, and never
// makes this node mine.
func (g *Gossiper) tieWith(ctx context.Context, b *budget, p target, theirs validate.Tip) error {
	lines, err := g.proveFork(ctx, p, theirs)
	if err != nil {
		return err
	}
	b.progress()
	n, err := g.takeForkMessages(ctx, p, lines)
	if err != nil || n > 0 {
		return err
	}
	g.settleTie(p.addr, theirs.Hash)
	return nil
}

// proveFork fetches p's fork from the common ancestor to theirs and checks
// it (proofs included) and that it ends at the claimed tip and height.
func (g *Gossiper) proveFork(ctx context.Context, p target, theirs validate.Tip) ([][]byte, error) {
	mine := g.view.Tip()
	ancestor, err := g.findAncestor(ctx, p, mine.Index)
	if err != nil {
		return nil, err
	}
	if theirs.Height <= ancestor {
		return nil, fmt.Errorf("%w: our chain grew past the tie", errMoved)
	}
	if mine.Index-ancestor > maxForkPull {
		return nil, fmt.Errorf("tied fork of %d blocks is too deep to read", mine.Index-ancestor)
	}
	lines, sums, _, err := g.page(ctx, p, ancestor)
	if err != nil {
		return nil, err
	}
	if uint64(len(lines)) < theirs.Height-ancestor || len(sums) == 0 || sums[theirs.Height-ancestor-1].Hash != theirs.Hash {
		return nil, unproven("claims a tied tip %.16s… at height %d that it does not serve", theirs.Hash, theirs.Height)
	}
	lines = lines[:theirs.Height-ancestor]
	base, err := g.view.Summary(ancestor)
	if err != nil {
		return nil, err
	}
	// Only valid blocks, proofs included: otherwise anyone could fill our
	// pending log, or make us mine, with forged forks for free.
	if err := g.checkAfter(ctx, base, lines); err != nil {
		return nil, invalid("%v", err)
	}
	return lines, nil
}

// takeForkMessages stores as pending the messages of a proved fork's
// blocks that the local chain lacks, and returns how many.
func (g *Gossiper) takeForkMessages(ctx context.Context, p target, lines [][]byte) (int, error) {
	var msgs []store.PendingEntry
	var b chain.Block
	var parser chain.Parser
	for _, l := range lines {
		if parser.Parse(l, &b) != nil {
			return 0, invalid("unparsable block")
		}
		for _, m := range b.Data {
			msgs = append(msgs, store.PendingEntry{ID: m.ID, Message: m.Text})
		}
	}
	n, err := g.takePending(ctx, p.addr, msgs, len(msgs), 1<<30)
	if n > 0 {
		g.log.Info("took the messages of a tied fork as pending", "peer", p.addr, "messages", n)
	}
	return n, err
}

// settleTie asks the miner for an empty block when a tie with a proved
// fork has lasted two sync rounds and SettlesTie names this node: exactly
// one side acts, and the other then adopts the longer chain. (The
// fork-choice rule itself stays: a tie keeps the local chain.)
func (g *Gossiper) settleTie(peer node.Addr, theirs chain.Hash) {
	ours := g.view.Tip().Hash
	g.mu.Lock()
	ps := g.peerLocked(peer)
	t := ps.tie
	if t == nil || t.ours != ours || t.theirs != theirs {
		ps.tie = &tie{ours: ours, theirs: theirs, since: time.Now()}
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	if time.Since(t.since) < 2*g.cfg.SyncEvery || !validate.SettlesTie(ours, theirs) {
		return
	}
	if tip, ok := g.dir.Tiebreak(); ok && tip == ours {
		return // asked already
	}
	g.log.Info("a tie with a neighbour lasts; asking the miner for an empty block to settle it", "peer", peer, "ours", ours.String(), "theirs", theirs.String())
	if err := g.dir.RequestTiebreak(ours); err != nil {
		g.log.Warn("cannot ask for a tie-break block", "error", err)
	}
}

// forgetTie drops a standing tie with peer.
func (g *Gossiper) forgetTie(peer node.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.peerLocked(peer).tie = nil
}
