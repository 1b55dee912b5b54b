package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/validate"
)

// ErrTipMoved is returned by Append and Replace when the chain's tip is no
// longer the one the caller built on.
var ErrTipMoved = errors.New("chain tip moved")

// TipMovedError tells the caller what the tip is now.
type TipMovedError struct {
	Want chain.Hash
	Have chain.Summary
}

func (e *TipMovedError) Error() string {
	return fmt.Sprintf("chain tip moved: built on %.16s…, tip is now block %d (%.16s…)", e.Want, e.Have.Index, e.Have.Hash)
}

func (e *TipMovedError) Unwrap() error { return ErrTipMoved }

// CorruptError reports damage before the last line of a chain file, which
// bc refuses to repair by itself: truncating there could drop valid blocks.
type CorruptError struct {
	Path   string
	Line   int
	Offset int64
	Err    error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s is damaged at line %d (byte offset %d), before its last line: %v; bc will not truncate valid-looking data by itself: restore a backup (bc-backup restore) or cut the file at that offset (truncate -s %d) after checking it",
		e.Path, e.Line, e.Offset, e.Err, e.Offset)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// ParamsMismatchError reports chain parameters that contradict the genesis.
type ParamsMismatchError struct {
	Dir       string
	Have, Got *chain.Params
}

func (e *ParamsMismatchError) Error() string {
	return fmt.Sprintf("%s holds a chain with strategy %q, difficulty %d (network %q); the given strategy %q, difficulty %d contradict it: drop those flags or use another --dir",
		e.Dir, e.Have.Strategy, e.Have.Difficulty, e.Have.Network, e.Got.Strategy, e.Got.Difficulty)
}

