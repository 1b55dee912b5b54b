// Package backup is bc-backup: it keeps node.hash current and timestamped
// copies of the chain, the seed's backup job done carefully.
//
// When the chain changes (fsnotify, debounced; and every Interval as a
// fallback) it verifies what was added (format, links and proofs through
// the strategy plugin), extends a running SHA-256 of the file with the same
// bytes, and writes node.hash (sha256sum's format) atomically. At most every
// MinInterval it copies the verified chain into backups/ as
// node_<date>_<time>.chain, atomically, then applies the retention. A
// replaced chain (a fork adopted, a restore) is verified and hashed again
// from the start.
//
// Copies: the file is cloned (FICLONE: an O(1) copy-on-write clone on btrfs,
// XFS and other filesystems with reflinks) and otherwise copied with
// copy_file_range, in the kernel. Only the verified prefix is kept, so a
// backup never holds a half-written block.
package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// Config tunes a Backuper.
type Config struct {
	Debounce    time.Duration // quiet time after a change before acting
	Interval    time.Duration // fallback check interval (the seed's 30 s)
	MinInterval time.Duration // least time between two backups
	KeepLast    int           // most recent backups kept
	KeepDaily   int           // days for which the newest backup is kept
	Now         func() time.Time
}

// Defaults of Config (and of bc-backup's flags).
const (
	DefaultDebounce    = time.Second
	DefaultInterval    = 30 * time.Second // the seed's backup interval
	DefaultMinInterval = 30 * time.Second
	DefaultKeepLast    = 10
	DefaultKeepDaily   = 7
)

