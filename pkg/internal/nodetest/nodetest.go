// Package nodetest is the one harness for "a node under test": a chain
// directory in a temporary folder, bc's real programs started on it as
// processes (the test binary doubles as each of them, see proctest), and
// the questions tests ask a node over HTTP (health, height, tip, whether a
// message is mined) or on disk (verify, ids in the chain).
package nodetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/strategy"
)

// FastGossip are bc-gossip flags that make tests wait for seconds, not for
// the seed's 5 to 20 s intervals.
var FastGossip = []string{"--gossip-interval", "1s", "--sync-interval", "1s", "--data-interval", "1s", "--timeout", "2s", "--rescan", "1s"}

// Must fails the test on a non-nil error.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Cluster is a set of nodes sharing one directory of program links.
type Cluster struct {
	T   testing.TB
	Bin *proctest.Bin
}

// New returns a cluster whose nodes can run bc's programs and extra ones
// (test-only programs registered in the package's TestMain).
func New(t testing.TB, extra ...string) *Cluster {
	return &Cluster{T: t, Bin: proctest.NewBin(t, append(proctest.Names(), extra...)...)}
}

// FromDir returns a cluster whose nodes run the programs built into dir
// (bin/, for benchmarks of the real binaries).
func FromDir(t testing.TB, dir string) *Cluster {
	return &Cluster{T: t, Bin: &proctest.Bin{Dir: dir}}
}

// Node is one chain directory, its loopback port and its running programs.
type Node struct {
	c          *Cluster
	t          testing.TB
	Name       string
	Path       string
	Port       int
	Difficulty int
	Env        []string
	// Host is the IP bc-serve listens on (127.0.0.1 when empty), and Wrap
	// a command that runs each program (such as ip netns exec NS), for
	// nodes in network namespaces of their own.
	Host  string
	Wrap  []string
	procs map[string]*proctest.Proc
	args  map[string][]string
}

// Node makes a node with an empty chain directory; bc-mine creates its
// chain at difficulty.
func (c *Cluster) Node(name string, difficulty int) *Node {
	return &Node{c: c, t: c.T, Name: name, Path: c.T.TempDir(), Port: proctest.FreePort(c.T), Difficulty: difficulty,
		procs: map[string]*proctest.Proc{}, args: map[string][]string{}}
}

// Addr is the node's bc-serve address, URL its base URL.
func (n *Node) Addr() string {
	host := n.Host
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(n.Port))
}

// URL is the base URL of the node's bc-serve.
func (n *Node) URL() string { return "http://" + n.Addr() }

// Dir opens the node's chain directory.
func (n *Node) Dir() *store.Dir {
	d, err := store.Open(n.Path, store.Options{LockWait: 10 * time.Second})
	Must(n.t, err)
	return d
}

// File is the path of a file in the chain directory.
func (n *Node) File(name string) string { return n.Dir().File(name) }

// Start runs a program on the node's directory (--dir is added, and
// --difficulty for bc-mine) and waits for what it provides: the chain for
// bc-mine, the HTTP port for bc-serve.
func (n *Node) Start(program string, args ...string) *proctest.Proc {
	n.t.Helper()
	full := append([]string{"--dir", n.Path}, args...)
	switch program {
	case "bc-mine":
		full = append(full, "--difficulty", strconv.Itoa(n.Difficulty))
	case "bc-serve":
		if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--listen") }) {
			full = append(full, "--listen", n.Addr())
		}
	}
	n.args[program] = full
	p := n.c.Bin.StartWrapped(n.t, n.Env, n.Wrap, program, full...)
	n.procs[program] = p
	switch program {
	case "bc-mine":
		proctest.Eventually(n.t, 20*time.Second, n.Name+"'s chain", n.Dir().HasChain)
	case "bc-serve":
		n.WaitHTTP()
	}
	return p
}

// StartGossip runs bc-gossip with the test intervals, advertising the
// node's address, with peers as --peers.
func (n *Node) StartGossip(peers []string, extra ...string) *proctest.Proc {
	args := append([]string{"--advertise", n.Addr(), "--log-level", "debug"}, FastGossip...)
	if len(peers) > 0 {
		args = append(args, "--peers", strings.Join(peers, ","))
	}
	return n.Start("bc-gossip", append(args, extra...)...)
}