// Init makes sure the directory holds a chain. If it has none, it writes the
// genesis of params (which must then be given). If it has one and params is
// given, params must match its genesis. It returns the genesis.
func (d *Dir) Init(ctx context.Context, params *chain.Params) (*chain.Block, error) {
	if g, err := d.ReadGenesis(); err == nil {
		return g, d.checkParams(g, params)
	} else if !errors.Is(err, ErrNoChain) {
		return nil, err
	}
	if params == nil {
		return nil, fmt.Errorf("%s: %w yet (create one with bc-mine)", d.path, ErrNoChain)
	}
	g, err := chain.Genesis(*params)
	if err != nil {
		return nil, err
	}
	l, err := d.LockChain(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	if existing, err := d.ReadGenesis(); err == nil { // created while we waited
		return existing, d.checkParams(existing, params)
	}
	if err := d.WriteFileAtomic(ChainFile, append(g.AppendJSON(nil), '\n'), FileMode); err != nil {
		return nil, err
	}
	d.log.Info("created a new chain", "dir", d.path, "strategy", params.Strategy, "difficulty", params.Difficulty,
		"network", params.Network, "genesis", g.Hash.String())
	return g, nil
}

func (d *Dir) checkParams(g *chain.Block, params *chain.Params) error {
	if params != nil && !g.Params.Equal(params) {
		return &ParamsMismatchError{Dir: d.path, Have: g.Params, Got: params}
	}
	return nil
}

// ReadGenesis reads and checks the first line of the chain file. It returns
// ErrNoChain if the file is missing or empty.
func (d *Dir) ReadGenesis() (*chain.Block, error) {
	f, err := d.openRead(ChainFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", d.path, ErrNoChain)
	}
	if err != nil {
		return nil, fmt.Errorf("open chain: %w", err)
	}
	defer f.Close()
	lr := chain.NewLineReader(f)
	line, err := lr.Next()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: %w (empty chain file)", d.path, ErrNoChain)
	}
	if err != nil {
		return nil, fmt.Errorf("read genesis of %s: %w", d.File(ChainFile), err)
	}
	c := validate.NewChecker(validate.Options{})
	if _, err := c.Check(1, line); err != nil {
		return nil, fmt.Errorf("genesis of %s: %w", d.File(ChainFile), err)
	}
	var b chain.Block
	var p chain.Parser
	if err := p.Parse(line, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// RecoverResult describes a chain file after Recover.
type RecoverResult struct {
	Blocks    uint64
	Tip       chain.Summary
	Bytes     int64
	MovedTo   string // where a torn or corrupt tail went, if any
	MovedSize int64
}

// Recover checks the whole chain file (format, hashes and links; proofs
// were checked before the blocks were written) under the chain lock. A torn
// or corrupt last line is moved into a file of its own under torn/ and cut
// off, keeping the valid prefix; damage before the last line is refused with
// a *CorruptError. Every writer runs it before its first write.
func (d *Dir) Recover(ctx context.Context) (RecoverResult, error) {
	var res RecoverResult
	l, err := d.LockChain(ctx)
	if err != nil {
		return res, err
	}
	defer l.Unlock()
	d.RemoveStaleTemps(time.Minute)
	f, err := d.openFile(ChainFile, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("%s: %w", d.path, ErrNoChain)
	}
	if err != nil {
		return res, fmt.Errorf("open chain: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return res, err
	}
	size := st.Size()
	cr, bad := validate.CheckReader(f, validate.Options{})
	res.Blocks, res.Tip, res.Bytes = cr.Blocks, cr.Last, cr.End
	if bad == nil {
		return res, nil
	}
	var tail *chain.TailError
	if !errors.As(bad, &tail) && !isRuleError(bad) && !isParseError(bad) {
		return res, fmt.Errorf("read %s: %w", d.File(ChainFile), bad)
	}
	badAt := cr.BadAt
	// Only the last line may be bad: nothing after it may end in a newline.
	rest := make([]byte, min(size-cr.BadEnd, int64(chain.MaxLineBytes)+1))
	n, _ := f.ReadAt(rest, cr.BadEnd)
	if cr.BadEnd < size && (bytes.IndexByte(rest[:n], '\n') >= 0 || size-cr.BadEnd > int64(len(rest))) {
		return res, &CorruptError{Path: d.File(ChainFile), Line: cr.Line, Offset: badAt, Err: bad}
	}
	if cr.Blocks == 0 {
		return res, &CorruptError{Path: d.File(ChainFile), Line: 1, Offset: 0, Err: fmt.Errorf("the genesis line is damaged: %w", bad)}
	}
	moved, err := d.moveAside(f, badAt, size, bad)
	if err != nil {
		return res, err
	}
	res.MovedTo, res.MovedSize = moved, size-badAt
	return res, nil
}

func isRuleError(err error) bool { return validate.AsRuleError(err) != nil }

func isParseError(err error) bool {
	var pe *chain.ParseError
	return errors.As(err, &pe)
}

// moveAside copies bytes [from, size) of f into torn/ durably, then cuts f
// at from and syncs it.
func (d *Dir) moveAside(f *os.File, from, size int64, why error) (string, error) {
	data := make([]byte, size-from)
	if _, err := f.ReadAt(data, from); err != nil && err != io.EOF {
		return "", fmt.Errorf("read torn tail: %w", err)
	}
	name := filepath.Join(TornDir, fmt.Sprintf("%s.%s.at-%d", ChainFile, time.Now().UTC().Format("20060102T150405.000000000Z"), from))
	if err := d.WriteFileAtomic(name, data, FileMode); err != nil {
		return "", err
	}
	aside := d.File(name)
	if err := f.Truncate(from); err != nil {
		return "", fmt.Errorf("cut torn tail of %s at %d: %w", f.Name(), from, err)
	}
	if err := syncData(f); err != nil {
		return "", fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	d.log.Warn("moved a torn or corrupt last line of the chain aside", "file", f.Name(), "offset", from,
		"bytes", len(data), "to", aside, "reason", why.Error())
	return aside, nil
}

// tailOf reads the last complete line of f (size bytes long). tornFrom is
// the offset of bytes after the last newline (== size when none).
func tailOf(f *os.File, size int64) (line []byte, start, tornFrom int64, err error) {
	if size == 0 {
		return nil, 0, 0, ErrNoChain
	}
	chunk := int64(64 << 10)
	for {
		n := min(chunk, size)
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, size-n); err != nil && err != io.EOF {
			return nil, 0, 0, err
		}
		end := bytes.LastIndexByte(buf, '\n')
		if end < 0 {
			if n == size || n > int64(chain.MaxLineBytes)*2 {
				return nil, 0, size - n, nil // no complete line at all
			}
			chunk *= 4
			continue
		}
		tornFrom = size - n + int64(end) + 1
		prev := bytes.LastIndexByte(buf[:end], '\n')
		if prev < 0 && n < size {
			if n > int64(chain.MaxLineBytes)*2 {
				return nil, 0, 0, fmt.Errorf("last line of %s is longer than %d bytes", f.Name(), chain.MaxLineBytes)
			}
			chunk *= 4
			continue
		}
		start = size - n + int64(prev) + 1
		return buf[prev+1 : end], start, tornFrom, nil
	}
}

// openTip opens the chain for writing under the lock, moves a torn or
// corrupt last line aside, and returns the file, the tip and its offset.
func (d *Dir) openTip() (*os.File, chain.Summary, int64, error) {
	var tip chain.Summary
	f, err := d.openFile(ChainFile, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, tip, 0, fmt.Errorf("%s: %w", d.path, ErrNoChain)
	}
	if err != nil {
		return nil, tip, 0, fmt.Errorf("open chain: %w", err)
	}
	for attempt := 0; attempt < 3; attempt++ {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, tip, 0, err
		}
		line, start, tornFrom, err := tailOf(f, st.Size())
		if err != nil {
			f.Close()
			return nil, tip, 0, fmt.Errorf("read chain tip: %w", err)
		}
		if line == nil {
			f.Close()
			return nil, tip, 0, &CorruptError{Path: f.Name(), Line: 1, Offset: 0, Err: errors.New("no complete line")}
		}
		if tornFrom < st.Size() {
			if _, err := d.moveAside(f, tornFrom, st.Size(), chain.ErrNoNewline); err != nil {
				f.Close()
				return nil, tip, 0, err
			}
			continue
		}
		var p chain.Parser
		perr := p.ParseSummary(line, &tip)
		if perr == nil && tip.Header.Hash() != tip.Hash {
			perr = errors.New("stated hash is not the block's hash")
		}
		if perr != nil {
			if start == 0 {
				f.Close()
				return nil, tip, 0, &CorruptError{Path: f.Name(), Line: 1, Offset: 0, Err: perr}
			}
			if _, err := d.moveAside(f, start, st.Size(), perr); err != nil {
				f.Close()
				return nil, tip, 0, err
			}
			continue
		}
		return f, tip, st.Size(), nil
	}
	f.Close()
	return nil, tip, 0, errors.New("chain tail keeps changing under the lock")
}

// Tip reads the last block of the chain file without the lock.
func (d *Dir) Tip() (chain.Summary, error) {
	var tip chain.Summary
	f, err := d.openRead(ChainFile)
	if errors.Is(err, os.ErrNotExist) {
		return tip, fmt.Errorf("%s: %w", d.path, ErrNoChain)
	}
	if err != nil {
		return tip, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return tip, err
	}
	line, _, _, err := tailOf(f, st.Size())
	if err != nil {
		return tip, err
	}
	if line == nil {
		return tip, fmt.Errorf("%s has no complete line", f.Name())
	}
	var p chain.Parser
	return tip, p.ParseSummary(line, &tip)
}

// genesisOf returns the genesis of the chain, cached once read: a directory
// never changes its genesis.
func (d *Dir) genesisOf() (*chain.Block, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.genesis != nil {
		return d.genesis, nil
	}
	g, err := d.ReadGenesis()
	if err != nil {
		return nil, err
	}
	d.genesis = g
	return g, nil
}

// checkLines applies the format and link rules to lines that continue tip
// and returns their summaries.
func (d *Dir) checkLines(tip chain.Summary, lines [][]byte) ([]chain.Summary, error) {
	g, err := d.genesisOf()
	if err != nil {
		return nil, err
	}
	c := validate.NewCheckerAfter(validate.Options{}, g.Params, g.Hash, tip)
	sums := make([]chain.Summary, 0, len(lines))
	for i, line := range lines {
		s, err := c.Check(int(tip.Index)+2+i, line)
		if err != nil {
			return nil, fmt.Errorf("refusing to write an invalid block: %w", err)
		}
		sums = append(sums, *s)
	}
	return sums, nil
}

// withTip runs fn under the chain lock with the chain open for writing (a
// torn tail moved aside), provided its tip is still prev.
func (d *Dir) withTip(ctx context.Context, prev chain.Hash, fn func(f *os.File, tip chain.Summary, end int64) error) error {
	l, err := d.LockChain(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	f, tip, end, err := d.openTip()
	if err != nil {
		return err
	}
	defer f.Close()
	if tip.Hash != prev {
		return &TipMovedError{Want: prev, Have: tip}
	}
	return fn(f, tip, end)
}

// joinLines returns the lines, each followed by a newline.
func joinLines(lines [][]byte) []byte {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	buf := make([]byte, 0, n)
	for _, line := range lines {
		buf = append(append(buf, line...), '\n')
	}
	return buf
}

// Append adds lines (canonical blocks, without newlines) to the chain if its
// tip is still prev, and returns once they are on disk (fdatasync). The
// lines must continue the tip (format, hash and link rules are checked
// here; proofs are the caller's business).
func (d *Dir) Append(ctx context.Context, prev chain.Hash, lines [][]byte) error {
	return d.AppendFrom(ctx, prev, lines, "")
}

// AppendFrom is Append that also records where the blocks came from
// (OriginMined, OriginPeer; see OriginsFile), for the web UI.
func (d *Dir) AppendFrom(ctx context.Context, prev chain.Hash, lines [][]byte, origin string) error {
	if len(lines) == 0 {
		return nil
	}
	return d.withTip(ctx, prev, func(f *os.File, tip chain.Summary, end int64) error {
		sums, err := d.checkLines(tip, lines)
		if err != nil {
			return err
		}
		if _, err := f.WriteAt(joinLines(lines), end); err != nil {
			// Leave no partial line behind for others to trip on.
			_ = f.Truncate(end)
			return fmt.Errorf("append to %s: %w", f.Name(), err)
		}
		if err := syncData(f); err != nil {
			return fmt.Errorf("fsync %s: %w", f.Name(), err)
		}
		d.noteOriginsOf(sums, origin)
		return nil
	})
}

// String names the directory for logs.
func (d *Dir) String() string { return d.path }
