package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

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
	Received uint64 `json:"received"`       // Unix ms when this node stored it
	From     string `json:"from,omitempty"` // the peer it was pulled from; "" when added here
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
	if e.From != "" {
		dst = append(dst, `,"from":`...)
		dst = chain.AppendString(dst, e.From)
	}
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
	_, err := d.AddPendingAt(ctx, entries)
	return err
}

// PendingWrite says where an AddPendingAt put its entries: the bytes
// [Start, End) of the file, each entry one whole line. A follower that has
// read up to Start can take the entries without reading them back (see
// PendingSet.Apply).
type PendingWrite struct {
	File       os.FileInfo
	Start, End int64
	Entries    []PendingEntry
}

// AddPendingAt is AddPending that also says where the entries went; Start
// is -1 when the write also ended a torn line, which a follower must read.
func (d *Dir) AddPendingAt(ctx context.Context, entries []PendingEntry) (PendingWrite, error) {
	w := PendingWrite{Start: -1, Entries: entries}
	if len(entries) == 0 {
		return w, nil
	}
	var buf []byte
	for i := range entries {
		if err := entries[i].Validate(); err != nil {
			return w, err
		}
		buf = append(entries[i].AppendJSON(buf), '\n')
	}
	l, err := d.lock(ctx, PendingLock, true, d.lockWait)
	if err != nil {
		return w, err
	}
	defer l.Unlock()
	_, statErr := os.Lstat(d.File(PendingFile))
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := d.openFile(PendingFile, os.O_CREATE|os.O_RDWR|os.O_APPEND, FileMode)
	if err != nil {
		return w, fmt.Errorf("open pending log: %w", err)
	}
	defer f.Close()
	// A crash may have left a partial last line; start on a fresh line so
	// that only that (never acknowledged) entry is lost.
	whole := true
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		var last [1]byte
		if _, rerr := f.ReadAt(last[:], st.Size()-1); rerr == nil && last[0] != '\n' {
			buf = append([]byte{'\n'}, buf...)
			whole = false
		}
	}
	if _, err := f.Write(buf); err != nil {
		return w, fmt.Errorf("append to pending log: %w", err)
	}
	if err := syncData(f); err != nil {
		return w, fmt.Errorf("fsync pending log: %w", err)
	}
	// With O_APPEND the write went to the end, whatever other appenders
	// did, and the offset is now just past it.
	if end, err := f.Seek(0, io.SeekCurrent); err == nil && whole {
		if st, err := f.Stat(); err == nil {
			w.File, w.Start, w.End = st, end-int64(len(buf)), end
		}
	}
	if created {
		return w, syncDir(d.path)
	}
	return w, nil
}

// maxPendingLine bounds a line of the pending log: a message of
// chain.MaxMessageBytes escaped at worst, with its id, time and origin.
const maxPendingLine = 6*chain.MaxMessageBytes + 1024

// PendingLog follows the pending log incrementally: each Read returns the
// entries appended since the previous one, and starts over (reset true) when
// the log was compacted (replaced). A line that is not an entry (too long,
// not JSON, an id not bound to its message) is skipped and remembered as
// damage, with its real line number and offset; the next compaction moves
// it into torn/. A partial last line (a write in progress, or torn by a
// crash) is left for a later Read.
type PendingLog struct {
	d      *Dir
	f      *os.File
	off    int64
	line   int // complete lines consumed
	damage []PendingDamage
}

// PendingDamage is a line of the pending log that is not an entry.
type PendingDamage struct {
	Line   int   // 1-based line number in the file
	Offset int64 // byte offset of the line
	Length int64 // its length, newline included
	Err    error
}

