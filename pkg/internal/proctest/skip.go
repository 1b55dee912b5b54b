package proctest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// SkipReportEnv names the file (set by make test) to which SkipMissing
// appends one line per test skipped for want of something on the machine,
// so that make test can print them at the end: a skip that shows only with
// -v goes unnoticed.
const SkipReportEnv = "BC_SKIP_REPORT"

// SkipMissing skips t because the machine lacks what it needs (a tool, root,
// an address), saying what and how to get it, and records the skip in the
// file $BC_SKIP_REPORT names.
func SkipMissing(t testing.TB, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if path := os.Getenv(SkipReportEnv); path != "" {
		if err := appendLine(path, fmt.Sprintf("SKIPPED %s: %s\n", t.Name(), why)); err != nil {
			t.Logf("could not record the skip in %s: %v", path, err)
		}
	}
	t.Skip(why)
}

// appendLine appends line with one write (O_APPEND: lines of parallel test
// binaries do not mix).
func appendLine(path, line string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