// Proc returns a running program of the node, or nil.
func (n *Node) Proc(program string) *proctest.Proc { return n.procs[program] }

// Stop kills a program of the node.
func (n *Node) Stop(program string) {
	if p := n.procs[program]; p != nil {
		p.Kill()
		delete(n.procs, program)
	}
}

// Restart starts a program again with its previous arguments.
func (n *Node) Restart(program string) *proctest.Proc {
	p := n.c.Bin.StartWrapped(n.t, n.Env, n.Wrap, program, n.args[program]...)
	n.procs[program] = p
	return p
}

// Run runs a program to completion with the node's directory.
func (n *Node) Run(stdin, program string, args ...string) (stdout, stderr string, code int) {
	return n.c.Bin.Run(n.t, stdin, program, append([]string{"--dir", n.Path}, args...)...)
}

// WaitHTTP waits until bc-serve answers.
func (n *Node) WaitHTTP() {
	n.t.Helper()
	proctest.Eventually(n.t, 20*time.Second, n.Name+"'s bc-serve", func() bool {
		r, err := http.Get(n.URL() + "/health")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	})
}

// Health returns the /health answer, or nil when bc-serve does not answer.
func (n *Node) Health() map[string]any {
	r, err := http.Get(n.URL() + "/health")
	if err != nil {
		return nil
	}
	defer r.Body.Close()
	var h map[string]any
	_ = json.NewDecoder(r.Body).Decode(&h)
	return h
}

// Height is the chain height bc-serve reports (-1 when it does not answer).
func (n *Node) Height() int {
	if v, ok := n.Health()["height"].(float64); ok {
		return int(v)
	}
	return -1
}

// Tip is the tip hash bc-serve reports ("" when it does not answer).
func (n *Node) Tip() string {
	s, _ := n.Health()["tip"].(string)
	return s
}

// DiskTip reads the tip from the chain file, without bc-serve.
func (n *Node) DiskTip() chain.Summary {
	v, err := n.Dir().OpenView(store.ViewOptions{})
	if err != nil {
		return chain.Summary{}
	}
	defer v.Close()
	return v.Tip()
}

// AddResult is the answer to an /add.
type AddResult struct {
	Code int
	ID   string
	Body string
}

// TryAdd adds a message through bc-serve's /add (JSON) and returns the
// answer whatever it is.
func (n *Node) TryAdd(msg string) AddResult {
	body, _ := json.Marshal(map[string]string{"message": msg})
	r, err := http.Post(n.URL()+"/add", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return AddResult{Body: err.Error()}
	}
	defer r.Body.Close()
	raw, _ := io.ReadAll(r.Body)
	var res struct{ ID string }
	_ = json.Unmarshal(raw, &res)
	return AddResult{Code: r.StatusCode, ID: res.ID, Body: string(raw)}
}

// Add adds a message and returns its id; anything but 200 fails the test.
func (n *Node) Add(msg string) string {
	n.t.Helper()
	a := n.TryAdd(msg)
	if a.Code != http.StatusOK {
		n.t.Fatalf("%s: add %q: %d %s", n.Name, msg, a.Code, a.Body)
	}
	return a.ID
}

// Status returns bc-serve's /data/<id> answer.
func (n *Node) Status(id string) map[string]any {
	r, err := http.Get(n.URL() + "/data/" + id)
	if err != nil {
		return nil
	}
	defer r.Body.Close()
	var st map[string]any
	_ = json.NewDecoder(r.Body).Decode(&st)
	return st
}

// Mined reports whether bc-serve says the message is in a block.
func (n *Node) Mined(id string) bool { return n.Status(id)["status"] == "mined" }

// WaitMined waits until every id is in a block of the node's chain file.
func (n *Node) WaitMined(ids []string, within time.Duration) {
	n.t.Helper()
	proctest.Eventually(n.t, within, n.Name+" to mine the messages", func() bool {
		in := n.IDs()
		for _, id := range ids {
			if in[id] == 0 {
				return false
			}
		}
		return true
	})
}

// IDs returns every message id in the node's chain file (genesis
// excluded), with how many blocks carry it, and the text it was mined with.
func (n *Node) IDs() map[string]int {
	out := map[string]int{}
	for id := range n.Messages() {
		out[id]++
	}
	return out
}