// Defaults fills zero fields.
func (c *Config) Defaults() {
	if c.Debounce <= 0 {
		c.Debounce = DefaultDebounce
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.MinInterval <= 0 {
		c.MinInterval = DefaultMinInterval
	}
	if c.KeepLast <= 0 {
		c.KeepLast = DefaultKeepLast
	}
	if c.KeepDaily < 0 {
		c.KeepDaily = 0
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Backuper follows one chain directory.
type Backuper struct {
	dir    *store.Dir
	log    *slog.Logger
	cfg    Config
	verify validate.Verifier

	// What was verified and hashed so far, of the file held open in cur
	// (holding it keeps its inode from being reused by a later file, which
	// would make a replaced chain look like the same one).
	cur      *os.File
	offset   int64
	tip      chain.Summary
	blocks   uint64
	params   *chain.Params
	genesis  chain.Hash
	sum      hash.Hash
	lastHash chain.Hash
	mtime    time.Time // of the file when its verified part was last known intact

	lastBackup     time.Time
	lastBackupTip  chain.Hash
	lastBackupPath string
}

// New returns a backuper for d, checking proofs with v.
func New(d *store.Dir, v validate.Verifier, cfg Config) *Backuper {
	cfg.Defaults()
	return &Backuper{dir: d, log: d.Log(), cfg: cfg, verify: v}
}

// Result describes one Step.
type Result struct {
	Blocks  uint64
	Tip     chain.Summary
	Hash    chain.Hash
	Changed bool   // node.hash was rewritten
	Backup  string // path of a backup made, if any
	Removed []string
}

// Close releases the chain file.
func (b *Backuper) Close() {
	if b.cur != nil {
		b.cur.Close()
		b.cur = nil
	}
}

// Step verifies and hashes what changed, writes node.hash, and makes a
// backup if one is due (force: whenever the chain changed since the last).
func (b *Backuper) Step(ctx context.Context, force bool) (Result, error) {
	var res Result
	path := b.dir.File(store.ChainFile)
	st, err := os.Stat(path)
	if err != nil {
		return res, fmt.Errorf("open chain: %w", err)
	}
	same := false
	if b.cur != nil {
		if held, err := b.cur.Stat(); err == nil && os.SameFile(held, st) && st.Size() >= b.offset {
			same = true
		}
	}
	if !same {
		f, err := b.dir.OpenRead(store.ChainFile)
		if err != nil {
			return res, fmt.Errorf("open chain: %w", err)
		}
		b.Close()
		b.cur = f
		b.reset()
		if st, err = f.Stat(); err != nil {
			return res, err
		}
	}
	f := b.cur
	if same && st.Size() == b.offset && !st.ModTime().Equal(b.mtime) {
		// Changed without growing: an append never does that.
		if err := b.checkIntact(f, b.offset); err != nil {
			return res, err
		}
	}
	complete, err := b.consume(ctx, f, st.Size())
	if err != nil {
		return res, err
	}
	if st.Size() == b.offset {
		b.mtime = st.ModTime()
	}
	res.Blocks, res.Tip = b.blocks, b.tip
	if !complete {
		// A block is being written (or a torn tail waits for a writer's
		// repair): node.hash must describe a quiet file.
		return res, nil
	}
	var digest chain.Hash
	copy(digest[:], b.sum.Sum(nil))
	res.Hash = digest
	if digest != b.lastHash {
		if cur, err := b.dir.ReadHash(); err != nil || cur != digest {
			if err := b.dir.WriteHash(digest); err != nil {
				return res, err
			}
			res.Changed = true
		}
		b.lastHash = digest
	}
	now := b.cfg.Now()
	due := b.tip.Hash != b.lastBackupTip && (force || now.Sub(b.lastBackup) >= b.cfg.MinInterval)
	if due {
		p, err := b.copy(f, now)
		if err != nil {
			return res, err
		}
		b.lastBackup, b.lastBackupTip, b.lastBackupPath = now, b.tip.Hash, p
		res.Backup = p
		removed, err := b.retain(now)
		if err != nil {
			return res, err
		}
		res.Removed = removed
	}
	return res, nil
}

func (b *Backuper) reset() {
	b.offset, b.blocks, b.tip = 0, 0, chain.Summary{}
	b.sum = sha256.New()
	b.params, b.genesis = nil, chain.Hash{}
}

// consume verifies and hashes the complete lines after the offset. It
// reports whether the file ends right after them.
func (b *Backuper) consume(ctx context.Context, f *os.File, size int64) (bool, error) {
	if b.offset == size {
		return true, nil
	}
	if _, err := f.Seek(b.offset, io.SeekStart); err != nil {
		return false, err
	}
	var s *validate.Stream
	if b.blocks == 0 {
		s = validate.NewStream(ctx, validate.Options{}, func(context.Context, *chain.Params) (validate.Verifier, error) { return b.verify, nil })
	} else {
		s = validate.NewStreamAfter(ctx, validate.Options{}, b.params, b.genesis, b.tip, b.verify)
	}
	lr := chain.NewLineReader(f)
	base := b.offset
	var pending [][]byte // lines added to s but not yet hashed
	var ends []int64
	var sums []chain.Summary
	flush := func() error {
		if err := s.Flush(); err != nil {
			return err
		}
		for i, l := range pending {
			b.sum.Write(l)
			b.sum.Write([]byte{'\n'})
			b.offset = ends[i]
			b.tip = sums[i]
			b.blocks++
		}
		pending, ends, sums = pending[:0], ends[:0], sums[:0]
		return nil
	}
	defer s.Close()
	complete := true
	for {
		line, err := lr.Next()
		if err == io.EOF {
			break
		}
		var tail *chain.TailError
		if errors.As(err, &tail) {
			complete = false
			break
		}
		if err == nil {
			err = s.Add(int(b.blocks)+len(pending)+1, line)
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				err = ferr
			}
			return false, fmt.Errorf("the chain does not verify after byte %d; node.hash and backups stay as they were: %w", b.offset, err)
		}
		if b.blocks == 0 && len(pending) == 0 {
			b.params, b.genesis = s.Checker().Params(), s.Checker().Genesis()
		}
		pending = append(pending, append([]byte(nil), line...))
		ends = append(ends, base+lr.End())
		sums = append(sums, s.Checker().Last())
		if len(pending) >= 4096 {
			if err := flush(); err != nil {
				return false, err
			}
		}
	}
	if err := flush(); err != nil {
		return false, err
	}
	return complete, nil
}

// checkIntact makes sure the first n bytes of f are those verified and
// hashed so far: their SHA-256 must be the running digest. If not, the
// chain file was changed in place (someone edited it, or the disk fails):
// nothing is written, and the error names the first block that no longer
// verifies when there is one.
func (b *Backuper) checkIntact(f *os.File, n int64) error {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, n)); err != nil {
		return fmt.Errorf("read the chain again: %w", err)
	}
	if bytes.Equal(h.Sum(nil), b.sum.Sum(nil)) {
		return nil
	}
	where := "in bytes already verified"
	if _, err := validate.CheckReader(io.NewSectionReader(f, 0, n), validate.Options{Genesis: b.genesis}); err != nil {
		where = "and no longer verifies: " + err.Error()
	}
	return fmt.Errorf("%w %s; node.hash and the backups stay as they were (restore one with bc-backup restore)", store.ErrTampered, where)
}

