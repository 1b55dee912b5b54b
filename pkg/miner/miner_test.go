package miner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/strategy"
)

var update = flag.Bool("update", false, "regenerate testdata fixtures")

var programs = proctest.Names()

func TestMain(m *testing.M) { proctest.Main(m, nil) }

var must = nodetest.Must

func openDir(t testing.TB, path string) *store.Dir {
	d, err := store.Open(path, store.Options{})
	must(t, err)
	return d
}

// addPending stores messages as bc-serve would and returns their ids.
func addPending(t testing.TB, d *store.Dir, msgs ...string) []string {
	var es []store.PendingEntry
	var ids []string
	for _, m := range msgs {
		e := store.PendingEntry{ID: chain.NewMessageID(m), Message: m, Received: uint64(time.Now().UnixMilli())}
		es = append(es, e)
		ids = append(ids, e.ID)
	}
	must(t, d.AddPending(context.Background(), es))
	return ids
}

// mined reports whether every id is in the chain of d.
func mined(t testing.TB, d *store.Dir, ids []string) bool {
	v, err := d.OpenView(store.ViewOptions{IDs: true})
	if err != nil {
		return false
	}
	defer v.Close()
	for _, id := range ids {
		if !v.HasID(id) {
			return false
		}
	}
	return true
}

func verifyDir(t testing.TB, b *proctest.Bin, dir string) string {
	t.Helper()
	out, errOut, code := b.Run(t, "", "bc-verify", filepath.Join(dir, store.ChainFile))
	if code != 0 {
		t.Fatalf("bc-verify exit %d: %s %s", code, out, errOut)
	}
	return out
}

// Pipelines: messages on stdin, block lines on stdout, for every strategy.
func TestStdinEveryStrategy(t *testing.T) {
	b := proctest.NewBin(t, programs...)
	for _, c := range []struct {
		strategy, difficulty string
	}{{"default", "12"}, {"classic", "3"}, {"scrypt", "3"}} {
		dir := t.TempDir()
		out, errOut, code := b.Run(t, "first\nsecond <b>\n\nthird \"quoted\"\n", "bc-mine", "--dir", dir, "--strategy", c.strategy,
			"--difficulty", c.difficulty, "--max-messages", "2", "-")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.strategy, code, errOut)
		}
		var texts []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var blk chain.Block
			if err := json.Unmarshal([]byte(line), &blk); err != nil {
				t.Fatalf("%s: stdout line %q: %v", c.strategy, line, err)
			}
			for _, m := range blk.Data {
				texts = append(texts, m.Text)
			}
		}
		if strings.Join(texts, "|") != `first|second <b>|third "quoted"` {
			t.Fatalf("%s: mined %q", c.strategy, texts)
		}
		if got := verifyDir(t, b, dir); !strings.Contains(got, "strategy "+c.strategy+", difficulty "+c.difficulty) {
			t.Fatalf("verify: %s", got)
		}
	}
}

