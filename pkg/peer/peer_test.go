package peer_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/strategy"
)

var programs = proctest.Names()

func TestMain(m *testing.M) { proctest.Main(m, nil) }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testNode is one node: its directory, port and processes.
type testNode struct {
	t          *testing.T
	bin        *proctest.Bin
	name       string
	dir        string
	port       int
	difficulty int
	procs      map[string]*proctest.Proc
}

func (n *testNode) addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }
func (n *testNode) url() string  { return "http://" + n.addr() }

func newNode(t *testing.T, bin *proctest.Bin, name string, difficulty int) *testNode {
	return &testNode{t: t, bin: bin, name: name, dir: t.TempDir(), port: proctest.FreePort(t), difficulty: difficulty, procs: map[string]*proctest.Proc{}}
}

// fast intervals so that tests do not wait for the seed's 5-20 s.
var fastGossip = []string{"--gossip-interval", "1s", "--sync-interval", "1s", "--data-interval", "1s", "--timeout", "2s", "--rescan", "1s"}

func (n *testNode) startMine(extra ...string) {
	n.procs["bc-mine"] = n.bin.Start(n.t, "bc-mine", append([]string{"--dir", n.dir, "--difficulty", strconv.Itoa(n.difficulty), "--threads", "1"}, extra...)...)
	d, _ := store.Open(n.dir, store.Options{})
	proctest.Eventually(n.t, 10*time.Second, n.name+"'s chain", d.HasChain)
}

func (n *testNode) startServe() {
	n.procs["bc-serve"] = n.bin.Start(n.t, "bc-serve", "--dir", n.dir, "--listen", n.addr())
	proctest.Eventually(n.t, 10*time.Second, n.name+"'s bc-serve", func() bool {
		r, err := http.Get(n.url() + "/health")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	})
}

func (n *testNode) startGossip(peers ...string) {
	args := append([]string{"--dir", n.dir, "--advertise", n.addr(), "--log-level", "debug"}, fastGossip...)
	if len(peers) > 0 {
		args = append(args, "--peers", strings.Join(peers, ","))
	}
	n.procs["bc-gossip"] = n.bin.Start(n.t, "bc-gossip", args...)
}

func (n *testNode) start(peers ...string) {
	n.startMine()
	n.startServe()
	n.startGossip(peers...)
}

func (n *testNode) stop(name string) {
	if p := n.procs[name]; p != nil {
		p.Kill()
		delete(n.procs, name)
	}
}

func (n *testNode) health() map[string]any {
	var h map[string]any
	r, err := http.Get(n.url() + "/health")
	if err != nil {
		return nil
	}
	defer r.Body.Close()
	_ = json.NewDecoder(r.Body).Decode(&h)
	return h
}

func (n *testNode) height() int {
	h := n.health()
	if v, ok := h["height"].(float64); ok {
		return int(v)
	}
	return -1
}

func (n *testNode) tip() string {
	s, _ := n.health()["tip"].(string)
	return s
}

func (n *testNode) add(msg string) string {
	r, err := http.Post(n.url()+"/add", "application/json", strings.NewReader(fmt.Sprintf(`{"message":%q}`, msg)))
	must(n.t, err)
	defer r.Body.Close()
	var res struct{ ID string }
	must(n.t, json.NewDecoder(r.Body).Decode(&res))
	if r.StatusCode != 200 {
		n.t.Fatalf("add: %d", r.StatusCode)
	}
	return res.ID
}

// minedAt reports whether the message is in a block of n's chain.
func (n *testNode) minedAt(id string) bool {
	r, err := http.Get(n.url() + "/data/" + id)
	if err != nil {
		return false
	}
	defer r.Body.Close()
	var st struct{ Status string }
	_ = json.NewDecoder(r.Body).Decode(&st)
	return st.Status == "mined"
}

