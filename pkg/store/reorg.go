package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/validate"
)

// ReorgSpec describes a replacement of the chain: the blocks up to and
// including Base stay, the rest is replaced by Lines.
type ReorgSpec struct {
	// Prev is the tip the caller decided on: the chain is replaced only if
	// it is still the tip.
	Prev chain.Hash
	// Base is the last block kept and Keep the length of the file up to
	// the end of its line (the genesis and its line length to replace
	// every block).
	Base chain.Summary
	Keep int64
	// Lines are the new blocks after Base, one canonical line each. Their
	// format and links are checked here; their proofs of work are the
	// caller's business (checked before it calls).
	Lines io.Reader
	// Aside, when set, is the name in the directory (such as
	// backups/node_<time>-before-restore.chain) where the current chain is
	// copied first, durably.
	Aside string
	// Cause says why, for the reorg record (ReorgsFile); Origin is where
	// the new blocks came from (see AppendFrom).
	Cause, Origin string
}

// ReorgResult says what a reorg did.
type ReorgResult struct {
	Dropped  uint64 // blocks of the old chain after Base
	Added    uint64 // blocks of Lines
	Repended int    // messages of dropped blocks put back into pending
	Tip      chain.Summary
}

// Reorg replaces the chain as spec says, atomically, and first puts back
// into pending every message of the dropped blocks that the new blocks do
// not carry, so that nothing acknowledged is ever lost: a crash before the
// swap leaves the old chain (and harmless pending duplicates of mined
// messages), a crash after leaves the new chain with the messages pending.
// It holds the shared pending lock throughout, so no compaction can judge
// the re-pended messages against the old chain and drop them. It is how
// bc-gossip adopts a fork and how bc-backup restores a backup.
func (d *Dir) Reorg(ctx context.Context, spec ReorgSpec) (ReorgResult, error) {
	var res ReorgResult
	hold, err := d.HoldPending(ctx)
	if err != nil {
		return res, err
	}
	defer hold.Unlock()
	err = d.withTip(ctx, spec.Prev, func(f *os.File, tip chain.Summary, end int64) error {
		if err := checkKeep(f, spec.Keep, end, spec.Base); err != nil {
			return err
		}
		if spec.Aside != "" {
			if err := d.CopyAtomic(spec.Aside, f, end); err != nil {
				return fmt.Errorf("keep the current chain aside: %w", err)
			}
		}
		tmp, err := d.CreateAtomic(ChainFile, FileMode)
		if err != nil {
			return err
		}
		defer tmp.Abort()
		if err := copyPrefix(tmp, f, spec.Keep); err != nil {
			return fmt.Errorf("reorg: %w", err)
		}
		var newBlocks recentBlocks
		ids, last, added, err := d.writeChecked(tmp, spec.Base, spec.Lines, newBlocks.add)
		if err != nil {
			return err
		}
		var oldBlocks recentBlocks
		back, dropped, err := droppedMessages(f, spec.Keep, end, ids, oldBlocks.add)
		if err != nil {
			return err
		}
		if err := d.AddPending(ctx, back); err != nil {
			return fmt.Errorf("reorg: re-pend the messages of dropped blocks: %w", err)
		}
		if err := tmp.Commit(); err != nil {
			return err
		}
		res = ReorgResult{Dropped: dropped, Added: added, Repended: len(back), Tip: last}
		d.originsOf(oldBlocks.first)
		d.noteOriginsOf(newBlocks.last, spec.Origin)
		d.noteReorg(reorgRecord(spec, tip, res, &oldBlocks, &newBlocks, back))
		return nil
	})
	if err == nil && res.Repended > 0 {
		d.log.Info("messages of dropped blocks went back to pending", "messages", res.Repended, "dropped_blocks", res.Dropped)
	}
	return res, err
}

// checkKeep makes sure the first keep bytes of f end with base's line.
func checkKeep(f *os.File, keep, end int64, base chain.Summary) error {
	if keep <= 0 || keep > end {
		return fmt.Errorf("reorg: keep %d bytes of a %d-byte chain", keep, end)
	}
	line, _, _, err := tailOf(f, keep)
	if err != nil {
		return err
	}
	var s chain.Summary
	var p chain.Parser
	if err := p.ParseSummary(line, &s); err != nil || s.Hash != base.Hash {
		return fmt.Errorf("reorg: byte %d does not end block %d", keep, base.Index)
	}
	return nil
}