func TestCreationFlags(t *testing.T) {
	b := proctest.NewBin(t, programs...)
	dir := t.TempDir()
	if _, e, code := b.Run(t, "", "bc-mine", "--dir", dir, "--difficulty", "10", "--once"); code != 0 {
		t.Fatalf("create: %d %s", code, e)
	}
	// The genesis fixes the params from now on: no flag needed, a
	// contradicting one is refused with exit 2.
	if _, e, code := b.Run(t, "", "bc-mine", "--dir", dir, "--once"); code != 0 {
		t.Fatalf("reopen: %d %s", code, e)
	}
	_, e, code := b.Run(t, "", "bc-mine", "--dir", dir, "--difficulty", "11", "--once")
	if code != 2 || !strings.Contains(e, `difficulty 10`) || !strings.Contains(e, "contradict") {
		t.Fatalf("contradicting difficulty: %d %s", code, e)
	}
	_, e, code = b.Run(t, "", "bc-mine", "--dir", dir, "--strategy", "classic", "--once")
	if code != 2 || !strings.Contains(e, "contradict") {
		t.Fatalf("contradicting strategy: %d %s", code, e)
	}
	_, e, code = b.Run(t, "", "bc-mine", "--dir", t.TempDir(), "--strategy", "nosuch", "--once")
	if code != 2 || !strings.Contains(e, "bc-pow-nosuch") {
		t.Fatalf("missing plugin: %d %s", code, e)
	}
	_, e, code = b.Run(t, "", "bc-mine", "--dir", t.TempDir(), "--difficulty", "1000", "--once")
	if code != 2 || !strings.Contains(e, "outside") {
		t.Fatalf("bad difficulty: %d %s", code, e)
	}
	out, e, code := b.Run(t, "", "bc-mine", "--list-strategies")
	if code != 0 || !strings.Contains(out, "default") || !strings.Contains(out, "classic") || !strings.Contains(out, "scrypt") || !strings.Contains(out, "n=1024") {
		t.Fatalf("list: %d %s %s", code, out, e)
	}
}

// The daemon mines what arrives, idles without CPU, and stops on SIGTERM
// leaving no plugin behind.
func TestDaemon(t *testing.T) {
	b := proctest.NewBin(t, programs...)
	path := t.TempDir()
	p := b.Start(t, "bc-mine", "--dir", path, "--difficulty", "12", "--max-messages", "3")
	d := openDir(t, path)
	proctest.Eventually(t, 10*time.Second, "the chain to exist", d.HasChain)
	ids := addPending(t, d, "one", "two", "three", "four", "five")
	proctest.Eventually(t, 10*time.Second, "the messages to be mined", func() bool { return mined(t, d, ids) })
	verifyDir(t, b, path)
	more := addPending(t, d, "six")
	proctest.Eventually(t, 10*time.Second, "a late message to be mined", func() bool { return mined(t, d, more) })

	// Idle: under 1% of a core over 10 s, plugin included.
	time.Sleep(500 * time.Millisecond)
	pids := append([]int{p.PID()}, proctest.Children(p.PID())...)
	if len(pids) < 2 {
		t.Fatal("no plugin process under bc-mine")
	}
	var before time.Duration
	for _, pid := range pids {
		c, err := proctest.CPUTime(pid)
		must(t, err)
		before += c
	}
	time.Sleep(10 * time.Second)
	var after time.Duration
	for _, pid := range pids {
		c, err := proctest.CPUTime(pid)
		must(t, err)
		after += c
	}
	used := after - before
	t.Logf("idle bc-mine and its plugin used %v of CPU in 10 s (%.2f%% of a core)", used, float64(used)/float64(10*time.Second)*100)
	if used > 100*time.Millisecond {
		t.Fatalf("idle bc-mine used %v of CPU in 10 s", used)
	}

	if code := p.Signal(syscall.SIGTERM, 5*time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, p.Output())
	}
	for _, pid := range pids[1:] {
		if proctest.Alive(pid) {
			t.Fatalf("plugin %d survived its host's SIGTERM", pid)
		}
	}
	st, ok := node.ReadMinerStatus(d)
	if !ok || st.Running || st.Blocks < 3 {
		t.Fatalf("status file: %+v %v", st, ok)
	}
}

