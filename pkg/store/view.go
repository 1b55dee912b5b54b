package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/validate"
)

// ViewOptions choose the indexes a View keeps.
type ViewOptions struct {
	// IDs indexes message ids (id → block), for "is this message mined?".
	IDs bool
	// Hashes indexes block hashes (hash → block), for lookups by hash.
	Hashes bool
}

// View is an in-memory index of the chain file that follows it as it grows
// or is replaced, so that requests never rescan the file. It needs no lock:
// it consumes complete lines only, checks each with the format and link
// rules, and reads block lines back from the file it indexed. A replaced
// chain file is read again from the start.
type View struct {
	d    *Dir
	opts ViewOptions

	mu      sync.RWMutex
	f       *os.File
	end     int64 // bytes consumed: the end of the last good line
	offsets []int64
	hashes  []chain.Hash
	ids     map[[16]byte]uint32
	byHash  map[chain.Hash]uint32
	checker *validate.Checker
	stalled error // a complete line that failed the checks: we wait for a repair
	refused error // the file was replaced by a foreign one: we keep the old chain
	// tampered is set when the file changed in place where it was already
	// verified (see audit): blocks from that one on are not served.
	tampered *TamperError
	mtime    time.Time // of the file when last read whole or audited
	audited  time.Time
	gen      uint64 // counts the files indexed: a reload starts a new generation
}

// Change describes what a Refresh saw.
type Change struct {
	// Replaced is true when the file was replaced (or cut); Fork is then
	// the first index whose block is not the one indexed before.
	Replaced bool
	Fork     uint64
	// OldTip and Tip are the tip indexes before and after.
	OldTip, Tip uint64
}

// Appended reports whether blocks were added without a replacement.
func (c Change) Appended() bool { return !c.Replaced && c.Tip > c.OldTip }

// OpenView indexes the chain file. It returns an error wrapping ErrNoChain
// when the directory has no chain yet.
func (d *Dir) OpenView(opts ViewOptions) (*View, error) {
	v := &View{d: d, opts: opts}
	if _, _, err := v.Refresh(); err != nil {
		return nil, err
	}
	if len(v.offsets) == 0 {
		v.Close()
		if v.stalled != nil {
			return nil, fmt.Errorf("%s: %w", d.File(ChainFile), v.stalled)
		}
		return nil, fmt.Errorf("%s: %w", d.path, ErrNoChain)
	}
	return v, nil
}

// Close releases the file.
func (v *View) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.f != nil {
		v.f.Close()
		v.f = nil
	}
}

// Refresh reads what was appended since the last call, or the whole file
// again if it was replaced. changed is false when nothing happened.
func (v *View) Refresh() (Change, bool, error) {
	ch, changed, audit, err := v.refresh()
	if audit {
		v.audit()
	}
	return ch, changed, err
}

// refresh is Refresh without the audit, which it asks for (audit true)
// when the file changed without growing, or when the last audit is older
// than AuditEvery.
func (v *View) refresh() (ch Change, changed, audit bool, err error) {
	path := v.d.File(ChainFile)
	cur, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return Change{}, false, false, fmt.Errorf("%s: %w", v.d.path, ErrNoChain)
	}
	if err != nil {
		return Change{}, false, false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	defer func() {
		// An edit in place: the file has the size read, but another time.
		inPlace := cur.Size() == v.end && !cur.ModTime().Equal(v.mtime) && !changed
		audit = v.f != nil && err == nil && !ch.Replaced && (inPlace || time.Since(v.audited) > AuditEvery)
		if audit {
			v.mtime, v.audited = cur.ModTime(), time.Now()
		}
	}()
	ch, changed, err = v.follow(path, cur)
	return ch, changed, false, err
}

// follow reads what was appended, or the whole file again if it was
// replaced (v.mu held).
func (v *View) follow(path string, cur os.FileInfo) (Change, bool, error) {
	old := Change{OldTip: v.tipIndex()}
	replaced := v.f == nil
	if v.f != nil {
		st, err := v.f.Stat()
		if err != nil || !os.SameFile(st, cur) || cur.Size() < v.end {
			replaced = true
		}
	}
	if replaced {
		ch, changed, err := v.reload(path, old)
		if err == nil {
			v.mtime, v.audited, v.tampered = cur.ModTime(), time.Now(), nil // read whole: audited
		}
		return ch, changed, err
	}
	if cur.Size() == v.end {
		return Change{}, false, nil
	}
	before := len(v.offsets)
	if err := v.consume(); err != nil {
		return Change{}, false, err
	}
	// What we read is the whole file: its time now is the one an edit in
	// place would change (stat again: an append may have come meanwhile).
	if st, err := v.f.Stat(); err == nil && st.Size() == v.end {
		v.mtime = st.ModTime()
	}
	if len(v.offsets) == before {
		return Change{}, false, nil
	}
	return Change{OldTip: old.OldTip, Tip: v.tipIndex()}, true, nil
}

