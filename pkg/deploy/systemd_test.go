package deploy_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/store"
)

const units = "../../contrib/systemd"

var daemons = []string{"bc-mine", "bc-serve", "bc-gossip", "bc-backup"}

func systemdAnalyze(t *testing.T) string {
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		proctest.SkipMissing(t, "systemd-analyze is not installed (apt-get install systemd)")
	}
	return p
}

// unitCopy writes the units to a temp dir with ExecStart pointing at bin/,
// since verify checks that the executables exist.
func unitCopy(t *testing.T) string {
	bin, _ := filepath.Abs("../../bin")
	dir := t.TempDir()
	entries, err := os.ReadDir(units)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".service") && !strings.HasSuffix(e.Name(), ".target") && !strings.HasSuffix(e.Name(), ".timer") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(units, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "/usr/local/bin/", bin+"/")
		if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestUnitsVerify(t *testing.T) {
	sa := systemdAnalyze(t)
	for _, d := range daemons {
		if _, err := os.Stat(filepath.Join("../../bin", d)); err != nil {
			proctest.SkipMissing(t, "the binaries are not built (make build)")
		}
	}
	dir := unitCopy(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	out, err := exec.Command(sa, append([]string{"verify"}, files...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// Every unit scores "OK" or better (below 2.0) in systemd's exposure check.
func TestUnitsSecurity(t *testing.T) {
	sa := systemdAnalyze(t)
	dir := unitCopy(t)
	re := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)
	files, _ := filepath.Glob(filepath.Join(dir, "*.service"))
	for _, f := range files {
		out, err := exec.Command(sa, "security", "--offline=yes", f).CombinedOutput()
		m := re.FindSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("%s: %v\n%s", f, err, out)
		}
		score, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("%s: exposure %.1f", filepath.Base(f), score)
		if score >= 2.0 {
			t.Errorf("%s: exposure %.1f, want below 2.0", filepath.Base(f), score)
		}
	}
}

// unit is what a test needs of a service file.
type unit struct {
	exec []string
	env  []string
	typ  string
	kill string
}

func readUnit(t *testing.T, name string) unit {
	f, err := os.Open(filepath.Join(units, name+".service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var u unit
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case "ExecStart":
			u.exec = strings.Fields(v)
		case "Environment":
			u.env = append(u.env, strings.Fields(v)...)
		case "Type":
			u.typ = v
		case "KillMode":
			u.kill = v
		}
	}
	return u
}

// notifySocket is a fake systemd notification socket.
type notifySocket struct {
	path string
	conn *net.UnixConn
	msgs chan string
}

func newNotifySocket(t *testing.T) *notifySocket {
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	n := &notifySocket{path: path, conn: conn, msgs: make(chan string, 16)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	return n
}

func (n *notifySocket) waitReady(t *testing.T, timeout time.Duration) {
	deadline := time.After(timeout)
	for {
		select {
		case m := <-n.msgs:
			if strings.Contains(m, "READY=1") {
				return
			}
		case <-deadline:
			t.Fatal("no READY=1 from the daemon")
		}
	}
}

// Each daemon started as its unit starts it (ExecStart and Environment;
// BC_DIR and the listen address pointed at the test's): READY=1 comes only
// once it serves, and SIGTERM ends it cleanly within 5 s.
func TestDaemonsLikeTheirUnits(t *testing.T) {
	bin := proctest.NewBin(t, "bc-mine", "bc-serve", "bc-gossip", "bc-backup", "bc-verify", "bc-pow-default")
	dir := t.TempDir()
	port := proctest.FreePort(t)
	for _, name := range daemons {
		u := readUnit(t, name)
		if u.typ != "notify" || u.kill != "mixed" {
			t.Fatalf("%s: Type=%s KillMode=%s, want notify and mixed", name, u.typ, u.kill)
		}
		if filepath.Base(u.exec[0]) != name {
			t.Fatalf("%s: ExecStart=%v", name, u.exec)
		}
		ns := newNotifySocket(t)
		env := []string{"NOTIFY_SOCKET=" + ns.path, "BC_LISTEN=127.0.0.1:" + strconv.Itoa(port)}
		for _, kv := range u.env {
			if strings.HasPrefix(kv, "BC_DIR=") {
				kv = "BC_DIR=" + dir
			}
			env = append(env, kv)
		}
		p := bin.StartEnv(t, env, name, u.exec[1:]...)
		ns.waitReady(t, 20*time.Second)
		// Serving at the moment READY arrives.
		switch name {
		case "bc-mine":
			d, _ := store.Open(dir, store.Options{})
			if !d.HasChain() {
				t.Fatal("bc-mine is ready without a chain")
			}
			e := store.PendingEntry{ID: chain.NewMessageID("ready?"), Message: "ready?", Received: 1}
			if err := d.AddPending(context.Background(), []store.PendingEntry{e}); err != nil {
				t.Fatal(err)
			}
			proctest.Eventually(t, 30*time.Second, "the miner to mine after READY", func() bool {
				v, err := d.OpenView(store.ViewOptions{IDs: true})
				if err != nil {
					return false
				}
				defer v.Close()
				return v.HasID(e.ID)
			})
		case "bc-serve":
			r, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/health")
			if err != nil {
				t.Fatalf("bc-serve sent READY but does not answer: %v", err)
			}
			r.Body.Close()
		case "bc-backup":
			if _, err := os.Stat(filepath.Join(dir, store.HashFile)); err != nil {
				t.Fatal("bc-backup sent READY before writing node.hash")
			}
		}
		defer func(name string, p *proctest.Proc) {
			start := time.Now()
			if code := p.Signal(syscall.SIGTERM, 5*time.Second); code != 0 {
				t.Errorf("%s: SIGTERM: exit %d after %v\n%s", name, code, time.Since(start), p.Output())
			}
		}(name, p)
	}
	if out, e, code := bin.Run(t, "", "bc-verify", filepath.Join(dir, store.ChainFile)); code != 0 {
		t.Fatal(out, e)
	}
	fmt.Fprint(os.Stderr)
}
