package crashtest

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/strategy"
)

// The chain directory is a trust boundary too. A same-length edit inside
// block 100 while the daemons run: bc-serve reports it (health degraded,
// naming the block) and serves nothing from that block on, bc-mine stops
// mining on it, bc-backup writes neither node.hash nor a backup and keeps
// its backups; a restore brings everything back.
func TestTamperedChain(t *testing.T) {
	c := nodetest.New(t)
	n := c.Node("victim", 8)
	f, err := os.Create(n.File(store.ChainFile))
	nodetest.Must(t, err)
	params := chain.Params{Version: chain.FormatVersion, Network: chain.DefaultNetwork, Strategy: "default", Difficulty: 8}
	nodetest.Must(t, chaintest.Generate(f, strategy.Default{}, params, 200, 1))
	nodetest.Must(t, f.Close())
	n.Start("bc-mine")
	n.Start("bc-serve")
	n.Start("bc-backup", "--debounce", "50ms", "--min-interval", "200ms", "--interval", "500ms")
	proctest.Eventually(t, 10*time.Second, "a first backup", func() bool { return len(backups(t, n)) > 0 })
	goodHash, err := os.ReadFile(n.File(store.HashFile))
	nodetest.Must(t, err)
	before := backups(t, n)

	// Edit one byte of block 100's message in place.
	path := n.File(store.ChainFile)
	data, err := os.ReadFile(path)
	nodetest.Must(t, err)
	lines := bytes.SplitAfter(data, []byte("\n"))
	off := 0
	for _, l := range lines[:100] {
		off += len(l)
	}
	at := off + bytes.Index(lines[100], []byte("message 100.0")) + len("message ")
	fh, err := os.OpenFile(path, os.O_WRONLY, 0)
	nodetest.Must(t, err)
	_, err = fh.WriteAt([]byte("9"), int64(at))
	nodetest.Must(t, err)
	nodetest.Must(t, fh.Close())

	proctest.Eventually(t, 10*time.Second, "bc-serve to report the edit", func() bool {
		h := n.Health()
		return h["status"] == "degraded" && strings.Contains(h["reason"].(string), "block 100 ")
	})
	for _, path := range []string{"/blocks?from=98", "/blocks/100", "/chain"} {
		r, err := http.Get(n.URL() + path)
		nodetest.Must(t, err)
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		r.Body.Close()
		if r.StatusCode == http.StatusOK && strings.Contains(body.String(), `"index":100,`) {
			t.Fatalf("%s serves the edited block: %d", path, r.StatusCode)
		}
	}
	id := n.Add("to be mined after the repair")
	time.Sleep(2 * time.Second)
	if n.Mined(id) {
		t.Fatal("bc-mine mined on a chain edited in place")
	}
	if h, _ := os.ReadFile(n.File(store.HashFile)); !bytes.Equal(h, goodHash) {
		t.Fatalf("node.hash was rewritten for an edited chain: %s", h)
	}
	if after := backups(t, n); len(after) != len(before) {
		t.Fatalf("backups changed on an edited chain: %v -> %v", before, after)
	}
	if out := n.Proc("bc-backup").Output(); !strings.Contains(out, "changed on disk") {
		t.Fatalf("bc-backup did not report the edit:\n%s", out)
	}

	// The repair, with every daemon running: restore the last backup.
	if out, errOut, code := n.Run("", "bc-backup", "restore", filepath.Base(before[len(before)-1])); code != 0 {
		t.Fatalf("restore: %s %s", out, errOut)
	}
	proctest.Eventually(t, 20*time.Second, "the message to be mined after the repair", func() bool { return n.Mined(id) })
	proctest.Eventually(t, 10*time.Second, "health to be ok again", func() bool { return n.Health()["status"] == "ok" })
	n.Verify()
}

func backups(t *testing.T, n *nodetest.Node) []string {
	out, _ := filepath.Glob(filepath.Join(n.Path, store.BackupDir, "node_*.chain"))
	return out
}
