package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
)

// Names of the files in a chain directory.
const (
	ChainFile      = "node.chain"      // the chain, one block per line
	HashFile       = "node.hash"       // sha256sum-style digest of ChainFile
	LockFile       = "node.lock"       // flock'd by every writer of ChainFile
	PendingFile    = "pending.jsonl"   // pending messages, one per line
	PendingLock    = "pending.lock"    // shared by appenders, exclusive for compaction
	NeighboursFile = "neighbours.json" // the neighbour list (bc-gossip, bc-serve)
	NeighboursLock = "neighbours.lock" // guards read-modify-write of NeighboursFile
	TokenFile      = "admin.token"     // bc-serve's admin token (0600)
	BackupDir      = "backups"         // bc-backup's timestamped copies
	TornDir        = "torn"            // torn or corrupt tails moved aside
	InboxDir       = "inbox"           // announcements from bc-serve to bc-gossip
	TiebreakFile   = "tiebreak.json"   // bc-gossip asks bc-mine to settle a tie
)

// DefaultLockWait bounds how long a writer waits for the chain lock before
// it reports who holds it.
const DefaultLockWait = 10 * time.Second

// DirMode and FileMode are the permissions of what bc creates.
const (
	DirMode  fs.FileMode = 0o750
	FileMode fs.FileMode = 0o640
)

// ErrNoChain is returned when a directory holds no chain yet.
var ErrNoChain = errors.New("no chain")

// DefaultDir returns the per-user default chain directory:
// $STATE_DIRECTORY (set by systemd's StateDirectory=) when set, else
// $XDG_DATA_HOME/bc, else ~/.local/share/bc.
func DefaultDir() string {
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		return filepath.SplitList(d)[0]
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "bc")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "bc")
	}
	return filepath.Join(os.TempDir(), "bc")
}

// Dir is a chain directory.
type Dir struct {
	path     string
	log      *slog.Logger
	lockWait time.Duration
	owner    string // this program's name, written into lock files

	mu      sync.Mutex
	genesis *chain.Block // cached by genesisOf
}

// Options tune a Dir.
type Options struct {
	Log      *slog.Logger
	LockWait time.Duration // DefaultLockWait when zero
	Owner    string        // program name for "locked by" messages
}

// Open returns the chain directory at path, creating the directory (not the
// chain) if it does not exist.
func Open(path string, opts Options) (*Dir, error) {
	if path == "" {
		return nil, errors.New("chain directory: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("chain directory %s: %w", path, err)
	}
	if err := os.MkdirAll(abs, DirMode); err != nil {
		return nil, fmt.Errorf("create chain directory %s: %w", abs, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("chain directory %s: %w", abs, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("chain directory %s: not a directory", abs)
	}
	d := &Dir{path: abs, log: opts.Log, lockWait: opts.LockWait, owner: opts.Owner}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.lockWait <= 0 {
		d.lockWait = DefaultLockWait
	}
	if d.owner == "" {
		d.owner = filepath.Base(os.Args[0])
	}
	return d, nil
}

// OpenExisting is Open for readers: the directory must already exist.
func OpenExisting(path string, opts Options) (*Dir, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("chain directory %s: %w", path, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("chain directory %s: not a directory", path)
	}
	return Open(path, opts)
}

// Path returns the directory's absolute path.
func (d *Dir) Path() string { return d.path }

// File returns the path of a file in the directory.
func (d *Dir) File(name string) string { return filepath.Join(d.path, name) }

// Log returns the directory's logger.
func (d *Dir) Log() *slog.Logger { return d.log }

// HasChain reports whether the chain file exists.
func (d *Dir) HasChain() bool {
	_, err := os.Lstat(d.File(ChainFile))
	return err == nil
}

// SyncDir makes renames and creations in dir durable: rename is atomic but
// only an fsync of the directory makes it survive a power loss.
func SyncDir(dir string) error { return syncDir(dir) }

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s for fsync: %w", dir, err)
	}
	defer f.Close()
	if err := syncDirectory(f); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// WaitForChain waits until the directory holds a chain (a node's daemons
// may start in any order; bc-mine creates it), logging once that it waits.
// wait bounds the wait; 0 waits until ctx ends.
func (d *Dir) WaitForChain(ctx context.Context, wait time.Duration) error {
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	for i := 0; !d.HasChain(); i++ {
		if i == 0 {
			d.log.Info("waiting for a chain (bc-mine creates it)", "dir", d.path)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("%s: %w after %v (start bc-mine, which creates it)", d.path, ErrNoChain, wait)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}
