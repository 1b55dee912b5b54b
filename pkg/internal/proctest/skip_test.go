package proctest

import (
	"os"
	"path/filepath"
	"testing"
)

// A skip for want of a tool lands in the report make test prints.
func TestSkipMissingIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "skipped")
	t.Setenv(SkipReportEnv, path)
	t.Run("lacking", func(t *testing.T) { SkipMissing(t, "no %s here", "frobnicator") })
	t.Run("again", func(t *testing.T) { SkipMissing(t, "nor this") })
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "SKIPPED TestSkipMissingIsReported/lacking: no frobnicator here\nSKIPPED TestSkipMissingIsReported/again: nor this\n"
	if string(got) != want {
		t.Fatalf("report:\n%s\nwant:\n%s", got, want)
	}
}