// nameRE matches backup names: node_<date>_<time>[-<n or label>].chain.
var nameRE = regexp.MustCompile(`^node_(\d{8})_(\d{6})(?:-([0-9a-z-]+))?\.chain$`)

// copy writes the verified prefix into backups/ atomically.
func (b *Backuper) copy(src *os.File, now time.Time) (string, error) {
	dir, err := b.dir.Subdir(store.BackupDir)
	if err != nil {
		return "", err
	}
	base := "node_" + now.UTC().Format("20060102_150405")
	name := base + ".chain"
	for i := 2; exists(filepath.Join(dir, name)); i++ {
		name = fmt.Sprintf("%s-%d.chain", base, i)
	}
	tmp, err := b.dir.CreateAtomic(filepath.Join(store.BackupDir, name), store.FileMode)
	if err != nil {
		return "", err
	}
	defer tmp.Abort()
	if err := cloneOrCopy(tmp.File(), src, b.offset); err != nil {
		return "", fmt.Errorf("copy the chain: %w", err)
	}
	// The copy must be the bytes that were verified: the file may have
	// been changed in place since.
	if err := b.checkIntact(tmp.File(), b.offset); err != nil {
		return "", err
	}
	if err := tmp.Commit(); err != nil {
		return "", err
	}
	final := filepath.Join(dir, name)
	b.log.Info("backed up the chain", "to", final, "blocks", b.blocks, "tip", b.tip.Hash.String(), "bytes", b.offset)
	return final, nil
}

// cloneOrCopy puts the first n bytes of src into dst: a clone cut to n
// when the system and filesystem can (clone, in clone_linux.go), else a
// copy (copy_file_range on Linux, read and write elsewhere).
func cloneOrCopy(dst, src *os.File, n int64) error {
	if clone(dst, src) == nil {
		return dst.Truncate(n)
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.CopyN(dst, src, n)
	return err
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Backup is one file of backups/.
type Backup struct {
	Name string
	Path string
	Time time.Time
	Size int64
}

// List returns the backups, oldest first.
func List(d *store.Dir) ([]Backup, error) {
	dir, err := d.Subdir(store.BackupDir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Backup
	for _, e := range entries {
		m := nameRE.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		t, err := time.Parse("20060102150405", m[1]+m[2])
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, Backup{Name: e.Name(), Path: filepath.Join(dir, e.Name()), Time: t, Size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return seq(out[i].Name) < seq(out[j].Name)
	})
	return out, nil
}

func seq(name string) int {
	m := nameRE.FindStringSubmatch(name)
	if m == nil || m[3] == "" {
		return 1
	}
	var n int
	fmt.Sscan(m[3], &n)
	return n
}

// retain applies the retention: the KeepLast newest backups, plus the
// newest of each of the last KeepDaily days, are kept; the rest removed.
func (b *Backuper) retain(now time.Time) ([]string, error) {
	all, err := List(b.dir)
	if err != nil {
		return nil, err
	}
	keep := Retain(all, b.cfg.KeepLast, b.cfg.KeepDaily, now)
	var removed []string
	for _, bk := range all {
		if keep[bk.Name] {
			continue
		}
		if err := os.Remove(bk.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, bk.Name)
	}
	if len(removed) > 0 {
		b.log.Debug("removed old backups", "count", len(removed), "kept", len(keep))
	}
	return removed, nil
}

// Retain decides which backups (sorted oldest first) to keep: the keepLast
// newest, and the newest of each of the keepDaily most recent days (UTC,
// today included).
func Retain(all []Backup, keepLast, keepDaily int, now time.Time) map[string]bool {
	keep := map[string]bool{}
	for i := len(all) - 1; i >= 0 && len(all)-i <= keepLast; i-- {
		keep[all[i].Name] = true
	}
	if keepDaily == 0 {
		return keep
	}
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	seen := map[string]bool{}
	oldest := day(now.AddDate(0, 0, -(keepDaily - 1))) // today counts as one of the days
	for i := len(all) - 1; i >= 0; i-- {
		d := day(all[i].Time)
		if seen[d] || d < oldest {
			continue
		}
		seen[d] = true
		keep[all[i].Name] = true
	}
	return keep
}

// HashFile computes the SHA-256 of a file (never through a symlink).
func HashFile(path string) (chain.Hash, error) {
	var h chain.Hash
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return h, err
	}
	defer f.Close()
	s := sha256.New()
	if _, err := io.Copy(s, f); err != nil {
		return h, err
	}
	copy(h[:], s.Sum(nil))
	return h, nil
}
