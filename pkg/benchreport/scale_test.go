package benchreport

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/store"
)

// benchScale runs networks of 10, 30 and 100 real nodes on loopback
// (bc-serve and bc-gossip each, miners on a few of them, bc-backup off)
// and reports how far and how fast each new block spreads, the bytes each
// node serves per block and the CPU an idle node costs.
func benchScale(t *testing.T, r *report, bin string) {
	sizes := []int{10, 30, 100}
	blocks := 10
	if *quick {
		sizes, blocks = []int{10}, 3
	}
	for _, n := range sizes {
		scaleRow(t, r, bin, n, blocks)
	}
}

// scaleDifficulty keeps the miners' share of the two cores small, so that
// what is measured is the spreading, not the mining.
const scaleDifficulty = 18

func scaleRow(t *testing.T, r *report, bin string, count, blocks int) {
	c := nodetest.FromDir(t, bin)
	nodes := make([]*nodetest.Node, count)
	for i := range nodes {
		nodes[i] = c.Node(fmt.Sprint("n", i+1), scaleDifficulty)
		nodes[i].Create()
	}
	// Every bc-serve first (each start waits for it to answer, which the
	// gossip of a hundred nodes would slow), then the gossip, in a ring
	// to start from: discovery finds the rest.
	for _, n := range nodes {
		run(n, "bc-serve")
	}
	for i, n := range nodes {
		run(n, "bc-gossip", "--peers", nodes[(i+1)%count].Addr(), "--advertise", n.Addr())
	}
	defer func() {
		for _, n := range nodes {
			stopAll(n)
		}
	}()
	time.Sleep(time.Duration(5+count/10) * time.Second) // discovery and first syncs settle
	idle := idleCPU(t, nodes, 10*time.Second)
	before := sentBytes(nodes)
	// One block at a time, each mined by one of three nodes in turn with
	// bc-mine --once, timed until it is every node's tip.
	var to50, to99, to100 []time.Duration
	for b := 0; b < blocks; b++ {
		miner := nodes[(b*count/3)%count]
		miner.Add(fmt.Sprintf("scale probe %d", b))
		if out, errOut, code := miner.Run("", "bc-mine", "--once", "--difficulty", strconv.Itoa(scaleDifficulty)); code != 0 {
			t.Fatalf("bc-mine --once: %s %s", out, errOut)
		}
		tip := miner.DiskTip()
		// The block's birth: when the miner's chain file got it.
		st, err := os.Stat(miner.File(store.ChainFile))
		if err != nil {
			t.Fatal(err)
		}
		start := st.ModTime()
		p50, p99, all, reached := spread(nodes, tip.Hash, start, 60*time.Second)
		if reached < count {
			r.add(Row{Section: "scale", What: fmt.Sprintf("%d real nodes on loopback, block %d", count, b+1),
				Bc: fmt.Sprintf("reached %d of %d nodes in 60 s", reached, count), Comparison: "—", Ratio: "—",
				Bar: fmt.Sprintf("every block reaches every node: %s", pass(false))})
			return
		}
		to50, to99, to100 = append(to50, p50), append(to99, p99), append(to100, all)
	}
	after := sentBytes(nodes)
	med := func(ds []time.Duration) string {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return fmt.Sprintf("%.2f", ds[len(ds)/2].Seconds())
	}
	worst := func(ds []time.Duration) float64 { return ds[len(ds)-1].Seconds() }
	r.add(Row{Section: "scale", What: fmt.Sprintf("%d real nodes on loopback (bc-serve + bc-gossip each, --max-neighbours 3), %d blocks mined in turn on 3 nodes", count, blocks),
		Bc: fmt.Sprintf("block to 50 %% of nodes p50 %s s, 99 %% p50 %s s, 100 %% p50 %s s (max %.2f s); %.1f kB written per node per block (bc-serve and bc-gossip: sockets and status files); idle %.2f %% of a core per node",
			med(to50), med(to99), med(to100), worst(to100), (after-before)/float64(count*blocks)/1000, idle),
		Comparison: "all on one machine of 2 cores: every node's CPU comes from the same two", Ratio: "—",
		Bar: fmt.Sprintf("every block reaches every node: %s", pass(true))})
}

// spread polls every node's chain file until it holds h and returns when
// 50 %, 99 % and 100 % of them did, counted from start, or how many it
// reached within limit.
func spread(nodes []*nodetest.Node, h chain.Hash, start time.Time, limit time.Duration) (p50, p99, all time.Duration, reached int) {
	got := make([]time.Duration, len(nodes))
	left := len(nodes)
	deadline := time.Now().Add(limit)
	for left > 0 {
		for i, n := range nodes {
			if got[i] == 0 && hasTip(n, h) {
				got[i] = max(time.Since(start), time.Millisecond)
				left--
			}
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, len(nodes) - left
		}
		time.Sleep(20 * time.Millisecond)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	at := func(q float64) time.Duration { return got[min(len(got)-1, int(q*float64(len(got)-1)+0.5))] }
	return at(.5), at(.99), got[len(got)-1], len(nodes)
}

// hasTip reports whether the node's chain ends with h (or has gone past
// it: a later block on top).
func hasTip(n *nodetest.Node, h chain.Hash) bool {
	s := n.DiskTip()
	return s.Hash == h || s.PrevHash == h
}

// idleCPU returns the CPU that the nodes' bc-serve and bc-gossip use per
// node while nothing happens, in percent of one core.
func idleCPU(t *testing.T, nodes []*nodetest.Node, d time.Duration) float64 {
	ticks := func() float64 {
		total := 0.0
		for _, n := range nodes {
			for _, p := range []string{"bc-serve", "bc-gossip"} {
				if pr := n.Proc(p); pr != nil {
					total += cpuTicks(pr.PID())
				}
			}
		}
		return total
	}
	t0 := ticks()
	time.Sleep(d)
	// Linux counts in clock ticks of 1/100 s.
	return (ticks() - t0) / 100 / d.Seconds() * 100 / float64(len(nodes))
}

// cpuTicks returns utime+stime of a process from /proc (0 elsewhere).
func cpuTicks(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return u + k
}

// sentBytes sums what the nodes' bc-serve and bc-gossip wrote (wchar of
// /proc/PID/io: sockets, and a few small status files).
func sentBytes(nodes []*nodetest.Node) float64 {
	total := 0.0
	for _, n := range nodes {
		for _, p := range []string{"bc-serve", "bc-gossip"} {
			pr := n.Proc(p)
			if pr == nil {
				continue
			}
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pr.PID()))
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "wchar: "); ok {
					f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
					total += f
				}
			}
		}
	}
	return total
}
