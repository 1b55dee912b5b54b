package backup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/backup"
	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/store"
)

var programs = proctest.Names()

func TestMain(m *testing.M) { proctest.Main(m, nil) }

var must = nodetest.Must

func sha256sum(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	must(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]) + "  node.chain\n"
}

func addPending(t *testing.T, d *store.Dir, n int, prefix string) []string {
	var es []store.PendingEntry
	var ids []string
	for i := 0; i < n; i++ {
		e := store.PendingEntry{ID: chain.NewMessageID(fmt.Sprint(prefix, i)), Message: fmt.Sprint(prefix, i), Received: 1}
		es = append(es, e)
		ids = append(ids, e.ID)
	}
	must(t, d.AddPending(context.Background(), es))
	return ids
}

func height(t *testing.T, d *store.Dir) uint64 {
	v, err := d.OpenView(store.ViewOptions{})
	if err != nil {
		return 0
	}
	defer v.Close()
	return v.Height()
}

// bc-backup follows a growing chain: after each quiet period node.hash is
// what sha256sum says; backups appear and verify.
func TestFollowsGrowingChain(t *testing.T) {
	b := proctest.NewBin(t, programs...)
	path := t.TempDir()
	d, _ := store.Open(path, store.Options{})
	b.Start(t, "bc-mine", "--dir", path, "--difficulty", "8", "--max-messages", "1")
	proctest.Eventually(t, 10*time.Second, "the chain", d.HasChain)
	b.Start(t, "bc-backup", "--dir", path, "--debounce", "100ms", "--min-interval", "300ms", "--interval", "1s")
	for round := 0; round < 5; round++ {
		addPending(t, d, 3+round, fmt.Sprintf("round %d ", round))
		want := uint64(0)
		proctest.Eventually(t, 20*time.Second, "the round to be mined", func() bool {
			h := height(t, d)
			if h > want {
				want = h
			}
			log := d.FollowPending()
			defer log.Close()
			es, _, _ := log.Read()
			v, _ := d.OpenView(store.ViewOptions{IDs: true})
			defer v.Close()
			for _, e := range es {
				if !v.HasID(e.ID) {
					return false
				}
			}
			return true
		})
		proctest.Eventually(t, 10*time.Second, "node.hash to match sha256sum node.chain", func() bool {
			got, err := os.ReadFile(filepath.Join(path, store.HashFile))
			return err == nil && string(got) == sha256sum(t, filepath.Join(path, store.ChainFile))
		})
	}
	cmd := exec.Command("sha256sum", "-c", store.HashFile)
	cmd.Dir = path
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c node.hash: %v\n%s", err, out)
	}
	all, err := backup.List(d)
	must(t, err)
	if len(all) < 2 {
		t.Fatalf("only %d backups", len(all))
	}
	out, e, code := b.Run(t, "", "bc-backup", "--dir", path, "verify")
	if code != 0 || strings.Count(out, "OK") < 3 {
		t.Fatalf("verify: %d %s %s", code, out, e)
	}
}

func TestRetain(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var all []backup.Backup
	for i := 0; i < 30; i++ { // one every 6 hours for 7.5 days
		tm := now.Add(-time.Duration(29-i) * 6 * time.Hour)
		all = append(all, backup.Backup{Name: fmt.Sprintf("b%02d", i), Time: tm})
	}
	keep := backup.Retain(all, 3, 4, now)
	for _, n := range []string{"b29", "b28", "b27"} {
		if !keep[n] {
			t.Errorf("%s (one of the last 3) not kept", n)
		}
	}
	days := map[string]bool{}
	for _, b := range all {
		if keep[b.Name] {
			days[b.Time.Format("2006-01-02")] = true
		}
	}
	if len(keep) != 3+3 || len(days) != 4 {
		t.Fatalf("kept %d backups over %d days: %v", len(keep), len(days), keep)
	}
	if len(backup.Retain(all, 100, 0, now)) != 30 {
		t.Fatal("keep-last above the count drops backups")
	}
}

// Retention through the real binary: --keep-last bounds the backups.
func TestRetentionKeepsLast(t *testing.T) {
	b := proctest.NewBin(t, programs...)
	path := t.TempDir()
	d, _ := store.Open(path, store.Options{})
	for i := 0; i < 6; i++ {
		_, e, code := b.Run(t, fmt.Sprint("message ", i, "\n"), "bc-mine", "--dir", path, "--difficulty", "6", "-")
		if code != 0 {
			t.Fatal(e)
		}
		if _, e, code := b.Run(t, "", "bc-backup", "--dir", path, "--once", "--keep-last", "3", "--keep-daily", "0"); code != 0 {
			t.Fatal(e)
		}
		time.Sleep(1100 * time.Millisecond) // backup names have a resolution of a second
	}
	all, err := backup.List(d)
	must(t, err)
	if len(all) != 3 {
		t.Fatalf("%d backups kept, want 3", len(all))
	}
	newest, err := os.ReadFile(all[2].Path)
	must(t, err)
	cur, err := os.ReadFile(d.File(store.ChainFile))
	must(t, err)
	if string(newest) != string(cur) {
		t.Fatal("the newest backup is not the current chain")
	}
}

