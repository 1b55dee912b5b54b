package fsperm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExposure(t *testing.T) {
	uid := os.Getuid()
	dir := t.TempDir()
	file := filepath.Join(dir, "plugin")
	if err := os.WriteFile(file, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if why := Exposure(file, uid); why != "" {
		t.Fatalf("a 0755 file of ours: %s", why)
	}
	if err := os.Chmod(file, 0o757); err != nil {
		t.Fatal(err)
	}
	if why := Exposure(file, uid); !strings.Contains(why, "every user") {
		t.Fatalf("a world-writable file: %q", why)
	}
	if err := os.Chmod(file, 0o755); err != nil {
		t.Fatal(err)
	}
	// A world-writable directory on the way exposes what it holds, unless
	// it is sticky like /tmp.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if why := PathExposure(file, uid); !strings.Contains(why, dir) {
		t.Fatalf("a file in a world-writable directory: %q", why)
	}
	if err := os.Chmod(dir, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	if why := PathExposure(file, uid); why != "" {
		t.Fatalf("a file in a sticky directory: %q", why)
	}
	// Through a symlink, the real file's place counts too.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	open := t.TempDir()
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(open, "real")
	if err := os.WriteFile(real, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if why := PathExposure(link, uid); !strings.Contains(why, open) {
		t.Fatalf("a symlink to a file in a world-writable directory: %q", why)
	}
	// Owned by another user (root can make that happen).
	if uid == 0 {
		if err := os.Chown(real, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		if why := Exposure(real, uid); !strings.Contains(why, "owned by user 4242") {
			t.Fatalf("a file of another user: %q", why)
		}
	}
}
