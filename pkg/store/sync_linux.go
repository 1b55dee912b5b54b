package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncData makes f's data durable: fdatasync, which skips the metadata
// that does not matter for reading the data back (the mtime).
func syncData(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// syncDirectory makes the entries of an open directory durable.
func syncDirectory(f *os.File) error { return f.Sync() }