// Restore brings back an older chain, which bc-serve then serves; the
// current one is kept aside and the messages only it had are pending again.
func TestRestore(t *testing.T) {
	b := proctest.NewBin(t, programs...)
	path := t.TempDir()
	d, _ := store.Open(path, store.Options{})
	_, e, code := b.Run(t, "old 1\nold 2\n", "bc-mine", "--dir", path, "--difficulty", "6", "--max-messages", "1", "-")
	if code != 0 {
		t.Fatal(e)
	}
	if _, e, code := b.Run(t, "", "bc-backup", "--dir", path, "--once"); code != 0 {
		t.Fatal(e)
	}
	old, err := backup.List(d)
	must(t, err)
	oldHeight := height(t, d)
	late := addPending(t, d, 3, "late ")
	if _, e, code := b.Run(t, "", "bc-mine", "--dir", path, "--once", "--max-messages", "1"); code != 0 {
		t.Fatal(e)
	}
	if height(t, d) != oldHeight+3 {
		t.Fatalf("height %d", height(t, d))
	}
	port := proctest.FreePort(t)
	b.Start(t, "bc-serve", "--dir", path, "--listen", "127.0.0.1:"+strconv.Itoa(port))
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	served := func() int {
		r, err := http.Get(base + "/health")
		if err != nil {
			return -1
		}
		defer r.Body.Close()
		var h struct{ Height int }
		_ = json.NewDecoder(r.Body).Decode(&h)
		return h.Height
	}
	proctest.Eventually(t, 10*time.Second, "bc-serve", func() bool { return served() == int(oldHeight)+3 })

	// A writer holds the lock: restore refuses, naming it.
	l, err := d.LockChain(context.Background())
	must(t, err)
	_, e, code = b.Run(t, "", "bc-backup", "--dir", path, "--lock-wait", "300ms", "restore", old[0].Name)
	l.Unlock()
	if code != 2 || !strings.Contains(e, fmt.Sprintf("locked by PID %d", os.Getpid())) {
		t.Fatalf("restore under a held lock: %d %s", code, e)
	}
	out, e, code := b.Run(t, "", "bc-backup", "--dir", path, "restore", old[0].Name)
	if code != 0 || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %d %s %s", code, out, e)
	}
	if height(t, d) != oldHeight {
		t.Fatalf("height after restore %d, want %d", height(t, d), oldHeight)
	}
	proctest.Eventually(t, 10*time.Second, "bc-serve to serve the restored chain", func() bool { return served() == int(oldHeight) })
	got, err := os.ReadFile(filepath.Join(path, store.HashFile))
	must(t, err)
	if string(got) != sha256sum(t, filepath.Join(path, store.ChainFile)) {
		t.Fatal("node.hash not rewritten after restore")
	}
	all, _ := backup.List(d)
	aside := ""
	for _, bk := range all {
		if strings.Contains(bk.Name, "before-restore") {
			aside = bk.Path
		}
	}
	if aside == "" {
		t.Fatalf("current chain not kept aside: %v", all)
	}
	// The late messages are pending again and get mined again.
	for _, id := range late {
		r, err := http.Get(base + "/data/" + id)
		must(t, err)
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("message %s lost by the restore", id)
		}
	}
}

// A corrupt backup is reported by verify (exit 1).
func TestVerifyReportsCorruptBackup(t *testing.T) {
	b := proctest.NewBin(t, programs...)
	path := t.TempDir()
	d, _ := store.Open(path, store.Options{})
	if _, e, code := b.Run(t, "one\ntwo\n", "bc-mine", "--dir", path, "--difficulty", "6", "-"); code != 0 {
		t.Fatal(e)
	}
	if _, e, code := b.Run(t, "", "bc-backup", "--dir", path, "--once"); code != 0 {
		t.Fatal(e)
	}
	all, _ := backup.List(d)
	data, err := os.ReadFile(all[0].Path)
	must(t, err)
	data = []byte(strings.Replace(string(data), `"message":"one"`, `"message":"0ne"`, 1))
	must(t, os.WriteFile(all[0].Path, data, 0o640))
	out, _, code := b.Run(t, "", "bc-backup", "--dir", path, "verify")
	if code != 1 || !strings.Contains(out, all[0].Name+": INVALID") || !strings.Contains(out, "node.chain: OK") {
		t.Fatalf("verify of a corrupt backup: %d\n%s", code, out)
	}
	out, _, code = b.Run(t, "", "bc-backup", "--dir", path, "list")
	if code != 0 || !strings.Contains(out, "NO:") {
		t.Fatalf("list: %d %s", code, out)
	}
	// A stale node.hash is reported too.
	must(t, os.WriteFile(d.File(store.HashFile), []byte(strings.Repeat("0", 64)+"  node.chain\n"), 0o640))
	out, _, code = b.Run(t, "", "bc-backup", "--dir", path, "verify")
	if code != 1 || !strings.Contains(out, "node.hash: MISMATCH") {
		t.Fatalf("stale node.hash: %d %s", code, out)
	}
}

// bc-backup's command line, as a manual would show it: testdata/script.
func TestScripts(t *testing.T) { proctest.Scripts(t, "testdata/script") }
