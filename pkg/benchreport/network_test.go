package benchreport

import (
	"bufio"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/strategy"
)

// run starts a program of bin/ on the node, its log in a file of the
// chain directory so that the report's output stays clean.
func run(n *nodetest.Node, program string, args ...string) {
	n.Start(program, append(args, "--log-file", program+".log")...)
}

// stopAll stops the node's programs.
func stopAll(n *nodetest.Node) {
	for _, p := range []string{"bc-gossip", "bc-serve", "bc-mine"} {
		n.Stop(p)
	}
}

// startNetwork starts count nodes (bc-mine, bc-serve, bc-gossip) in a ring,
// their chains created at difficulty.
func startNetwork(t *testing.T, bin string, count, difficulty int, mineArgs, gossipArgs []string) []*nodetest.Node {
	c := nodetest.FromDir(t, bin)
	nodes := make([]*nodetest.Node, count)
	for i := range nodes {
		nodes[i] = c.Node(fmt.Sprint("node", i+1), difficulty)
	}
	for i, n := range nodes {
		run(n, "bc-mine", mineArgs...)
		run(n, "bc-serve")
		next := nodes[(i+1)%count]
		run(n, "bc-gossip", append([]string{"--peers", next.Addr(), "--advertise", n.Addr()}, gossipArgs...)...)
	}
	return nodes
}