// ErrForeignChain is returned by Refresh when the chain file was replaced
// by one that has no valid genesis or another genesis than the chain the
// view follows: a directory never changes its chain, so the view keeps the
// chain it had and reports this until the file is put right.
var ErrForeignChain error = failure("the chain file was replaced by a foreign or damaged chain")

// failure is an error that means "the work failed" (exit code 1): a chain
// that does not verify, not an I/O problem.
type failure string

func (f failure) Error() string { return string(f) }

// Failure marks the error for the exit-code table (see cmdline.ExitCode).
func (f failure) Failure() bool { return true }

// reload indexes a new file from the start (v.mu held). If the new file
// does not start with the genesis the view had, the view keeps its old
// state (and file) and reload reports ErrForeignChain.
func (v *View) reload(path string, old Change) (Change, bool, error) {
	f, err := v.d.openRead(ChainFile)
	if err != nil {
		return Change{}, false, fmt.Errorf("open chain: %w", err)
	}
	n := &View{d: v.d, opts: v.opts, f: f, gen: v.gen + 1, checker: validate.NewChecker(validate.Options{Genesis: v.genesisOrZero()})}
	if v.opts.IDs {
		n.ids = make(map[[16]byte]uint32)
	}
	if v.opts.Hashes {
		n.byHash = make(map[chain.Hash]uint32)
	}
	if err := n.consume(); err != nil {
		f.Close()
		return Change{}, false, err
	}
	hadFile := v.f != nil
	if len(n.offsets) == 0 && hadFile {
		f.Close()
		why := n.stalled
		if why == nil {
			why = errors.New("no complete line")
		}
		v.refused = fmt.Errorf("%s: %w: %v", path, ErrForeignChain, why)
		return Change{}, false, v.refused
	}
	v.refused = nil
	oldHashes := v.hashes
	if v.f != nil {
		v.f.Close()
	}
	v.f, v.gen, v.checker, v.end, v.offsets, v.hashes, v.ids, v.byHash, v.stalled = n.f, n.gen, n.checker, n.end, n.offsets, n.hashes, n.ids, n.byHash, n.stalled
	ch := Change{Replaced: hadFile, OldTip: old.OldTip, Tip: v.tipIndex()}
	for ch.Fork < uint64(min(len(oldHashes), len(v.hashes))) && oldHashes[ch.Fork] == v.hashes[ch.Fork] {
		ch.Fork++
	}
	if hadFile && ch.Fork == uint64(len(oldHashes)) && len(v.hashes) >= len(oldHashes) {
		// Same blocks plus new ones: for readers that is an append.
		ch.Replaced = false
	}
	return ch, true, nil
}

// genesisOrZero returns the genesis of the chain indexed so far, or zero.
func (v *View) genesisOrZero() chain.Hash {
	if len(v.hashes) == 0 {
		return chain.Hash{}
	}
	return v.hashes[0]
}

// consume indexes complete lines from v.end on (v.mu held).
func (v *View) consume() error {
	if _, err := v.f.Seek(v.end, io.SeekStart); err != nil {
		return err
	}
	lr := chain.NewLineReader(v.f)
	base := v.end
	for {
		line, err := lr.Next()
		if err == io.EOF {
			return nil
		}
		var tail *chain.TailError
		if errors.As(err, &tail) {
			return nil // being written, or torn: a writer will finish or repair it
		}
		if err == nil {
			var s *chain.Summary
			s, err = v.checker.Check(len(v.offsets)+1, line)
			if err == nil {
				v.add(base+lr.Offset(), s)
				v.end = base + lr.End()
				continue
			}
		}
		if !isRuleError(err) && !isParseError(err) {
			return err
		}
		if v.stalled == nil || v.stalled.Error() != err.Error() {
			v.d.log.Warn("chain file has a bad line; serving the blocks before it", "error", err)
		}
		v.stalled = err
		return nil
	}
}

func (v *View) add(off int64, s *chain.Summary) {
	i := uint32(len(v.offsets))
	v.offsets = append(v.offsets, off)
	v.hashes = append(v.hashes, s.Hash)
	if v.byHash != nil {
		v.byHash[s.Hash] = i
	}
	if v.ids != nil {
		p := v.checker.Parser()
		for m := 0; m < p.NumMessages(); m++ {
			if id, ok := chain.ParseID(p.ID(m)); ok {
				if _, dup := v.ids[id]; !dup {
					v.ids[id] = i
				}
			}
		}
	}
	v.stalled = nil
}