func (d PendingDamage) Error() string {
	return fmt.Sprintf("%s line %d (byte offset %d, %d bytes) is not a pending entry: %v", PendingFile, d.Line, d.Offset, d.Length, d.Err)
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

// Skipped returns how many damaged lines were skipped since the last reset.
func (p *PendingLog) Skipped() int { return len(p.damage) }

// Damage returns the damaged lines skipped since the last reset.
func (p *PendingLog) Damage() []PendingDamage { return p.damage }

func (p *PendingLog) restart() {
	p.Close()
	p.off, p.line, p.damage = 0, 0, nil
}

// Skip takes the entries of w as read, without reading them, when w
// starts exactly where this log has read up to in the same file (no other
// appender wrote in between); false means the caller must Read.
func (p *PendingLog) Skip(w PendingWrite) bool {
	if p.f == nil || w.Start < 0 || w.Start != p.off || w.File == nil {
		return false
	}
	if st, err := p.f.Stat(); err != nil || !os.SameFile(st, w.File) {
		return false
	}
	p.off = w.End
	p.line += len(w.Entries)
	return true
}

// Behind reports whether the log holds more than has been read (or was
// replaced): one stat, to decide whether a Read is needed.
func (p *PendingLog) Behind() bool {
	cur, err := os.Lstat(p.d.File(PendingFile))
	if err != nil || p.f == nil {
		return true
	}
	st, err := p.f.Stat()
	return err != nil || !os.SameFile(st, cur) || cur.Size() != p.off
}

// Read returns new entries; reset is true when they are the whole log
// again (after a compaction), so the caller must forget what it had.
func (p *PendingLog) Read() (entries []PendingEntry, reset bool, err error) {
	path := p.d.File(PendingFile)
	cur, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		if p.f != nil || p.off > 0 {
			p.restart()
			return nil, true, nil
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if p.f != nil {
		if st, err := p.f.Stat(); err != nil || !os.SameFile(st, cur) || cur.Size() < p.off {
			reset = p.off > 0
			p.restart()
		}
	}
	if p.f == nil {
		f, err := p.d.openRead(PendingFile)
		if err != nil {
			return nil, reset, err
		}
		p.f = f
	}
	if _, err := p.f.Seek(p.off, io.SeekStart); err != nil {
		return nil, reset, err
	}
	lr := chain.NewLineReaderSize(p.f, maxPendingLine)
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
		var pe *chain.ParseError
		if errors.As(err, &pe) {
			if serr := lr.SkipLong(); serr != nil {
				if errors.As(serr, &tail) {
					break // the long line is not complete yet
				}
				return entries, reset, serr
			}
		} else if err != nil {
			return entries, reset, fmt.Errorf("read %s: %w", path, err)
		}
		p.off = base + lr.End()
		p.line++
		if err == nil && len(line) == 0 {
			continue
		}
		var e PendingEntry
		if err == nil {
			e, err = ParsePendingLine(line)
		}
		if err != nil {
			dmg := PendingDamage{Line: p.line, Offset: base + lr.Offset(), Length: lr.End() - lr.Offset(), Err: err}
			p.damage = append(p.damage, dmg)
			p.d.log.Warn("skipping a line of the pending log that is not an entry; the next compaction moves it into "+TornDir, "error", dmg.Error())
			continue
		}
		entries = append(entries, e)
	}
	return entries, reset, nil
}

// CompactPending rewrites the pending log without the entries for which the
// keep function returns false (and without repeated ids), atomically and
// under the exclusive pending lock; damaged lines are copied into torn/
// first. decide is called under that lock to get keep, so that it judges
// against the chain as it is then. It returns how many entries were kept
// and dropped.
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
	defer log.Close()
	entries, _, err := log.Read()
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
	for _, dmg := range log.Damage() {
		if err := d.quarantine(log.f, dmg); err != nil {
			return 0, 0, err
		}
	}
	if err := d.WriteFileAtomic(PendingFile, buf, FileMode); err != nil {
		return 0, 0, err
	}
	d.log.Debug("compacted the pending log", "kept", kept, "dropped", dropped, "quarantined", log.Skipped())
	return kept, dropped, nil
}

// quarantine copies a damaged line of the pending log into torn/, durably.
func (d *Dir) quarantine(f *os.File, dmg PendingDamage) error {
	name := filepath.Join(TornDir, fmt.Sprintf("%s.%s.line-%d", PendingFile, time.Now().UTC().Format("20060102T150405.000000000Z"), dmg.Line))
	sec := io.NewSectionReader(f, dmg.Offset, dmg.Length)
	if err := d.CopyAtomic(name, sec, dmg.Length); err != nil {
		return fmt.Errorf("quarantine %s line %d: %w", PendingFile, dmg.Line, err)
	}
	d.log.Warn("moved a damaged line of the pending log aside", "line", dmg.Line, "offset", dmg.Offset, "to", d.File(name), "reason", dmg.Err.Error())
	return nil
}