// ids returns every message id in n's chain, with how often each appears.
func (n *testNode) ids() map[string]int {
	r, err := http.Get(n.url() + "/chain")
	must(n.t, err)
	defer r.Body.Close()
	var doc struct{ Chain []chain.Block }
	must(n.t, json.NewDecoder(r.Body).Decode(&doc))
	out := map[string]int{}
	for _, b := range doc.Chain[1:] {
		for _, m := range b.Data {
			out[m.ID]++
		}
	}
	return out
}

func (n *testNode) verify() {
	out, e, code := n.bin.Run(n.t, "", "bc-verify", n.dir+"/"+store.ChainFile)
	if code != 0 {
		n.t.Fatalf("%s: bc-verify: %s %s", n.name, out, e)
	}
}

func (n *testNode) gossipStatus() node.GossipStatus {
	d, _ := store.Open(n.dir, store.Options{})
	st, _ := node.ReadGossipStatus(d)
	return st
}

// ring starts n nodes where node i's peer is node i+1.
func ring(t *testing.T, count, difficulty int) []*testNode {
	bin := proctest.NewBin(t, programs...)
	nodes := make([]*testNode, count)
	for i := range nodes {
		nodes[i] = newNode(t, bin, fmt.Sprintf("node%d", i+1), difficulty)
	}
	for i, n := range nodes {
		n.start(nodes[(i+1)%count].addr())
	}
	return nodes
}

func converged(nodes []*testNode) bool {
	tip := nodes[0].tip()
	for _, n := range nodes[1:] {
		if n.tip() != tip || tip == "" {
			return false
		}
	}
	return true
}

// Three nodes in a ring: a message added at one node is in a block on all
// three, quickly; the nodes end on one chain.
func TestRingPropagation(t *testing.T) {
	nodes := ring(t, 3, 16)
	var times []time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		id := nodes[0].add(fmt.Sprintf("message %d from node 1", i))
		proctest.Eventually(t, 30*time.Second, "the message on all nodes", func() bool {
			for _, n := range nodes {
				if !n.minedAt(id) {
					return false
				}
			}
			return true
		})
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	t.Logf("message at node 1 → in a block on all 3 nodes (difficulty 16): p50 %v, max %v", times[len(times)/2], times[len(times)-1])
	proctest.Eventually(t, 20*time.Second, "one chain on all nodes", func() bool { return converged(nodes) })
	for _, n := range nodes {
		n.verify()
	}
	// Discovery filled the neighbour lists beyond the ring.
	proctest.Eventually(t, 20*time.Second, "every node to know the two others", func() bool {
		for _, n := range nodes {
			r, err := http.Get(n.url() + "/neighbours")
			if err != nil {
				return false
			}
			var doc struct{ Length int }
			_ = json.NewDecoder(r.Body).Decode(&doc)
			r.Body.Close()
			if doc.Length != 2 {
				return false
			}
		}
		return true
	})
}

// A node stopped for a while catches up by fetching only what it missed.
func TestCatchUp(t *testing.T) {
	bin := proctest.NewBin(t, programs...)
	a, b := newNode(t, bin, "a", 8), newNode(t, bin, "b", 8)
	a.start(b.addr())
	b.start(a.addr())
	first := a.add("before the outage")
	proctest.Eventually(t, 20*time.Second, "b to have the first message", func() bool { return b.minedAt(first) })
	before := b.height()
	for _, p := range []string{"bc-gossip", "bc-mine", "bc-serve"} {
		b.stop(p)
	}
	var ids []string
	for i := 0; i < 40; i++ {
		ids = append(ids, a.add(fmt.Sprint("during the outage ", i)))
		if i%10 == 9 {
			last := ids[len(ids)-1]
			proctest.Eventually(t, 20*time.Second, "a to mine", func() bool { return a.minedAt(last) })
		}
	}
	proctest.Eventually(t, 20*time.Second, "a to mine everything", func() bool { return a.minedAt(ids[len(ids)-1]) })
	missing := a.height() - before
	b.startServe()
	b.startGossip(a.addr())
	proctest.Eventually(t, 30*time.Second, "b to catch up", func() bool { return b.tip() == a.tip() })
	st := b.gossipStatus()
	proctest.Eventually(t, 10*time.Second, "b's status file", func() bool { st = b.gossipStatus(); return st.BlocksAdopted > 0 })
	if int(st.BlocksAdopted) != missing {
		t.Fatalf("b fetched %d blocks, it missed %d", st.BlocksAdopted, missing)
	}
	t.Logf("b missed %d blocks and fetched exactly %d", missing, st.BlocksAdopted)
	b.verify()
}

