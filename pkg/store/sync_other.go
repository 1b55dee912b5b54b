//go:build !linux && !darwin

package store

import "os"

// syncData makes f's data durable: fsync (FreeBSD's x/sys has no
// fdatasync; fsync writes the metadata too, which costs a little more).
func syncData(f *os.File) error { return f.Sync() }

// syncDirectory makes the entries of an open directory durable.
func syncDirectory(f *os.File) error { return f.Sync() }
