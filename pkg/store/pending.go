package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bc-chain/bc/pkg/chain"
)

// PendingEntry is a message waiting to be mined: one line of the pending
// log. The log is append-only; an entry stops being pending once a block of
// the chain carries its id, and compaction drops such entries later. So a
// message leaves the pending set exactly when its block is on disk, and a
// crash at any point loses nothing.
type PendingEntry struct {
	ID       string `json:"id"`
	Message  string `json:"message"`
	Received uint64 `json:"received"` // Unix ms when this node stored it
}

// Validate checks the message and that its id is bound to it.
func (e *PendingEntry) Validate() error {
	if err := chain.CheckMessage(e.Message); err != nil {
		return err
	}
	if err := chain.CheckMessageID(e.ID, e.Message); err != nil {
		return fmt.Errorf("message id %.40q: %w", e.ID, err)
	}
	return nil
}

// AppendJSON appends the entry's line (without newline).
func (e *PendingEntry) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = chain.AppendString(dst, e.ID)
	dst = append(dst, `,"message":`...)
	dst = chain.AppendString(dst, e.Message)
	dst = append(dst, `,"received":`...)
	dst = strconv.AppendUint(dst, e.Received, 10)
	return append(dst, '}')
}

// ParsePendingLine parses one line of the pending log.
func ParsePendingLine(line []byte) (PendingEntry, error) {
	var e PendingEntry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, err
	}
	if dec.More() {
		return e, errors.New("data after the entry")
	}
	return e, e.Validate()
}

// HoldPending takes the shared pending lock: while it is held no compaction
// runs. A reorg holds it from re-pending the messages of the blocks it drops
// until the chain is replaced, so that a compaction cannot judge those
// messages by the old chain and drop them.
func (d *Dir) HoldPending(ctx context.Context) (*Lock, error) {
	return d.lock(ctx, PendingLock, true, d.lockWait)
}

// AddPending appends entries to the pending log and returns once they are
// on disk (one write and one fdatasync for the whole batch).
func (d *Dir) AddPending(ctx context.Context, entries []PendingEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var buf []byte
	for i := range entries {
		if err := entries[i].Validate(); err != nil {
			return err
		}
		buf = append(entries[i].AppendJSON(buf), '\n')
	}
	l, err := d.lock(ctx, PendingLock, true, d.lockWait)
	if err != nil {
		return err
	}
	defer l.Unlock()
	path := d.File(PendingFile)
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, FileMode)
	if err != nil {
		return fmt.Errorf("open pending log: %w", err)
	}
	defer f.Close()
	// A crash may have left a partial last line; start on a fresh line so
	// that only that (never acknowledged) entry is lost.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		var last [1]byte
		if rf, err := os.Open(path); err == nil {
			_, rerr := rf.ReadAt(last[:], st.Size()-1)
			rf.Close()
			if rerr == nil && last[0] != '\n' {
				buf = append([]byte{'\n'}, buf...)
			}
		}
	}
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("append to pending log: %w", err)
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("fsync pending log: %w", err)
	}
	if created {
		return syncDir(d.path)
	}
	return nil
}

// PendingLog follows the pending log incrementally: each Read returns the
// entries appended since the previous one, and starts over (Reset true) when
// the log was compacted (replaced). Lines that do not parse, such as a
// partial line left by a crash, are skipped and counted.
type PendingLog struct {
	d       *Dir
	f       *os.File
	off     int64
	skipped int
}

// FollowPending returns a PendingLog positioned at the start of the log.
func (d *Dir) FollowPending() *PendingLog { return &PendingLog{d: d} }

// Close releases the open file.
func (p *PendingLog) Close() {
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
}

// Skipped returns how many unreadable lines were skipped so far.
func (p *PendingLog) Skipped() int { return p.skipped }

// Read returns new entries; reset is true when they are the whole log
// again (after a compaction), so the caller must forget what it had.
func (p *PendingLog) Read() (entries []PendingEntry, reset bool, err error) {
	path := p.d.File(PendingFile)
	cur, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		if p.f != nil || p.off > 0 {
			p.Close()
			p.off = 0
			return nil, true, nil
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if p.f != nil {
		if st, err := p.f.Stat(); err != nil || !os.SameFile(st, cur) || cur.Size() < p.off {
			p.Close()
			reset = p.off > 0
			p.off = 0
		}
	}
	if p.f == nil {
		f, err := os.Open(path)
		if err != nil {
			return nil, reset, err
		}
		p.f = f
	}
	if _, err := p.f.Seek(p.off, io.SeekStart); err != nil {
		return nil, reset, err
	}
	lr := chain.NewLineReaderSize(p.f, 6*chain.MaxMessageBytes+256)
	base := p.off
	for {
		line, err := lr.Next()
		if err == io.EOF {
			break
		}
		var tail *chain.TailError
		if errors.As(err, &tail) {
			break // a line being written, or a torn one: look again later
		}
		if err != nil {
			var pe *chain.ParseError
			if !errors.As(err, &pe) {
				return entries, reset, err
			}
			// An over-long line cannot be skipped safely by this reader.
			return entries, reset, fmt.Errorf("pending log %s: %w", path, err)
		}
		p.off = base + lr.End()
		if len(line) == 0 {
			continue
		}
		e, perr := ParsePendingLine(line)
		if perr != nil {
			p.skipped++
			p.d.log.Warn("skipping an unreadable line of the pending log", "line", lr.Line(), "error", perr)
			continue
		}
		entries = append(entries, e)
	}
	return entries, reset, nil
}

// CompactPending rewrites the pending log without the entries for which the
// keep function returns false (and without repeated ids), atomically and
// under the exclusive pending lock. decide is called under that lock to get
// keep, so that it judges against the chain as it is then. It returns how
// many entries were kept and dropped.
func (d *Dir) CompactPending(ctx context.Context, decide func() (func(PendingEntry) bool, error)) (kept, dropped int, err error) {
	l, err := d.lock(ctx, PendingLock, false, d.lockWait)
	if err != nil {
		return 0, 0, err
	}
	defer l.Unlock()
	keep, err := decide()
	if err != nil {
		return 0, 0, err
	}
	log := d.FollowPending()
	entries, _, err := log.Read()
	log.Close()
	if err != nil {
		return 0, 0, err
	}
	seen := make(map[string]bool, len(entries))
	var buf []byte
	for i := range entries {
		e := &entries[i]
		if seen[e.ID] || !keep(*e) {
			dropped++
			continue
		}
		seen[e.ID] = true
		kept++
		buf = append(e.AppendJSON(buf), '\n')
	}
	if dropped == 0 && log.Skipped() == 0 {
		return kept, 0, nil
	}
	if err := d.WriteFileAtomic(PendingFile, buf, FileMode); err != nil {
		return 0, 0, err
	}
	d.log.Debug("compacted the pending log", "kept", kept, "dropped", dropped, "at", time.Now())
	return kept, dropped, nil
}
