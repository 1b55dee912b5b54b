//go:build !linux

package backup

import (
	"errors"
	"os"
)

// clone: macOS and FreeBSD clone by path only (clonefile(2), onto a name
// that must not exist yet), which does not fit a backup written through an
// open temporary file; the copy does the work.
func clone(dst, src *os.File) error { return errors.ErrUnsupported }