func (v *View) tipIndex() uint64 {
	if len(v.offsets) == 0 {
		return 0
	}
	return uint64(len(v.offsets) - 1)
}

// Problem returns what keeps the view from following the chain file, if
// anything: a bad line after the tip (the view stops there and waits for a
// repair), or a replacement by a foreign chain (the view keeps its chain).
func (v *View) Problem() error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.refused != nil {
		return v.refused
	}
	if v.tampered != nil {
		return v.tampered
	}
	if v.stalled != nil {
		return fmt.Errorf("the chain file has a bad line after block %d: %w", v.tipIndex(), v.stalled)
	}
	return nil
}

// Height returns the index of the tip block.
func (v *View) Height() uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.tipIndex()
}

// Tip returns the last block's summary.
func (v *View) Tip() chain.Summary {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.checker.Last()
}

// Params returns the chain parameters.
func (v *View) Params() *chain.Params {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.checker.Params()
}

// Genesis returns the genesis hash.
func (v *View) Genesis() chain.Hash {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.checker.Genesis()
}

// Bytes returns the length of the indexed part of the file.
func (v *View) Bytes() int64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.end
}

// HashAt returns the hash of block i.
func (v *View) HashAt(i uint64) (chain.Hash, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if i >= uint64(len(v.hashes)) {
		return chain.Hash{}, false
	}
	return v.hashes[i], true
}

// IndexOf returns the index of the block with hash h (needs Hashes).
func (v *View) IndexOf(h chain.Hash) (uint64, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	i, ok := v.byHash[h]
	return uint64(i), ok
}

