package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/bc-chain/bc/pkg/fsperm"
)

// The chain directory is a trust boundary: anyone else who can write it may
// plant a symlink in place of a file bc writes (pending.jsonl pointing at a
// file of the user's, say). So every file of the directory is opened with
// O_NOFOLLOW, and subdirectories are checked to be real directories: a
// symlink is refused with a clear error, never followed. Files are replaced
// by rename, which replaces a symlink itself, not its target.

// ErrSymlink is returned for a file of the chain directory that is a
// symbolic link.
var ErrSymlink = errors.New("is a symbolic link, which bc never follows inside a chain directory (remove it)")

// noFollow opens path with flag|O_NOFOLLOW, turning the kernel's ELOOP
// into ErrSymlink.
func noFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil && errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s %w", path, ErrSymlink)
	}
	return f, err
}

// openRead opens a file of the directory for reading, never through a
// symlink.
func (d *Dir) openRead(name string) (*os.File, error) {
	return noFollow(d.File(name), os.O_RDONLY, 0)
}

// openFile opens a file of the directory with flag, never through a symlink.
func (d *Dir) openFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	return noFollow(d.File(name), flag, perm)
}

// subdir returns the path of a subdirectory of the chain directory,
// creating it if needed; a symlink in its place is refused.
func (d *Dir) subdir(name string) (string, error) {
	path := d.File(name)
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(path, DirMode); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("create %s: %w", path, err)
		}
		st, err = os.Lstat(path)
	}
	if err != nil {
		return "", err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return "", fmt.Errorf("%s %w", path, ErrSymlink)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory", path)
	}
	return path, nil
}

// Subdir is subdir for the programs: backups/, torn/, inbox/.
func (d *Dir) Subdir(name string) (string, error) { return d.subdir(name) }

// OpenRead opens a file of the chain directory (name may be in a
// subdirectory) for reading, never through a symlink.
func (d *Dir) OpenRead(name string) (*os.File, error) { return d.openRead(name) }

// CheckExposure warns when the chain directory could be changed by another
// user (as ssh's StrictModes does): such a user could rewrite the chain or
// plant files. bc still runs; the warning names the fix.
func (d *Dir) CheckExposure() {
	if why := fsperm.Exposure(d.path, os.Getuid()); why != "" {
		d.log.Warn("the chain directory can be changed by other users: "+why+"; run chmod go-w on it (or chown it to this user)", "dir", d.path)
	}
	for _, sub := range []string{BackupDir, TornDir, InboxDir} {
		if why := fsperm.Exposure(filepath.Join(d.path, sub), os.Getuid()); why != "" {
			d.log.Warn("a directory of the chain directory can be changed by other users: "+why, "dir", d.path)
		}
	}
}