// A tie-break request mines exactly one empty block on the tip it names;
// a request for another tip is dropped without mining.
func TestTiebreak(t *testing.T) {
	b := proctest.NewBin(t, programs...)
	path := t.TempDir()
	p := b.Start(t, "bc-mine", "--dir", path, "--difficulty", "12")
	d := openDir(t, path)
	proctest.Eventually(t, 10*time.Second, "the chain to exist", d.HasChain)
	v, err := d.OpenView(store.ViewOptions{})
	must(t, err)
	defer v.Close()
	height := func() uint64 {
		_, _, err := v.Refresh()
		must(t, err)
		return v.Height()
	}

	must(t, d.RequestTiebreak(chain.Hash{1}))
	proctest.Eventually(t, 10*time.Second, "a request for another tip to be dropped", func() bool {
		_, ok := d.Tiebreak()
		return !ok
	})
	if h := height(); h != 0 {
		t.Fatalf("a stale request was mined: height %d", h)
	}

	must(t, d.RequestTiebreak(v.Tip().Hash))
	proctest.Eventually(t, 10*time.Second, "one empty block", func() bool { return height() == 1 })
	proctest.Eventually(t, 10*time.Second, "the request to be cleared", func() bool {
		_, ok := d.Tiebreak()
		return !ok
	})
	time.Sleep(500 * time.Millisecond)
	if h := height(); h != 1 {
		t.Fatalf("height %d after one tie-break request", h)
	}
	blk, err := v.Block(1)
	must(t, err)
	if len(blk.Data) != 0 {
		t.Fatalf("tie-break block carries %d messages", len(blk.Data))
	}
	verifyDir(t, b, path)
	if code := p.Signal(syscall.SIGTERM, 5*time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
}

// forkFixture is a chain at difficulty 26 (seconds of search per block),
// with two blocks after the genesis, standing in for a longer chain another
// node found.
const forkFixture = "testdata/fork-d26.chain"

func forkParams() chain.Params {
	return chain.Params{Version: chain.FormatVersion, Network: "bc", Strategy: "default", Difficulty: 26}
}

func TestGenerateForkFixture(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate " + forkFixture)
	}
	bld, err := chaintest.NewBuilderParams(strategy.Default{}, forkParams())
	must(t, err)
	must(t, bld.AddN(2, 1))
	must(t, os.MkdirAll("testdata", 0o755))
	must(t, os.WriteFile(forkFixture, bld.Bytes(), 0o644))
}