// propagation adds messages at node 0 and times until every node has each
// in a block (and, when sameTip, until all tips agree).
func propagation(t *testing.T, nodes []*nodetest.Node, messages int, sameTip bool, limit time.Duration) []time.Duration {
	var times []time.Duration
	for i := 0; i < messages; i++ {
		start := time.Now()
		id := nodes[0].Add(fmt.Sprintf("propagation probe %d", i))
		for {
			if allDo(nodes, func(n *nodetest.Node) bool { return n.Mined(id) }) && (!sameTip || sameTips(nodes)) {
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
func allDo(nodes []*nodetest.Node, cond func(*nodetest.Node) bool) bool {
	var wg sync.WaitGroup
	ok := make([]bool, len(nodes))
	for i, n := range nodes {
		wg.Add(1)
		go func(i int, n *nodetest.Node) { defer wg.Done(); ok[i] = cond(n) }(i, n)
	}
	wg.Wait()
	for _, v := range ok {
		if !v {
			return false
		}
	}
	return true
}

func sameTips(nodes []*nodetest.Node) bool {
	tips := make([]string, len(nodes))
	allDo(nodes, func(n *nodetest.Node) bool {
		for i, m := range nodes {
			if m == n {
				tips[i] = n.Tip()
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
	nodes := startNetwork(t, bin, 3, int(strategy.DefaultDifficulty), nil, nil)
	times := propagation(t, nodes, msgs, false, 60*time.Second)
	p50, worst := times[len(times)/2], times[len(times)-1]
	r.add(Row{Section: sec, What: fmt.Sprintf("3-node ring, default difficulty %d: message added at node 1 → in a block on all 3, %d messages", strategy.DefaultDifficulty, msgs),
		Bc:         fmt.Sprintf("p50 %.2f s, max %.2f s", p50.Seconds(), worst.Seconds()),
		Comparison: "the seed (3 miners in a ring, difficulty 4): 8.5 to 9.6 s (the brief's measurement on this machine)",
		Ratio:      fmt.Sprintf("%.0f× faster at p50 (vs 8.5 s)", 8.5/p50.Seconds()),
		Bar:        fmt.Sprintf("p50 < 1 s, max < 2 s: %s", pass(p50 < time.Second && worst < 2*time.Second))})
	for _, n := range nodes {
		stopAll(n)
	}

	// 20 nodes: convergence after each message.
	count := 20
	if *quick {
		count = 6
	}
	nodes = startNetwork(t, bin, count, 16, []string{"--threads", "1"}, nil)
	// Let discovery settle a little.
	time.Sleep(3 * time.Second)
	times = propagation(t, nodes, msgs, true, 120*time.Second)
	r.add(Row{Section: sec, What: fmt.Sprintf("%d-node ring (difficulty 16): all nodes on one tip containing the message, %d messages", count, msgs),
		Bc:         fmt.Sprintf("p50 %.2f s, max %.2f s", times[len(times)/2].Seconds(), times[len(times)-1].Seconds()),
		Comparison: "—", Ratio: "—", Bar: "converges after every message: **pass**"})
	for _, n := range nodes {
		stopAll(n)
	}

	benchCatchUp(t, r, bin)
	benchSteadyTraffic(t, r, bin)
}

// chainNode starts bc-serve on a directory holding a generated chain.
func chainNode(t *testing.T, c *nodetest.Cluster, blocks int) *nodetest.Node {
	n := c.Node(fmt.Sprint("chain", blocks), 4)
	copyChain(t, blocks, n.Path)
	run(n, "bc-serve")
	return n
}

// benchCatchUp: a fresh node takes a 100,000-block chain from one peer.
func benchCatchUp(t *testing.T, r *report, bin string) {
	blocks := 100_000
	if *quick {
		blocks = 10_000
	}
	c := nodetest.FromDir(t, bin)
	src := chainNode(t, c, blocks)
	fresh := c.Node("fresh", 4)
	// The same genesis: the generated chains use network "bench", difficulty 4.
	run(fresh, "bc-mine", "--network", "bench")
	run(fresh, "bc-serve")
	start := time.Now()
	run(fresh, "bc-gossip", "--peers", src.Addr(), "--advertise", fresh.Addr())
	for {
		if fresh.Height() == blocks {
			break
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("catch-up stuck at %d of %d", fresh.Height(), blocks)
		}
		time.Sleep(20 * time.Millisecond)
	}
	el := time.Since(start)
	r.add(Row{Section: "Network (bc-mine, bc-serve, bc-gossip per node, on loopback)", What: fmt.Sprintf("fresh node catches up %d blocks from one peer (proofs checked by the plugin)", blocks),
		Bc:         fmt.Sprintf("%.2f s, %.0f blocks/s", el.Seconds(), float64(blocks)/el.Seconds()),
		Comparison: "the seed fetches every neighbour's whole chain every 10 s",
		Ratio:      "—", Bar: fmt.Sprintf("< 10 s: %s", pass(el < 10*time.Second))})
	stopAll(fresh)
	stopAll(src)
}

// responseBytes sums bc_http_response_bytes_total of a node.
func responseBytes(t *testing.T, n *nodetest.Node) float64 {
	r, err := http.Get(n.URL() + "/metrics")
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
	c := nodetest.FromDir(t, bin)
	for _, blocks := range []int{1000, big} {
		a, b := chainNode(t, c, blocks), chainNode(t, c, blocks)
		fast := []string{"--gossip-interval", "1s", "--sync-interval", "1s", "--data-interval", "1s"}
		run(a, "bc-gossip", append([]string{"--peers", b.Addr(), "--advertise", a.Addr()}, fast...)...)
		run(b, "bc-gossip", append([]string{"--peers", a.Addr(), "--advertise", b.Addr()}, fast...)...)
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
		stopAll(a)
		stopAll(b)
	}
	r.add(Row{Section: "Network (bc-mine, bc-serve, bc-gossip per node, on loopback)",
		What: fmt.Sprintf("steady-state bytes per round, %d vs 1,000 blocks", big),
		Bc:   fmt.Sprintf("%.0f vs %.0f", perRound[1], perRound[0]), Comparison: fmt.Sprintf("%d× the chain", big/1000),
		Ratio: fmt.Sprintf("%.2f×", perRound[1]/max(perRound[0], 1)),
		Bar:   fmt.Sprintf("independent of chain length: %s", pass(perRound[1] < 1.5*perRound[0]+200))})
}