// writeChecked copies the lines of src to w, checking their format and
// links after base, and returns the ids they carry, the last block and
// how many there were.
func (d *Dir) writeChecked(w io.Writer, base chain.Summary, src io.Reader, seen func(*chain.Summary)) (map[[16]byte]struct{}, chain.Summary, uint64, error) {
	g, err := d.genesisOf()
	if err != nil {
		return nil, base, 0, err
	}
	c := validate.NewCheckerAfter(validate.Options{}, g.Params, g.Hash, base)
	ids := map[[16]byte]struct{}{}
	bw := bufio.NewWriterSize(w, 1<<20)
	lr := chain.NewLineReader(src)
	var n uint64
	for {
		line, err := lr.Next()
		if err == io.EOF {
			break
		}
		var sum *chain.Summary
		if err == nil {
			sum, err = c.Check(int(base.Index)+1+lr.Line(), line)
		}
		if err != nil {
			return nil, base, 0, fmt.Errorf("refusing to write an invalid block: %w", err)
		}
		seen(sum)
		p := c.Parser()
		for m := 0; m < p.NumMessages(); m++ {
			if id, ok := chain.ParseID(p.ID(m)); ok {
				ids[id] = struct{}{}
			}
		}
		_, _ = bw.Write(line)
		if err := bw.WriteByte('\n'); err != nil {
			return nil, base, 0, fmt.Errorf("reorg: write: %w", err)
		}
		n++
	}
	if err := bw.Flush(); err != nil {
		return nil, base, 0, fmt.Errorf("reorg: write: %w", err)
	}
	return ids, c.Last(), n, nil
}

// droppedMessages reads the blocks of f between keep and end (the blocks a
// reorg drops) and returns their messages that are not in kept, as pending
// entries, and how many blocks there were.
func droppedMessages(f *os.File, keep, end int64, kept map[[16]byte]struct{}, seen func(*chain.Summary)) ([]PendingEntry, uint64, error) {
	lr := chain.NewLineReader(io.NewSectionReader(f, keep, end-keep))
	var back []PendingEntry
	var blocks uint64
	var p chain.Parser
	var b chain.Block
	now := uint64(time.Now().UnixMilli())
	for {
		line, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return back, blocks, nil
		}
		if err == nil {
			err = p.Parse(line, &b)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("reorg: read a dropped block: %w", err)
		}
		blocks++
		seen(&chain.Summary{Header: chain.Header{Index: b.Index, Timestamp: b.Timestamp}, Hash: b.Hash, Messages: len(b.Data)})
		for _, m := range b.Data {
			id, _ := chain.ParseID([]byte(m.ID))
			if _, ok := kept[id]; !ok {
				back = append(back, PendingEntry{ID: m.ID, Message: m.Text, Received: now})
			}
		}
	}
}

// recentBlocks keeps the first maxBriefBlocks blocks a reorg drops or
// adds, for its record, and the last originsKept, whose origins are noted.
type recentBlocks struct {
	first []BlockBrief
	last  []chain.Summary // a ring once full
	n     int
}

const originsKept = 4096

func (r *recentBlocks) add(s *chain.Summary) {
	if len(r.first) < maxBriefBlocks {
		r.first = append(r.first, brief(s))
	}
	c := *s
	c.Params = nil
	if len(r.last) < originsKept {
		r.last = append(r.last, c)
	} else {
		r.last[r.n%originsKept] = c
	}
	r.n++
}

// reorgRecord describes a reorg that has happened.
func reorgRecord(spec ReorgSpec, oldTip chain.Summary, res ReorgResult, dropped, added *recentBlocks, back []PendingEntry) ReorgRecord {
	r := ReorgRecord{
		Time: time.Now().UnixMilli(), Cause: spec.Cause,
		Base: brief(&spec.Base), OldTip: brief(&oldTip), NewTip: brief(&res.Tip),
		Dropped: dropped.first, DroppedCount: res.Dropped,
		Added: added.first, AddedCount: res.Added, RependedCount: len(back),
	}
	for i := range r.Added {
		r.Added[i].Origin = spec.Origin
	}
	for _, e := range back[:min(len(back), maxBriefIDs)] {
		r.Repended = append(r.Repended, e.ID)
	}
	return r
}