// Two nodes mine the same message into blocks of equal work: neither chain
// is better and no message is left to mine, so without a tie-break they
// would stay apart. One of them mines an empty block and both end on it.
func TestSymmetricTieSettles(t *testing.T) {
	bin := proctest.NewBin(t, programs...)
	a, b := newNode(t, bin, "a", 8), newNode(t, bin, "b", 8)
	a.startMine()
	b.startMine()
	a.startServe()
	b.startServe()
	same := store.PendingEntry{ID: chain.NewMessageID("relayed to both before the link came up"), Message: "relayed to both before the link came up", Received: uint64(time.Now().UnixMilli())}
	for _, n := range []*testNode{a, b} {
		d, err := store.Open(n.dir, store.Options{})
		must(t, err)
		must(t, d.AddPending(t.Context(), []store.PendingEntry{same}))
		proctest.Eventually(t, 20*time.Second, n.name+" to mine", func() bool { return n.minedAt(same.ID) })
	}
	if a.height() != 1 || b.height() != 1 || a.tip() == b.tip() {
		t.Fatalf("setup: a %d %s, b %d %s", a.height(), a.tip(), b.height(), b.tip())
	}
	a.startGossip(b.addr())
	b.startGossip(a.addr())
	proctest.Eventually(t, 30*time.Second, "one chain", func() bool { return converged([]*testNode{a, b}) })
	if h := a.height(); h != 2 {
		t.Fatalf("converged at height %d, want the tie-break block on top (2)", h)
	}
	for _, n := range []*testNode{a, b} {
		if got := n.ids(); len(got) != 1 || got[same.ID] != 1 {
			t.Fatalf("%s's messages: %v", n.name, got)
		}
		n.verify()
	}
	settled := strings.Contains(a.procs["bc-gossip"].Output(), "asking the miner for an empty block")
	if settled == strings.Contains(b.procs["bc-gossip"].Output(), "asking the miner for an empty block") {
		t.Fatal("not exactly one node asked for a tie-break block")
	}
}

// Two partitions mine separately; once they can talk, both end on the one
// with more work, and no acknowledged message is lost or mined twice.
func TestPartitionsConverge(t *testing.T) {
	bin := proctest.NewBin(t, programs...)
	a, b := newNode(t, bin, "a", 8), newNode(t, bin, "b", 8)
	a.start()
	b.start()
	var acked []string
	for i := 0; i < 3; i++ {
		id := a.add(fmt.Sprint("a alone ", i))
		acked = append(acked, id)
		proctest.Eventually(t, 20*time.Second, "a to mine", func() bool { return a.minedAt(id) })
	}
	for i := 0; i < 6; i++ {
		id := b.add(fmt.Sprint("b alone ", i))
		acked = append(acked, id)
		proctest.Eventually(t, 20*time.Second, "b to mine", func() bool { return b.minedAt(id) })
	}
	if a.height() >= b.height() {
		t.Fatalf("setup: a %d blocks, b %d", a.height(), b.height())
	}
	bTip := b.tip()
	// Heal the partition.
	a.stop("bc-gossip")
	b.stop("bc-gossip")
	a.startGossip(b.addr())
	b.startGossip(a.addr())
	deadline := time.Now().Add(60 * time.Second)
	for {
		var missA, missB []string
		for _, id := range acked {
			if !a.minedAt(id) {
				missA = append(missA, id)
			}
			if !b.minedAt(id) {
				missB = append(missB, id)
			}
		}
		if len(missA) == 0 && len(missB) == 0 && converged([]*testNode{a, b}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: a at %d (%s), b at %d (%s); not mined at a: %v, at b: %v\n--- a's gossip:\n%s\n--- b's gossip:\n%s\n--- a's miner:\n%s\n--- b's miner:\n%s",
				a.height(), a.tip(), b.height(), b.tip(), missA, missB, lastLines(a.procs["bc-gossip"].Output(), 30), lastLines(b.procs["bc-gossip"].Output(), 30),
				lastLines(a.procs["bc-mine"].Output(), 15), lastLines(b.procs["bc-mine"].Output(), 15))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// b's blocks (more work) were kept: its old tip is in the common chain.
	r, err := http.Get(a.url() + "/blocks/" + bTip)
	must(t, err)
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatal("the chain with more work did not win")
	}
	for _, n := range []*testNode{a, b} {
		n.verify()
		for id, count := range n.ids() {
			if count != 1 {
				t.Fatalf("%s: message %s is in %d blocks", n.name, id, count)
			}
		}
	}
	proctest.Eventually(t, 10*time.Second, "a's status to show the reorg", func() bool { return a.gossipStatus().Reorgs > 0 })
}