// BlockOf returns the index of the block carrying message id (needs IDs).
func (v *View) BlockOf(id string) (uint64, bool) {
	key, ok := chain.ParseID([]byte(id))
	if !ok {
		return 0, false
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	i, ok := v.ids[key]
	return uint64(i), ok
}

// HasID reports whether a block carries message id (needs IDs).
func (v *View) HasID(id string) bool {
	_, ok := v.BlockOf(id)
	return ok
}

// End returns the byte offset just after block i's line.
func (v *View) End(i uint64) (int64, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if i >= uint64(len(v.offsets)) {
		return 0, false
	}
	return v.endOf(i), true
}

func (v *View) endOf(i uint64) int64 {
	if i+1 < uint64(len(v.offsets)) {
		return v.offsets[i+1]
	}
	return v.end
}

// maxChunkBytes bounds what Lines reads from the file at once: a caller
// gets its lines chunk by chunk, so memory does not grow with the range
// asked for.
const maxChunkBytes = 256 << 10

// ErrReplaced is returned by Lines when the chain file was replaced while
// the lines were being read: the rest would come from another chain.
var ErrReplaced = errors.New("the chain file was replaced during the read")

// Lines calls fn with the lines (without newline) of blocks from..to
// (inclusive, clamped to the tip), in order, reading them from the file in
// chunks of at most maxChunkBytes (or one line). fn runs without the view's
// lock held, so it may be slow (write to a network client) without holding
// up the refreshes; if the file is replaced meanwhile, Lines stops with
// ErrReplaced. The line passed to fn is valid only during the call.
func (v *View) Lines(from, to uint64, fn func(i uint64, line []byte) error) error {
	var buf []byte
	var ends []int64
	var gen uint64
	for from <= to {
		start, last, err := v.readChunk(from, to, false, &gen, &buf, &ends)
		if err != nil || len(ends) == 0 {
			return err
		}
		for i := from; i <= last; i++ {
			a, b := int64(0), ends[i-from]-start-1
			if i > from {
				a = ends[i-from-1] - start
			}
			if err := fn(i, buf[a:b]); err != nil {
				return err
			}
		}
		from = last + 1
	}
	return nil
}

// readChunk reads the lines of blocks from.. (up to to and maxChunkBytes,
// at least one line) into buf under the read lock. It returns the offset
// of the first line and the last block read; ends receives the end offset
// of each line (none when from is past the tip). gen is the file
// generation of the first chunk (0 before it). Blocks from a tampered one
// on are not read unless past is set (for the audit).
func (v *View) readChunk(from, to uint64, past bool, gen *uint64, buf *[]byte, ends *[]int64) (int64, uint64, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if *gen == 0 {
		*gen = v.gen
	} else if *gen != v.gen {
		return 0, 0, ErrReplaced
	}
	*ends = (*ends)[:0]
	n := uint64(len(v.offsets))
	if v.tampered != nil && !past {
		n = min(n, v.tampered.Block) // nothing from the changed block on
	}
	if from >= n {
		if v.tampered != nil && !past && from < uint64(len(v.offsets)) {
			return 0, 0, v.tampered
		}
		return 0, 0, nil
	}
	to = min(to, n-1)
	start := v.offsets[from]
	last := from
	for i := from; i <= to; i++ {
		end := v.endOf(i)
		if i > from && end-start > maxChunkBytes {
			break
		}
		*ends = append(*ends, end)
		last = i
	}
	size := (*ends)[len(*ends)-1] - start
	if int64(cap(*buf)) < size {
		*buf = make([]byte, size)
	}
	*buf = (*buf)[:size]
	if _, err := v.f.ReadAt(*buf, start); err != nil && err != io.EOF {
		return 0, 0, fmt.Errorf("read blocks %d..%d: %w", from, last, err)
	}
	return start, last, nil
}

// Line returns a copy of block i's line.
func (v *View) Line(i uint64) ([]byte, error) {
	var out []byte
	err := v.Lines(i, i, func(_ uint64, line []byte) error {
		out = append([]byte(nil), line...)
		return nil
	})
	if err == nil && out == nil {
		return nil, fmt.Errorf("no block %d", i)
	}
	return out, err
}

// Block returns block i, parsed.
func (v *View) Block(i uint64) (*chain.Block, error) {
	line, err := v.Line(i)
	if err != nil {
		return nil, err
	}
	var b chain.Block
	var p chain.Parser
	if err := p.Parse(line, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// Summary returns block i's summary.
func (v *View) Summary(i uint64) (chain.Summary, error) {
	var s chain.Summary
	line, err := v.Line(i)
	if err != nil {
		return s, err
	}
	var p chain.Parser
	return s, p.ParseSummary(line, &s)
}

// state returns the view's file generation and height, for followers that
// must tell appends from replacements.
func (v *View) state() (gen, height uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.gen, v.tipIndex()
}

// AuditEvery is how often a View reads its whole file again to check that
// nothing changed where it was already verified (it does at once when the
// file changes without growing, which an append never does).
const AuditEvery = 10 * time.Minute

// ErrTampered is wrapped by a TamperError.
var ErrTampered error = failure("the chain file changed on disk where it was already verified")

// TamperError says which block of the chain file changed in place after it
// was verified: someone edited the file (or the disk is failing).
type TamperError struct {
	Block uint64
	Want  chain.Hash // the block's hash when it was verified
	Got   string     // what the file holds now
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("block %d %v (it was %.16s…, now %s); bc serves nothing from it on and mines nothing on it: restore a backup (bc-backup restore) or replace the file",
		e.Block, ErrTampered, e.Want, e.Got)
}

func (e *TamperError) Unwrap() error { return ErrTampered }

// audit reads the indexed part of the file again and checks every block
// against the hash it had when it was verified; the first that differs is
// marked tampered (and cleared when the file is right again). It holds the
// read lock for each chunk only.
func (v *View) audit() {
	v.mu.RLock()
	n, gen := uint64(len(v.offsets)), v.gen
	v.mu.RUnlock()
	var found *TamperError
	var p chain.Parser
	var s chain.Summary
	var buf []byte
	var ends []int64
	g := gen
	for from := uint64(0); from < n && found == nil; {
		start, last, err := v.readChunk(from, n-1, true, &g, &buf, &ends)
		if err != nil || len(ends) == 0 {
			return // replaced meanwhile: the reload read it whole
		}
		for i := from; i <= last; i++ {
			a, b := int64(0), ends[i-from]-start-1
			if i > from {
				a = ends[i-from-1] - start
			}
			line := buf[a:b]
			want, _ := v.HashAt(i)
			got := "a line that does not parse"
			if p.ParseSummary(line, &s) == nil {
				if h := s.Header.Hash(); h == want && s.Hash == want {
					continue
				}
				got = "a block hashing to " + s.Header.Hash().String()[:16] + "…"
			}
			found = &TamperError{Block: i, Want: want, Got: got}
			break
		}
		from = last + 1
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gen != gen {
		return
	}
	if found != nil && (v.tampered == nil || v.tampered.Block != found.Block) {
		v.d.log.Error("the chain file was changed on disk", "error", found.Error())
	}
	if found == nil && v.tampered != nil {
		v.d.log.Info("the chain file is as verified again", "block", v.tampered.Block)
	}
	v.tampered = found
}