// Messages returns id → text of every message in the node's chain file
// (genesis excluded); an id mined twice fails the test.
func (n *Node) Messages() map[string]string {
	n.t.Helper()
	v, err := n.Dir().OpenView(store.ViewOptions{})
	if err != nil {
		return nil
	}
	defer v.Close()
	out := map[string]string{}
	var b chain.Block
	var p chain.Parser
	err = v.Lines(1, v.Height(), func(i uint64, line []byte) error {
		if err := p.Parse(line, &b); err != nil {
			return err
		}
		for _, m := range b.Data {
			if _, dup := out[m.ID]; dup {
				return fmt.Errorf("message %s is in the chain twice (block %d)", m.ID, i)
			}
			out[m.ID] = m.Text
		}
		return nil
	})
	Must(n.t, err)
	return out
}

// Verify runs bc-verify on the node's chain file and fails the test unless
// it verifies.
func (n *Node) Verify() {
	n.t.Helper()
	out, errOut, code := n.c.Bin.Run(n.t, "", "bc-verify", n.File(store.ChainFile))
	if code != 0 {
		n.t.Fatalf("%s: bc-verify exit %d: %s %s", n.Name, code, out, errOut)
	}
}

// RSS returns the resident set size of a program of the node, in bytes.
func (n *Node) RSS(program string) int64 {
	p := n.procs[program]
	if p == nil {
		return 0
	}
	return RSSOf(p.PID())
}

// PeakRSS returns the peak resident set size (VmHWM) of a program of the
// node, in bytes.
func (n *Node) PeakRSS(program string) int64 {
	p := n.procs[program]
	if p == nil {
		return 0
	}
	return statusField(p.PID(), "VmHWM:")
}

// RSSOf returns a process's resident set size in bytes (0 if unknown).
func RSSOf(pid int) int64 { return statusField(pid, "VmRSS:") }

func statusField(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Metric reads one unlabelled value from the node's /metrics.
func (n *Node) Metric(name string) float64 {
	n.t.Helper()
	return Metric(n.t, http.DefaultClient, n.URL(), name)
}

// Metric reads one unlabelled value from /metrics at base, through c.
func Metric(t testing.TB, c *http.Client, base, name string) float64 {
	t.Helper()
	r, err := c.Get(base + "/metrics")
	Must(t, err)
	defer r.Body.Close()
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			Must(t, err)
			return f
		}
	}
	t.Fatalf("no metric %s at %s", name, base)
	return 0
}

// Bound marks a test that checks a bound of time or memory (a latency
// percentile, a peak RSS): the race detector slows programs several times
// and multiplies their memory, so such a test is skipped under it, and
// make test runs these packages a second time without it.
func Bound(t testing.TB) {
	t.Helper()
	if RaceEnabled {
		t.Skip("checks a time or memory bound: runs in make test's pass without the race detector")
	}
}

// Chain loads the node's chain file into a builder that can extend or fork
// it (with the default strategy, in this process).
func (n *Node) Chain() *chaintest.Builder {
	n.t.Helper()
	f, err := os.Open(n.File(store.ChainFile))
	Must(n.t, err)
	defer f.Close()
	b, err := chaintest.Load(f, strategy.Default{})
	Must(n.t, err)
	return b
}

// Exec runs a program to completion with args as given (no --dir).
func (n *Node) Exec(stdin, program string, args ...string) (stdout, stderr string, code int) {
	return n.c.Bin.Run(n.t, stdin, program, args...)
}

// Create makes the node's chain (bc-mine --once at its difficulty) without
// leaving a miner running, so that messages stay pending until a test
// starts one.
func (n *Node) Create() {
	n.t.Helper()
	if out, errOut, code := n.Run("", "bc-mine", "--once", "--difficulty", strconv.Itoa(n.Difficulty)); code != 0 {
		n.t.Fatalf("%s: bc-mine --once: exit %d: %s %s", n.Name, code, out, errOut)
	}
}

// SlowConn opens a connection to addr (from the local IP from, when not
// nil) with a 4 KiB receive buffer and sends request on it: a client that
// reads slowly, or not at all, from the server's side.
func SlowConn(ctx context.Context, addr, request string, from net.IP) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) }); err != nil {
			return err
		}
		return serr
	}}
	if from != nil {
		d.LocalAddr = &net.TCPAddr{IP: from}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(conn, request); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
