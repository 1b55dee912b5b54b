package crashtest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/store"
)

// addHTTP adds a message through bc-serve and returns its id and status.
func addHTTP(t *testing.T, n *nodetest.Node, msg string) (string, int, string) {
	id := chain.NewMessageID(msg)
	r, err := http.Post(n.URL()+"/add", "application/json", strings.NewReader(fmt.Sprintf(`{"message":%q,"id":%q}`, msg, id)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	return id, r.StatusCode, string(body)
}

// mount makes a small tmpfs for a fault test, or skips the test.
func mount(t *testing.T, size string) string {
	if os.Geteuid() != 0 {
		proctest.SkipMissing(t, "fault injection by mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "bc-fault", dir).CombinedOutput(); err != nil {
		proctest.SkipMissing(t, "cannot mount a tmpfs here (%v: %s): the full-disk and read-only tests need it", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// waitMined waits until every id is in a block of n's chain.
func waitMined(t *testing.T, n *nodetest.Node, ids []string, within time.Duration) {
	t.Helper()
	proctest.Eventually(t, within, "the acknowledged messages to be mined", func() bool {
		return len(notMined(t, n.Dir(), ids)) == 0
	})
}

// A full disk: /add answers 503 with a clear error and acknowledges nothing
// it could not store; the miner waits; once space is back everything
// acknowledged is mined and the chain verifies.
func TestFullDisk(t *testing.T) {
	c := nodetest.New(t, "bc-pow-crashy", "bc-pow-stuck")
	n := c.Node("full", 8)
	n.Path = filepath.Join(mount(t, "2m"), "node")
	n.Start("bc-mine", "--max-messages", "1")
	n.Start("bc-serve", "--listen", n.Addr())
	n.WaitHTTP()
	var acked []string
	for i := 0; i < 5; i++ {
		id, code, body := addHTTP(t, n, fmt.Sprint("before ", i))
		if code != 200 {
			t.Fatalf("add before the fault: %d %s", code, body)
		}
		acked = append(acked, id)
	}
	waitMined(t, n, acked, 20*time.Second)
	// Fill the filesystem.
	filler := filepath.Join(filepath.Dir(n.Path), "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	buf := bytes.Repeat([]byte{'x'}, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	f.Close()
	refused := 0
	for i := 0; i < 20; i++ {
		id, code, body := addHTTP(t, n, fmt.Sprintf("during %d %s", i, strings.Repeat("y", 200)))
		switch code {
		case 200:
			acked = append(acked, id) // it found room after all: must not be lost
		case 503:
			refused++
			if !strings.Contains(body, "no space left on device") {
				t.Fatalf("unclear error on a full disk: %s", body)
			}
		default:
			t.Fatalf("add on a full disk: %d %s", code, body)
		}
	}
	if refused == 0 {
		t.Fatal("the disk was never full: the fault did not happen")
	}
	// The fault ends.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		id, code, body := addHTTP(t, n, fmt.Sprint("after ", i))
		if code != 200 {
			t.Fatalf("add after the fault: %d %s", code, body)
		}
		acked = append(acked, id)
	}
	waitMined(t, n, acked, 60*time.Second)
	if out, e, code := c.Bin.Run(t, "", "bc-verify", n.Dir().File(store.ChainFile)); code != 0 {
		t.Fatal(out, e)
	}
	t.Logf("%d adds refused with 503 while the disk was full, %d acknowledged messages all mined", refused, len(acked))
}

// A read-only chain directory: clear errors, no acknowledgement, and a
// clean recovery once it is writable again.
func TestReadOnlyDirectory(t *testing.T) {
	c := nodetest.New(t, "bc-pow-crashy", "bc-pow-stuck")
	n := c.Node("ro", 8)
	mnt := mount(t, "8m")
	n.Path = filepath.Join(mnt, "node")
	n.Start("bc-mine", "--max-messages", "1")
	n.Start("bc-serve", "--listen", n.Addr())
	n.WaitHTTP()
	id0, code, _ := addHTTP(t, n, "before")
	if code != 200 {
		t.Fatal("add before the fault")
	}
	waitMined(t, n, []string{id0}, 20*time.Second)
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		proctest.SkipMissing(t, "cannot remount read-only: %v %s", err, out)
	}
	_, code, body := addHTTP(t, n, "while read-only")
	if code != 503 || !strings.Contains(body, "read-only file system") {
		t.Fatalf("add on a read-only directory: %d %s", code, body)
	}
	if out, e, code := c.Bin.Run(t, "", "bc-backup", "--dir", n.Path, "--once"); code == 0 || !strings.Contains(e, "read-only file system") {
		t.Fatalf("a writer on a read-only directory: %d %s %s", code, out, e)
	}
	if out, err := exec.Command("mount", "-o", "remount,rw", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount rw: %v %s", err, out)
	}
	id1, code, body := addHTTP(t, n, "after")
	if code != 200 {
		t.Fatalf("add after the fault: %d %s", code, body)
	}
	waitMined(t, n, []string{id0, id1}, 30*time.Second)
}

// A chain cut or garbled by hand: a cut last line is moved aside and the
// node goes on (its block's messages come back as pending and are mined
// again); a garbled earlier line is refused, named, and a restore from a
// backup brings the node back.
func TestDamagedChain(t *testing.T) {
	c := nodetest.New(t, "bc-pow-crashy", "bc-pow-stuck")
	n := c.Node("damaged", 8)
	n.Start("bc-mine", "--max-messages", "1")
	n.Start("bc-serve", "--listen", n.Addr())
	n.WaitHTTP()
	var ids []string
	for i := 0; i < 6; i++ {
		id, code, _ := addHTTP(t, n, fmt.Sprint("message ", i))
		if code != 200 {
			t.Fatal("add")
		}
		ids = append(ids, id)
	}
	waitMined(t, n, ids, 20*time.Second)
	if out, e, code := c.Bin.Run(t, "", "bc-backup", "--dir", n.Path, "--once"); code != 0 {
		t.Fatal(out, e)
	}
	n.Proc("bc-mine").Signal(syscall.SIGTERM, 5*time.Second)
	chainPath := filepath.Join(n.Path, store.ChainFile)

	// Cut in the middle of the last line.
	data, _ := os.ReadFile(chainPath)
	if err := os.WriteFile(chainPath, data[:len(data)-30], 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, code := c.Bin.Run(t, "", "bc-verify", chainPath); code != 1 {
		t.Fatal("bc-verify accepted a cut chain")
	}
	n.Restart("bc-mine")
	waitMined(t, n, ids, 20*time.Second)
	proctest.Eventually(t, 10*time.Second, "the repair to be logged", func() bool {
		return strings.Contains(n.Proc("bc-mine").Output(), "torn last line was moved aside")
	})
	torn, _ := filepath.Glob(filepath.Join(n.Path, store.TornDir, "*"))
	if len(torn) != 1 {
		t.Fatalf("torn tail not kept aside: %v", torn)
	}
	n.Proc("bc-mine").Signal(syscall.SIGTERM, 5*time.Second)

	// Garble line 3.
	data, _ = os.ReadFile(chainPath)
	lines := bytes.SplitAfter(data, []byte("\n"))
	lines[2] = bytes.Replace(lines[2], []byte(`"message":"`), []byte(`"message":"#`), 1)
	if err := os.WriteFile(chainPath, bytes.Join(lines, nil), 0o640); err != nil {
		t.Fatal(err)
	}
	out, e, code := c.Bin.Run(t, "", "bc-mine", "--dir", n.Path, "--once")
	if code == 0 || !strings.Contains(e, "damaged at line 3") || !strings.Contains(e, "byte offset") {
		t.Fatalf("bc-mine on a garbled chain: %d %s %s", code, out, e)
	}
	if after, _ := os.ReadFile(chainPath); !bytes.Equal(after, bytes.Join(lines, nil)) {
		t.Fatal("a garbled chain was changed")
	}
	proctest.Eventually(t, 10*time.Second, "bc-serve to report the damage", func() bool {
		h := n.Health()
		return h["status"] == "degraded"
	})
	// The fault ends: restore the backup.
	if out, e, code := c.Bin.Run(t, "", "bc-backup", "--dir", n.Path, "restore", latestBackup(t, n)); code != 0 {
		t.Fatalf("restore: %s %s", out, e)
	}
	n.Restart("bc-mine")
	waitMined(t, n, ids, 20*time.Second)
	if out, e, code := c.Bin.Run(t, "", "bc-verify", chainPath); code != 0 {
		t.Fatal(out, e)
	}
	proctest.Eventually(t, 10*time.Second, "bc-serve to be healthy again", func() bool { return n.Health()["status"] == "ok" })
}

func latestBackup(t *testing.T, n *nodetest.Node) string {
	all, _ := filepath.Glob(filepath.Join(n.Path, store.BackupDir, "node_*.chain"))
	if len(all) == 0 {
		t.Fatal("no backup")
	}
	return filepath.Base(all[len(all)-1])
}

// A lock left by a dead process does not block anyone (flock dies with its
// holder); a live holder is named after the bounded wait.
func TestStaleAndHeldLocks(t *testing.T) {
	c := nodetest.New(t, "bc-pow-crashy", "bc-pow-stuck")
	n := c.Node("locks", 8)
	if _, e, code := c.Bin.Run(t, "", "bc-mine", "--dir", n.Path, "--difficulty", "8", "--once"); code != 0 {
		t.Fatal(e)
	}
	d := n.Dir()
	// flock -o: the lock is flock's own, not its child's.
	holder := exec.Command("flock", "-o", d.File(store.LockFile), "sleep", "60")
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := holder.Start(); err != nil {
		proctest.SkipMissing(t, "no flock(1) (apt-get install util-linux): %v", err)
	}
	defer syscall.Kill(-holder.Process.Pid, syscall.SIGKILL)
	time.Sleep(200 * time.Millisecond)
	// Held by a live process: refused after the wait, naming the file.
	_, e, code := c.Bin.Run(t, "", "bc-backup", "--dir", n.Path, "--lock-wait", "300ms", "--once")
	if code == 0 || !strings.Contains(e, fmt.Sprintf("node.lock is locked by PID %d (flock)", holder.Process.Pid)) {
		t.Fatalf("a held lock: %d %s", code, e)
	}
	// The holder dies by SIGKILL: the lock is free at once.
	_ = holder.Process.Kill()
	_ = holder.Wait()
	start := time.Now()
	if _, e, code := c.Bin.Run(t, "", "bc-backup", "--dir", n.Path, "--lock-wait", "300ms", "--once"); code != 0 {
		t.Fatalf("after the holder died: %d %s", code, e)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v", el)
	}
}

// A plugin that crashes in the middle of a search is restarted and the
// block mined; one that hangs is detected, killed and replaced.
func TestBrokenPlugins(t *testing.T) {
	for _, s := range []struct{ name, logged string }{{"crashy", "failed during a search; restarting it"}, {"stuck", "made no progress"}} {
		t.Run(s.name, func(t *testing.T) {
			c := nodetest.New(t, "bc-pow-crashy", "bc-pow-stuck")
			n := c.Node(s.name, 8)
			n.Env = []string{"BC_CRASH_FLAG=" + filepath.Join(t.TempDir(), "flag")}
			n.Start("bc-mine", "--strategy", s.name, "--plugin-timeout", "2s")
			n.Start("bc-serve", "--listen", n.Addr())
			n.WaitHTTP()
			id, code, _ := addHTTP(t, n, "mined despite a broken plugin")
			if code != 200 {
				t.Fatal("add")
			}
			waitMined(t, n, []string{id}, 30*time.Second)
			if !strings.Contains(n.Proc("bc-mine").Output(), s.logged) {
				t.Fatalf("the fault was not seen:\n%s", n.Proc("bc-mine").Output())
			}
			if _, err := os.Stat(strings.TrimPrefix(n.Env[0], "BC_CRASH_FLAG=")); err != nil {
				t.Fatal("the plugin never failed: the fault did not happen")
			}
		})
	}
}

// A peer that vanishes in the middle of an answer: nothing of it is
// written, and the node syncs from another peer.
func TestPeerVanishesMidTransfer(t *testing.T) {
	c := nodetest.New(t, "bc-pow-crashy", "bc-pow-stuck")
	good, victim := c.Node("good", 8), c.Node("victim", 8)
	good.Start("bc-mine", "--max-messages", "1")
	good.Start("bc-serve", "--listen", good.Addr())
	good.WaitHTTP()
	var ids []string
	for i := 0; i < 10; i++ {
		id, _, _ := addHTTP(t, good, fmt.Sprint("good ", i))
		ids = append(ids, id)
	}
	waitMined(t, good, ids, 20*time.Second)
	// The vanishing peer proxies the good one but cuts every /blocks answer
	// in the middle and drops the connection.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var cuts atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(good.URL() + r.URL.RequestURI())
		if err != nil {
			w.WriteHeader(502)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if r.URL.Path != "/blocks" {
			w.Write(body)
			return
		}
		cuts.Add(1)
		conn, buf, _ := w.(http.Hijacker).Hijack()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		buf.Write(body[:len(body)/2])
		buf.Flush()
		conn.Close()
	})}
	go srv.Serve(l)
	defer srv.Close()
	victim.Start("bc-mine")
	victim.Start("bc-serve", "--listen", victim.Addr())
	victim.WaitHTTP()
	victim.Start("bc-gossip", append([]string{"--peers", l.Addr().String(), "--advertise", victim.Addr()}, fastGossip...)...)
	proctest.Eventually(t, 30*time.Second, "transfers to be cut", func() bool { return cuts.Load() >= 2 })
	if victim.DiskTip().Index != 0 {
		t.Fatalf("height %d after %d cut transfers", victim.DiskTip().Index, cuts.Load())
	}
	victim.Proc("bc-gossip").Kill()
	victim.Start("bc-gossip", append([]string{"--peers", l.Addr().String() + "," + good.Addr(), "--advertise", victim.Addr()}, fastGossip...)...)
	waitMined(t, victim, ids, 30*time.Second)
	if out, e, code := c.Bin.Run(t, "", "bc-verify", victim.Dir().File(store.ChainFile)); code != 0 {
		t.Fatal(out, e)
	}
}
