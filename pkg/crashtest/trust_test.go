package crashtest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/store"
)

// Whoever else can write the chain directory may plant symlinks where bc
// writes: bc never follows one, and says so.
func TestSymlinksInTheChainDirectoryAreRefused(t *testing.T) {
	c := nodetest.New(t)
	n := c.Node("victim", 8)
	n.Create()
	n.Start("bc-serve")
	precious := filepath.Join(t.TempDir(), "precious.txt")
	nodetest.Must(t, os.WriteFile(precious, []byte("the user's own file\n"), 0o600))
	plant := func(name string) {
		_ = os.Remove(n.File(name))
		nodetest.Must(t, os.Symlink(precious, n.File(name)))
	}
	unchanged := func(what string) {
		t.Helper()
		if b, _ := os.ReadFile(precious); string(b) != "the user's own file\n" {
			t.Fatalf("%s: the symlink's target was written: %q", what, b)
		}
	}

	plant(store.PendingFile)
	a := n.TryAdd("through a symlink?")
	if a.Code != http.StatusServiceUnavailable || !strings.Contains(a.Body, "symbolic link") {
		t.Fatalf("/add with pending.jsonl a symlink: %d %s", a.Code, a.Body)
	}
	unchanged("/add")
	nodetest.Must(t, os.Remove(n.File(store.PendingFile)))

	plant(store.LockFile)
	_, errOut, code := n.Run("", "bc-mine", "--once")
	if code != 2 || !strings.Contains(errOut, "symbolic link") {
		t.Fatalf("bc-mine with node.lock a symlink: exit %d: %s", code, errOut)
	}
	unchanged("bc-mine")
	nodetest.Must(t, os.Remove(n.File(store.LockFile)))

	nodetest.Must(t, os.Symlink(t.TempDir(), n.File(store.BackupDir)))
	_, errOut, code = n.Run("", "bc-backup", "--once")
	if code != 2 || !strings.Contains(errOut, "symbolic link") {
		t.Fatalf("bc-backup with backups/ a symlink: exit %d: %s", code, errOut)
	}
}

// A plugin another user could replace is never run; a chain directory
// others can write is warned about.
func TestExposedPluginAndDirectory(t *testing.T) {
	c := nodetest.New(t)
	n := c.Node("exposed", 8)
	nodetest.Must(t, os.Chmod(c.Bin.Dir, 0o777)) // the plugin directory
	_, errOut, code := n.Run("", "bc-mine", "--once", "--difficulty", "8")
	if code != 2 || !strings.Contains(errOut, "refusing to run plugin") || !strings.Contains(errOut, "writable by every user") {
		t.Fatalf("bc-mine with a world-writable plugin directory: exit %d: %s", code, errOut)
	}
	nodetest.Must(t, os.Chmod(c.Bin.Dir, 0o755))
	nodetest.Must(t, os.Chmod(n.Path, 0o777)) // the chain directory
	_, errOut, code = n.Run("", "bc-mine", "--once", "--difficulty", "8")
	if code != 0 || !strings.Contains(errOut, "can be changed by other users") {
		t.Fatalf("bc-mine with a world-writable chain directory: exit %d, want 0 and a warning: %s", code, errOut)
	}
}

// One over-long line in the middle of pending.jsonl: it is skipped and
// reported with its real line number (bc-serve's health is degraded), the
// other messages are mined, and bc-mine then moves the line into torn/.
func TestDamagedPendingLine(t *testing.T) {
	c := nodetest.New(t)
	n := c.Node("damaged", 8)
	n.Create()
	d := n.Dir()
	before := []store.PendingEntry{entry("first"), entry("second")}
	nodetest.Must(t, d.AddPending(context.Background(), before))
	f, err := os.OpenFile(n.File(store.PendingFile), os.O_APPEND|os.O_WRONLY, 0)
	nodetest.Must(t, err)
	_, err = f.WriteString(`{"id":"x","message":"` + strings.Repeat("z", 100_000) + "\"}\n")
	nodetest.Must(t, err)
	nodetest.Must(t, f.Close())
	after := entry("after the damage")
	nodetest.Must(t, d.AddPending(context.Background(), []store.PendingEntry{after}))

	n.Start("bc-serve")
	h := n.Health()
	if h["status"] != "degraded" || !strings.Contains(h["reason"].(string), "line 3 ") {
		t.Fatalf("health with a damaged pending line: %v", h)
	}
	n.Start("bc-mine")
	n.WaitMined([]string{before[0].ID, before[1].ID, after.ID}, 20*time.Second)
	proctest.Eventually(t, 10*time.Second, "the damaged line to be moved aside", func() bool {
		torn, _ := filepath.Glob(filepath.Join(n.Path, store.TornDir, store.PendingFile+".*.line-3"))
		return len(torn) == 1
	})
	proctest.Eventually(t, 10*time.Second, "health to be ok again", func() bool { return n.Health()["status"] == "ok" })
}

func entry(text string) store.PendingEntry {
	return store.PendingEntry{ID: chain.NewMessageID(text), Message: text, Received: uint64(time.Now().UnixMilli())}
}
