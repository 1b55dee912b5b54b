package store

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// syncData makes f's data durable. On macOS fsync only hands the data to
// the drive, whose cache may still lose it at a power cut; F_FULLFSYNC
// asks the drive to write it to its medium. Filesystems that do not
// support it (some network ones) get fsync.
func syncData(f *os.File) error {
	_, err := unix.FcntlInt(f.Fd(), unix.F_FULLFSYNC, 0)
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) {
		return f.Sync()
	}
	return err
}

// syncDirectory makes the entries of an open directory durable, and with
// F_FULLFSYNC everything written before (renameio's files are only
// fsync'd).
func syncDirectory(f *os.File) error { return syncData(f) }
