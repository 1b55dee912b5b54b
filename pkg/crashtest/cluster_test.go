package crashtest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/powsdk"
	"github.com/bc-chain/bc/pkg/store"
)

var programs = append(proctest.Names(), "bc-pow-crashy", "bc-pow-stuck")

func TestMain(m *testing.M) {
	proctest.Main(m, map[string]func(){
		"bc-pow-crashy": func() { powsdk.Serve(crashy{}) },
		"bc-pow-stuck":  func() { powsdk.Serve(stuck{}) },
	})
}

var fastGossip = []string{"--gossip-interval", "1s", "--sync-interval", "1s", "--data-interval", "1s", "--timeout", "2s", "--rescan", "1s"}

// cluster is a set of nodes sharing a bin directory.
type cluster struct {
	t   *testing.T
	bin *proctest.Bin
}

func newCluster(t *testing.T) *cluster {
	return &cluster{t: t, bin: proctest.NewBin(t, programs...)}
}

// node is one chain directory and its daemons.
type node struct {
	name       string
	path       string
	port       int
	difficulty int
	procs      map[string]*proctest.Proc
	args       map[string][]string
	env        []string
}

func (c *cluster) node(name string, difficulty int) *node {
	return &node{name: name, path: c.t.TempDir(), port: proctest.FreePort(c.t), difficulty: difficulty,
		procs: map[string]*proctest.Proc{}, args: map[string][]string{}}
}

func (n *node) addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }
func (n *node) url() string  { return "http://" + n.addr() }

func (n *node) dir() *store.Dir {
	d, _ := store.Open(n.path, store.Options{LockWait: 10 * time.Second})
	return d
}

// start runs a daemon on the node's directory.
func (n *node) start(c *cluster, name string, args ...string) {
	full := append([]string{"--dir", n.path}, args...)
	if name == "bc-mine" {
		full = append(full, "--difficulty", strconv.Itoa(n.difficulty))
	}
	n.args[name] = full
	n.procs[name] = c.bin.StartEnv(c.t, n.env, name, full...)
	if name == "bc-mine" {
		proctest.Eventually(c.t, 20*time.Second, n.name+"'s chain", n.dir().HasChain)
	}
}

// restart starts a daemon again with its previous arguments.
func (n *node) restart(c *cluster, name string) {
	n.procs[name] = c.bin.StartEnv(c.t, n.env, name, n.args[name]...)
}

func (n *node) waitHTTP(t *testing.T) {
	proctest.Eventually(t, 20*time.Second, n.name+"'s bc-serve", func() bool {
		r, err := http.Get(n.url() + "/health")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	})
}

func (n *node) health(t *testing.T) map[string]any {
	r, err := http.Get(n.url() + "/health")
	if err != nil {
		return nil
	}
	defer r.Body.Close()
	var h map[string]any
	_ = json.NewDecoder(r.Body).Decode(&h)
	return h
}

func (n *node) tip(t *testing.T) string {
	v, err := n.dir().OpenView(store.ViewOptions{})
	if err != nil {
		return ""
	}
	defer v.Close()
	return v.Tip().Hash.String()
}

func (n *node) height(t *testing.T) uint64 {
	v, err := n.dir().OpenView(store.ViewOptions{})
	if err != nil {
		return 0
	}
	defer v.Close()
	return v.Height()
}

func decodeJSON(r *http.Response, v any) error { return json.NewDecoder(r.Body).Decode(v) }
