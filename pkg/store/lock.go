package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/sys/unix"
)

// LockedError says who holds a lock we could not get.
type LockedError struct {
	Path   string
	PID    int    // 0 when unknown
	Owner  string // program name of the holder, if known
	Waited time.Duration
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "PID " + strconv.Itoa(e.PID)
		if e.Owner != "" {
			who += " (" + e.Owner + ")"
		}
	}
	if e.Waited > 0 {
		return fmt.Sprintf("%s is locked by %s; gave up after %v", e.Path, who, e.Waited.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s is locked by %s", e.Path, who)
}

// Lock is a held flock on a lock file that is never replaced, only locked.
type Lock struct {
	f *flock.Flock
}

// Unlock releases the lock. It is safe to call on a nil Lock.
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		_ = l.f.Unlock()
		l.f = nil
	}
}

// LockChain takes the exclusive lock that every writer of the chain file
// holds, waiting up to the directory's lock wait.
func (d *Dir) LockChain(ctx context.Context) (*Lock, error) {
	return d.lock(ctx, LockFile, false, d.lockWait)
}

// lock takes the named lock, shared or exclusive, waiting up to wait.
func (d *Dir) lock(ctx context.Context, name string, shared bool, wait time.Duration) (*Lock, error) {
	path := d.File(name)
	fl := flock.New(path, flock.SetPermissions(FileMode), flock.SetFlag(os.O_CREATE|os.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC))
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	start := time.Now()
	var ok bool
	var err error
	if shared {
		ok, err = fl.TryRLockContext(ctx, 2*time.Millisecond)
	} else {
		ok, err = fl.TryLockContext(ctx, 2*time.Millisecond)
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("lock %s: %s %w", name, path, ErrSymlink)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		pid, owner := readHolder(path)
		return nil, &LockedError{Path: path, PID: pid, Owner: owner, Waited: time.Since(start)}
	}
	if !shared {
		// Record the holder for the "locked by" message of whoever waits next.
		writeHolder(path, d.owner)
	}
	return &Lock{f: fl}, nil
}

// readHolder finds who holds the flock on path: from /proc/locks, which
// the kernel keeps exact, with the program name from /proc/<pid>/comm; else
// from the "PID owner" line holders write into the file (which may be stale).
func readHolder(path string) (int, string) {
	filePID, fileOwner := readHolderFile(path)
	if pid := flockHolder(path); pid > 0 {
		if pid == filePID {
			return pid, fileOwner
		}
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		return pid, strings.TrimSpace(string(comm))
	}
	return filePID, fileOwner
}

// writeHolder writes the "PID owner" line into a lock file we hold.
func writeHolder(path, owner string) {
	f, err := noFollow(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return
	}
	_, _ = fmt.Fprintf(f, "%d %s\n", os.Getpid(), owner)
	_ = f.Close()
}

// readHolderFile reads the "PID owner" line of a lock file.
func readHolderFile(path string) (int, string) {
	f, err := noFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return 0, ""
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0, ""
	}
	pid, _ := strconv.Atoi(fields[0])
	owner := ""
	if len(fields) > 1 {
		owner = fields[1]
	}
	return pid, owner
}

// Instance takes the lock that lets only one copy of a daemon (name, e.g.
// "bc-mine") run on this directory. It does not wait; hold the Lock for the
// life of the process.
func (d *Dir) Instance(name string) (*Lock, error) {
	path := d.File(name + ".pid")
	fl := flock.New(path, flock.SetPermissions(FileMode), flock.SetFlag(os.O_CREATE|os.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC))
	ok, err := fl.TryLock()
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("lock %s %w", path, ErrSymlink)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		pid, _ := readHolder(path)
		return nil, fmt.Errorf("another %s already runs on %s (PID %d holds %s)", name, d.path, pid, path)
	}
	writeHolder(path, name)
	return &Lock{f: fl}, nil
}