// The chain is replaced under a searching bc-mine: it cancels the search,
// mines again on the new tip, appends nothing invalid and loses nothing.
//
// The plugin is stopped (SIGSTOP) while the chain is replaced, so that a
// lucky early proof cannot end the search before the replacement: the
// miner must give the search up on its own, without an answer from it.
func TestTipMovedDuringSearch(t *testing.T) {
	fork, err := os.ReadFile(forkFixture)
	must(t, err)
	b := proctest.NewBin(t, programs...)
	var (
		path, ids = "", []string(nil)
		d         *store.Dir
		proc      *proctest.Proc
		plugin    int
	)
	for attempt := 1; ; attempt++ {
		path = t.TempDir()
		d = openDir(t, path)
		p := forkParams()
		_, err = d.Init(context.Background(), &p)
		must(t, err)
		ids = addPending(t, d, "mined on whichever tip is current")
		proc = b.Start(t, "bc-mine", "--dir", path, "--log-level", "debug")
		proctest.Eventually(t, 10*time.Second, "the search to start", func() bool {
			return strings.Contains(proc.Output(), "msg=mining")
		})
		plugins := proctest.Children(proc.PID())
		if len(plugins) != 1 {
			t.Fatalf("want one plugin process under bc-mine, have %v", plugins)
		}
		plugin = plugins[0]
		must(t, syscall.Kill(plugin, syscall.SIGSTOP))
		time.Sleep(100 * time.Millisecond)
		if !mined(t, d, ids) {
			break
		}
		// A lucky proof in the few milliseconds before the stop.
		if attempt == 5 {
			t.Fatal("the plugin found a proof before it was stopped, 5 times in a row")
		}
		must(t, syscall.Kill(plugin, syscall.SIGCONT))
		proc.Kill()
	}
	// Another process adopts a longer chain: atomic replacement.
	must(t, d.WriteFileAtomic(store.ChainFile, fork, store.FileMode))
	proctest.Eventually(t, 10*time.Second, "bc-mine to give up the search on the old tip", func() bool {
		return strings.Contains(proc.Output(), "the chain changed during the search")
	})
	must(t, syscall.Kill(plugin, syscall.SIGCONT))
	proctest.Eventually(t, 60*time.Second, "the message to be mined on the new tip", func() bool { return mined(t, d, ids) })
	got, err := os.ReadFile(d.File(store.ChainFile))
	must(t, err)
	if !bytes.HasPrefix(got, fork) || bytes.Count(got, []byte("\n")) != 4 {
		t.Fatalf("chain is not the fork plus one block:\n%s", got)
	}
	verifyDir(t, b, path)
	if code := proc.Signal(syscall.SIGTERM, 5*time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
}

// SIGKILL at random moments of a busy miner leaves a chain that verifies
// and loses no pending message.
func TestSIGKILL(t *testing.T) {
	b := proctest.NewBin(t, programs...)
	path := t.TempDir()
	d := openDir(t, path)
	p := chain.Params{Version: chain.FormatVersion, Network: "bc", Strategy: "default", Difficulty: 8}
	_, err := d.Init(context.Background(), &p)
	must(t, err)
	var all []string
	rng := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 6; round++ {
		msgs := make([]string, 200)
		for i := range msgs {
			msgs[i] = fmt.Sprintf("round %d message %d", round, i)
		}
		all = append(all, addPending(t, d, msgs...)...)
		proc := b.Start(t, "bc-mine", "--dir", path, "--max-messages", "1")
		// The plugin's process, seen while its host lives.
		var plugins []int
		proctest.Eventually(t, 10*time.Second, "bc-mine's plugin to start", func() bool {
			plugins = proctest.Children(proc.PID())
			return len(plugins) > 0
		})
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		proc.Kill()
		for _, pid := range plugins {
			proctest.Eventually(t, 5*time.Second, fmt.Sprintf("plugin %d to end with its killed host", pid), func() bool {
				return !proctest.Alive(pid)
			})
		}
		verifyDir(t, b, path)
	}
	// A last run mines the rest: nothing was lost.
	_, e, code := b.Run(t, "", "bc-mine", "--dir", path, "--once", "--max-messages", "100")
	if code != 0 {
		t.Fatalf("--once: %d %s", code, e)
	}
	if !mined(t, d, all) {
		t.Fatal("a pending message was lost")
	}
	// ... and none was mined twice.
	v, err := d.OpenView(store.ViewOptions{})
	must(t, err)
	defer v.Close()
	seen := map[string]bool{}
	must(t, v.Lines(1, v.Height(), func(_ uint64, line []byte) error {
		var blk chain.Block
		if err := json.Unmarshal(line, &blk); err != nil {
			return err
		}
		for _, m := range blk.Data {
			if seen[m.ID] {
				return fmt.Errorf("message %s mined twice", m.ID)
			}
			seen[m.ID] = true
		}
		return nil
	}))
}

// The third-party example plugin works end to end (it is built here, as a
// user would build it).
func TestExamplePlugin(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		proctest.SkipMissing(t, "no go toolchain in PATH")
	}
	b := proctest.NewBin(t, programs...)
	build := exec.Command(gobin, "build", "-o", b.Path("bc-pow-sha256d"), "../../contrib/example-plugin/bc-pow-sha256d")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the example: %v\n%s", err, out)
	}
	dir := t.TempDir()
	_, e, code := b.Run(t, "hello\n", "bc-mine", "--dir", dir, "--strategy", "sha256d", "--difficulty", "8", "-")
	if code != 0 {
		t.Fatalf("mine with the example: %d %s", code, e)
	}
	if got := verifyDir(t, b, dir); !strings.Contains(got, "strategy sha256d") {
		t.Fatal(got)
	}
}

// bc-mine's command line, as a manual would show it: testdata/script.
func TestScripts(t *testing.T) { proctest.Scripts(t, "testdata/script") }