// hostile is a fake peer that serves whatever a test wants; its fields are
// set before it starts serving and never change.
type hostile struct {
	addr   string
	health string
	page   func(from int) string
	delay  time.Duration
	huge   bool
}

// serve starts h on a loopback port, closed at the end of the test.
func (h *hostile) serve(t *testing.T) *hostile {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	h.addr = l.Addr().String()
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return h
}

func (h *hostile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	delay, huge, health, page := h.delay, h.huge, h.health, h.page
	time.Sleep(delay)
	if huge {
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(strings.Repeat(" ", 64<<10))
		for i := 0; i < 2000; i++ { // 128 MB, far over any limit
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		return
	}
	switch {
	case r.URL.Path == "/health":
		io.WriteString(w, health)
	case r.URL.Path == "/neighbours":
		io.WriteString(w, `{"neighbours":[],"length":0}`)
	case r.URL.Path == "/data":
		io.WriteString(w, `{"data":[],"length":0}`)
	case r.URL.Path == "/blocks":
		q, _ := url.ParseQuery(r.URL.RawQuery)
		if q.Has("before") {
			b, _ := strconv.Atoi(q.Get("before"))
			io.WriteString(w, page(-b))
			return
		}
		from, _ := strconv.Atoi(q.Get("from"))
		io.WriteString(w, page(from))
	default:
		http.NotFound(w, r)
	}
}

func TestRejectsHostilePeers(t *testing.T) {
	t.Run("bad proof", func(t *testing.T) { hostileChain(t, "proof", "proof: proof of work") })
	t.Run("broken link", func(t *testing.T) { hostileChain(t, "link", "previous-hash") })
	t.Run("other genesis", func(t *testing.T) { hostileChain(t, "genesis", "another genesis") })
	t.Run("slow", func(t *testing.T) { stallingPeer(t, "slow") })
	t.Run("oversized", func(t *testing.T) { stallingPeer(t, "huge") })
}

// hostileChain serves a longer chain that is invalid in one way and checks
// the node never writes it and drops the peer for that reason.
func hostileChain(t *testing.T, how, reason string) {
	bin := proctest.NewBin(t, programs...)
	n := newNode(t, bin, "victim", 8)
	n.startMine()
	n.startServe()
	before, err := os.ReadFile(n.dir + "/" + store.ChainFile)
	must(t, err)
	lines, genesis := forgedChain(t, how, 30)
	fake := (&hostile{
		health: healthOf(lines, genesis),
		page:   func(from int) string { return pageOf(lines, genesis, from) },
	}).serve(t)
	n.startGossip(fake.addr)
	proctest.Eventually(t, 20*time.Second, "the peer to be dropped for "+reason, func() bool {
		out := n.procs["bc-gossip"].Output()
		i := strings.Index(out, "dropped a peer")
		return i >= 0 && strings.Contains(out[i:], reason)
	})
	after, err := os.ReadFile(n.dir + "/" + store.ChainFile)
	must(t, err)
	if string(after) != string(before) {
		t.Fatalf("the node wrote blocks from a hostile peer (%s)", how)
	}
	n.verify()
}

// forgedChain builds a chain of length blocks on the node's genesis
// (difficulty 8, network bc), broken as told in exactly one way: the
// blocks after the broken one are sealed on it, so that they link to it
// and carry valid proofs.
func forgedChain(t *testing.T, how string, length int) ([]string, string) {
	params := chain.Params{Version: chain.FormatVersion, Network: "bc", Strategy: "default", Difficulty: 8}
	if how == "genesis" {
		params.Network = "elsewhere"
	}
	b, err := chaintest.NewBuilderParams(strategy.Default{}, params)
	must(t, err)
	must(t, b.AddN(length/2-1, 1))
	switch how {
	case "proof": // a valid block but for its proof
		_, err := b.Add("a block with a bad proof")
		must(t, err)
		c := b.Tip()
		for c.Proof++; ; c.Proof++ {
			if c.Hash = c.ComputeHash(); c.Hash[0] != 0 {
				break
			}
		}
	case "link": // a sealed block whose previous_hash is wrong
		nb := b.Next("a block linked to nothing")
		nb.PrevHash = chain.Hash{1}
		must(t, b.Append(nb))
	}
	must(t, b.AddN(length-len(b.Blocks)+1, 1))
	var lines []string
	for _, blk := range b.Blocks {
		lines = append(lines, string(blk.AppendJSON(nil)))
	}
	return lines, b.Blocks[0].Hash.String()
}

// healthOf is the truthful /health of a peer serving lines.
func healthOf(lines []string, genesis string) string {
	var s chain.Summary
	var p chain.Parser
	if err := p.ParseSummary([]byte(lines[len(lines)-1]), &s); err != nil {
		panic(err)
	}
	return fmt.Sprintf(`{"status":"ok","height":%d,"tip":%q,"genesis":%q}`, len(lines)-1, s.Hash, genesis)
}

// pageOf answers /blocks?from=from (or ?before=-from) from lines.
func pageOf(lines []string, genesis string, from int) string {
	var blocks []string
	if from < 0 { // before
		before := -from
		lo := max(0, before-1)
		blocks = lines[lo:min(before, len(lines))]
	} else if from+1 < len(lines) {
		blocks = lines[from+1 : min(len(lines), from+1+1000)]
	}
	return fmt.Sprintf(`{"blocks":[%s],"tip":%d,"tip_hash":"","genesis":%q,"more":false}`, strings.Join(blocks, ","), len(lines)-1, genesis)
}

// stallingPeer: a slow or oversized peer does not stop the node from
// syncing with a good one.
func stallingPeer(t *testing.T, how string) {
	bin := proctest.NewBin(t, programs...)
	good, n := newNode(t, bin, "good", 8), newNode(t, bin, "victim", 8)
	good.start()
	for i := 0; i < 5; i++ {
		id := good.add(fmt.Sprint("good ", i))
		proctest.Eventually(t, 20*time.Second, "good to mine", func() bool { return good.minedAt(id) })
	}
	lines, genesis := forgedChain(t, "none", 50)
	fake := &hostile{
		health: healthOf(lines, genesis),
		page:   func(from int) string { return pageOf(lines, genesis, from) },
	}
	if how == "slow" {
		fake.delay = time.Minute
	} else {
		fake.huge = true
	}
	fake.serve(t)
	n.startMine()
	n.startServe()
	n.startGossip(fake.addr, good.addr())
	proctest.Eventually(t, 30*time.Second, "the victim to sync with the good peer", func() bool { return n.tip() == good.tip() })
	n.verify()
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	var keep []string
	for _, l := range lines {
		if !strings.Contains(l, "msg=request") && !strings.Contains(l, "DEBUG msg=\"pending data not") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep[max(0, len(keep)-n):], "\n")
}
