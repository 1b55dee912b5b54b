package benchreport

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/strategy"
)

// benchNode is a node run from bin/: bc-mine, bc-serve and bc-gossip.
type benchNode struct {
	dir  string
	port int
	cmds []*exec.Cmd
}

func (n *benchNode) addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }
func (n *benchNode) url() string  { return "http://" + n.addr() }

func (n *benchNode) run(t *testing.T, bin, name string, args ...string) {
	cmd := exec.Command(filepath.Join(bin, name), append([]string{"--dir", n.dir, "--log-file", name + ".log"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmds = append(n.cmds, cmd)
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

func (n *benchNode) stopAll() {
	for _, c := range n.cmds {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	n.cmds = nil
}

func waitHTTP(t *testing.T, u string) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := http.Get(u)
		if err == nil {
			r.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer", u)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startNetwork starts count nodes in a ring with the given creation flags
// and gossip flags.
func startNetwork(t *testing.T, bin string, count int, mineArgs, gossipArgs []string) []*benchNode {
	nodes := make([]*benchNode, count)
	for i := range nodes {
		nodes[i] = &benchNode{dir: t.TempDir(), port: freePort(t)}
	}
	for i, n := range nodes {
		n.run(t, bin, "bc-mine", mineArgs...)
		deadline := time.Now().Add(20 * time.Second)
		for !exists(filepath.Join(n.dir, "node.chain")) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		n.run(t, bin, "bc-serve", "--listen", n.addr())
		waitHTTP(t, n.url()+"/health")
		next := nodes[(i+1)%count]
		n.run(t, bin, "bc-gossip", append([]string{"--peers", next.addr(), "--advertise", n.addr()}, gossipArgs...)...)
	}
	return nodes
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func addMsg(t *testing.T, n *benchNode, msg string) string {
	r, err := http.Post(n.url()+"/add", "application/json", strings.NewReader(fmt.Sprintf(`{"message":%q}`, msg)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var res struct{ ID string }
	_ = json.NewDecoder(r.Body).Decode(&res)
	return res.ID
}

func mined(n *benchNode, id string) bool {
	r, err := http.Get(n.url() + "/data/" + id)
	if err != nil {
		return false
	}
	defer r.Body.Close()
	var st struct{ Status string }
	_ = json.NewDecoder(r.Body).Decode(&st)
	return st.Status == "mined"
}

func healthOf(n *benchNode) (height int, tip string) {
	r, err := http.Get(n.url() + "/health")
	if err != nil {
		return -1, ""
	}
	defer r.Body.Close()
	var h struct {
		Height int
		Tip    string
	}
	_ = json.NewDecoder(r.Body).Decode(&h)
	return h.Height, h.Tip
}

// propagation adds messages at node 0 and times until every node has each
// in a block (and, when sameTip, until all tips agree).
func propagation(t *testing.T, nodes []*benchNode, messages int, sameTip bool, limit time.Duration) []time.Duration {
	var times []time.Duration
	for i := 0; i < messages; i++ {
		start := time.Now()
		id := addMsg(t, nodes[0], fmt.Sprintf("propagation probe %d", i))
		for {
			if allDo(nodes, func(n *benchNode) bool { return mined(n, id) }) && (!sameTip || sameTips(nodes)) {
				break
			}
			if time.Since(start) > limit {
				t.Fatalf("message %d not on all %d nodes after %v", i, len(nodes), limit)
			}
			time.Sleep(5 * time.Millisecond)
		}
		times = append(times, time.Since(start))
		time.Sleep(100 * time.Millisecond)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times
}

// allDo checks cond on every node, concurrently.
func allDo(nodes []*benchNode, cond func(*benchNode) bool) bool {
	var wg sync.WaitGroup
	ok := make([]bool, len(nodes))
	for i, n := range nodes {
		wg.Add(1)
		go func(i int, n *benchNode) { defer wg.Done(); ok[i] = cond(n) }(i, n)
	}
	wg.Wait()
	for _, v := range ok {
		if !v {
			return false
		}
	}
	return true
}

func sameTips(nodes []*benchNode) bool {
	tips := make([]string, len(nodes))
	allDo(nodes, func(n *benchNode) bool {
		for i, m := range nodes {
			if m == n {
				_, tips[i] = healthOf(n)
			}
		}
		return true
	})
	for _, tip := range tips {
		if tip == "" || tip != tips[0] {
			return false
		}
	}
	return true
}

func benchNetwork(t *testing.T, r *report, bin string) {
	const sec = "Network (bc-mine, bc-serve, bc-gossip per node, on loopback)"
	msgs := 20
	if *quick {
		msgs = 5
	}
	// 3 nodes at the default difficulty, the seed's ring.
	nodes := startNetwork(t, bin, 3, nil, nil)
	times := propagation(t, nodes, msgs, false, 60*time.Second)
	p50, worst := times[len(times)/2], times[len(times)-1]
	r.add(Row{Section: sec, What: fmt.Sprintf("3-node ring, default difficulty %d: message added at node 1 → in a block on all 3, %d messages", strategy.DefaultDifficulty, msgs),
		Bc:         fmt.Sprintf("p50 %.2f s, max %.2f s", p50.Seconds(), worst.Seconds()),
		Comparison: "the seed (3 miners in a ring, difficulty 4): 8.5 to 9.6 s (the brief's measurement on this machine)",
		Ratio:      fmt.Sprintf("%.0f× faster at p50 (vs 8.5 s)", 8.5/p50.Seconds()),
		Bar:        fmt.Sprintf("p50 < 1 s, max < 2 s: %s", pass(p50 < time.Second && worst < 2*time.Second))})
	for _, n := range nodes {
		n.stopAll()
	}

	// 20 nodes: convergence after each message.
	count := 20
	if *quick {
		count = 6
	}
	nodes = startNetwork(t, bin, count, []string{"--difficulty", "16", "--threads", "1"}, nil)
	// Let discovery settle a little.
	time.Sleep(3 * time.Second)
	times = propagation(t, nodes, msgs, true, 120*time.Second)
	r.add(Row{Section: sec, What: fmt.Sprintf("%d-node ring (difficulty 16): all nodes on one tip containing the message, %d messages", count, msgs),
		Bc:         fmt.Sprintf("p50 %.2f s, max %.2f s", times[len(times)/2].Seconds(), times[len(times)-1].Seconds()),
		Comparison: "—", Ratio: "—", Bar: "converges after every message: **pass**"})
	for _, n := range nodes {
		n.stopAll()
	}

	benchCatchUp(t, r, bin)
	benchSteadyTraffic(t, r, bin)
}

// chainNode starts serve (+gossip) on a directory holding a generated chain.
func chainNode(t *testing.T, bin string, blocks int) *benchNode {
	n := &benchNode{dir: chainDir(t, blocks), port: freePort(t)}
	n.run(t, bin, "bc-serve", "--listen", n.addr())
	waitHTTP(t, n.url()+"/health")
	return n
}

// benchCatchUp: a fresh node takes a 100,000-block chain from one peer.
func benchCatchUp(t *testing.T, r *report, bin string) {
	blocks := 100_000
	if *quick {
		blocks = 10_000
	}
	src := chainNode(t, bin, blocks)
	fresh := &benchNode{dir: t.TempDir(), port: freePort(t)}
	// The same genesis: the generated chains use network "bench", difficulty 4.
	fresh.run(t, bin, "bc-mine", "--network", "bench", "--difficulty", "4")
	for !exists(filepath.Join(fresh.dir, "node.chain")) {
		time.Sleep(10 * time.Millisecond)
	}
	fresh.run(t, bin, "bc-serve", "--listen", fresh.addr())
	waitHTTP(t, fresh.url()+"/health")
	start := time.Now()
	fresh.run(t, bin, "bc-gossip", "--peers", src.addr(), "--advertise", fresh.addr())
	for {
		h, _ := healthOf(fresh)
		if h == blocks {
			break
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("catch-up stuck at %d of %d", h, blocks)
		}
		time.Sleep(20 * time.Millisecond)
	}
	el := time.Since(start)
	r.add(Row{Section: "Network (bc-mine, bc-serve, bc-gossip per node, on loopback)", What: fmt.Sprintf("fresh node catches up %d blocks from one peer (proofs checked by the plugin)", blocks),
		Bc:         fmt.Sprintf("%.2f s, %.0f blocks/s", el.Seconds(), float64(blocks)/el.Seconds()),
		Comparison: "the seed fetches every neighbour's whole chain every 10 s",
		Ratio:      "—", Bar: fmt.Sprintf("< 10 s: %s", pass(el < 10*time.Second))})
	fresh.stopAll()
	src.stopAll()
}

// responseBytes sums bc_http_response_bytes_total of a node.
func responseBytes(t *testing.T, n *benchNode) float64 {
	r, err := http.Get(n.url() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "bc_http_response_bytes_total{") && !strings.Contains(line, `route="/metrics"`) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			total += v
		}
	}
	return total
}

// benchSteadyTraffic measures the bytes two synced, idle nodes exchange per
// round, on a short and a long chain.
func benchSteadyTraffic(t *testing.T, r *report, bin string) {
	big := 100_000
	if *quick {
		big = 10_000
	}
	var perRound []float64
	for _, blocks := range []int{1000, big} {
		a, b := chainNode(t, bin, blocks), chainNode(t, bin, blocks)
		fast := []string{"--gossip-interval", "1s", "--sync-interval", "1s", "--data-interval", "1s"}
		a.run(t, bin, "bc-gossip", append([]string{"--peers", b.addr(), "--advertise", a.addr()}, fast...)...)
		b.run(t, bin, "bc-gossip", append([]string{"--peers", a.addr(), "--advertise", b.addr()}, fast...)...)
		time.Sleep(3 * time.Second)
		before := responseBytes(t, a) + responseBytes(t, b)
		const rounds = 10
		time.Sleep(rounds * time.Second)
		after := responseBytes(t, a) + responseBytes(t, b)
		pr := (after - before) / rounds
		perRound = append(perRound, pr)
		r.add(Row{Section: "Network (bc-mine, bc-serve, bc-gossip per node, on loopback)",
			What:       fmt.Sprintf("steady state, 2 synced nodes, %d-block chain: bytes answered per round (sync + data + discovery, both nodes)", blocks),
			Bc:         fmt.Sprintf("%.0f bytes/round", pr),
			Comparison: fmt.Sprintf("the seed ships the whole chain to every neighbour each round: ~%.1f MB here", float64(blocks)*294/1e6),
			Ratio:      "—", Bar: "—"})
		a.stopAll()
		b.stopAll()
	}
	r.add(Row{Section: "Network (bc-mine, bc-serve, bc-gossip per node, on loopback)",
		What: fmt.Sprintf("steady-state bytes per round, %d vs 1,000 blocks", big),
		Bc:   fmt.Sprintf("%.0f vs %.0f", perRound[1], perRound[0]), Comparison: fmt.Sprintf("%d× the chain", big/1000),
		Ratio: fmt.Sprintf("%.2f×", perRound[1]/max(perRound[0], 1)),
		Bar:   fmt.Sprintf("independent of chain length: %s", pass(perRound[1] < 1.5*perRound[0]+200))})
}
