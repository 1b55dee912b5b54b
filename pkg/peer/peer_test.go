package peer_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/internal/fakepeer"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/strategy"
)

func TestMain(m *testing.M) { proctest.Main(m, nil) }

var must = nodetest.Must

// ring starts count nodes where node i's peer is node i+1, each with
// bc-mine (one thread), bc-serve and bc-gossip.
func ring(t *testing.T, count, difficulty int) []*nodetest.Node {
	c := nodetest.New(t)
	nodes := make([]*nodetest.Node, count)
	for i := range nodes {
		nodes[i] = c.Node(fmt.Sprintf("node%d", i+1), difficulty)
	}
	for i, n := range nodes {
		startAll(n, nodes[(i+1)%count].Addr())
	}
	return nodes
}

// startAll starts a node's bc-mine, bc-serve and bc-gossip with peers.
func startAll(n *nodetest.Node, peers ...string) {
	n.Start("bc-mine", "--threads", "1")
	n.Start("bc-serve")
	n.StartGossip(peers)
}

func converged(nodes []*nodetest.Node) bool {
	tip := nodes[0].Tip()
	for _, n := range nodes[1:] {
		if n.Tip() != tip || tip == "" {
			return false
		}
	}
	return true
}

func gossipStatus(n *nodetest.Node) node.GossipStatus {
	st, _ := node.ReadGossipStatus(n.Dir())
	return st
}

// Three nodes in a ring: a message added at one node is in a block on all
// three, quickly; the nodes end on one chain.
func TestRingPropagation(t *testing.T) {
	nodes := ring(t, 3, 16)
	var times []time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		id := nodes[0].Add(fmt.Sprintf("message %d from node 1", i))
		proctest.Eventually(t, 30*time.Second, "the message on all nodes", func() bool {
			for _, n := range nodes {
				if !n.Mined(id) {
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
		n.Verify()
	}
	// Discovery filled the neighbour lists beyond the ring.
	proctest.Eventually(t, 20*time.Second, "every node to know the two others", func() bool {
		for _, n := range nodes {
			r, err := http.Get(n.URL() + "/neighbours")
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
	c := nodetest.New(t)
	a, b := c.Node("a", 8), c.Node("b", 8)
	startAll(a, b.Addr())
	startAll(b, a.Addr())
	first := a.Add("before the outage")
	proctest.Eventually(t, 20*time.Second, "b to have the first message", func() bool { return b.Mined(first) })
	before := b.Height()
	for _, p := range []string{"bc-gossip", "bc-mine", "bc-serve"} {
		b.Stop(p)
	}
	var ids []string
	for i := 0; i < 40; i++ {
		ids = append(ids, a.Add(fmt.Sprint("during the outage ", i)))
		if i%10 == 9 {
			last := ids[len(ids)-1]
			proctest.Eventually(t, 20*time.Second, "a to mine", func() bool { return a.Mined(last) })
		}
	}
	proctest.Eventually(t, 20*time.Second, "a to mine everything", func() bool { return a.Mined(ids[len(ids)-1]) })
	missing := a.Height() - before
	b.Start("bc-serve")
	b.StartGossip([]string{a.Addr()})
	proctest.Eventually(t, 30*time.Second, "b to catch up", func() bool { return b.Tip() == a.Tip() })
	st := gossipStatus(b)
	proctest.Eventually(t, 10*time.Second, "b's status file", func() bool { st = gossipStatus(b); return st.BlocksAdopted > 0 })
	if int(st.BlocksAdopted) != missing {
		t.Fatalf("b fetched %d blocks, it missed %d", st.BlocksAdopted, missing)
	}
	t.Logf("b missed %d blocks and fetched exactly %d", missing, st.BlocksAdopted)
	b.Verify()
}

// Two nodes mine the same message into blocks of equal work: neither chain
// is better and no message is left to mine, so without a tie-break they
// would stay apart. One of them mines an empty block and both end on it.
func TestSymmetricTieSettles(t *testing.T) {
	c := nodetest.New(t)
	a, b := c.Node("a", 8), c.Node("b", 8)
	a.Start("bc-mine", "--threads", "1")
	b.Start("bc-mine", "--threads", "1")
	a.Start("bc-serve")
	b.Start("bc-serve")
	same := store.PendingEntry{ID: chain.NewMessageID("relayed to both before the link came up"), Message: "relayed to both before the link came up", Received: uint64(time.Now().UnixMilli())}
	for _, n := range []*nodetest.Node{a, b} {
		must(t, n.Dir().AddPending(t.Context(), []store.PendingEntry{same}))
		proctest.Eventually(t, 20*time.Second, n.Name+" to mine", func() bool { return n.Mined(same.ID) })
	}
	if a.Height() != 1 || b.Height() != 1 || a.Tip() == b.Tip() {
		t.Fatalf("setup: a %d %s, b %d %s", a.Height(), a.Tip(), b.Height(), b.Tip())
	}
	a.StartGossip([]string{b.Addr()})
	b.StartGossip([]string{a.Addr()})
	proctest.Eventually(t, 30*time.Second, "one chain", func() bool { return converged([]*nodetest.Node{a, b}) })
	if h := a.Height(); h != 2 {
		t.Fatalf("converged at height %d, want the tie-break block on top (2)", h)
	}
	for _, n := range []*nodetest.Node{a, b} {
		if got := n.IDs(); len(got) != 1 || got[same.ID] != 1 {
			t.Fatalf("%s's messages: %v", n.Name, got)
		}
		n.Verify()
	}
	settled := strings.Contains(a.Proc("bc-gossip").Output(), "asking the miner for an empty block")
	if settled == strings.Contains(b.Proc("bc-gossip").Output(), "asking the miner for an empty block") {
		t.Fatal("not exactly one node asked for a tie-break block")
	}
}

// Two partitions mine separately; once they can talk, both end on the one
// with more work, and no acknowledged message is lost or mined twice.
func TestPartitionsConverge(t *testing.T) {
	c := nodetest.New(t)
	a, b := c.Node("a", 8), c.Node("b", 8)
	startAll(a)
	startAll(b)
	var acked []string
	for i := 0; i < 3; i++ {
		id := a.Add(fmt.Sprint("a alone ", i))
		acked = append(acked, id)
		proctest.Eventually(t, 20*time.Second, "a to mine", func() bool { return a.Mined(id) })
	}
	for i := 0; i < 6; i++ {
		id := b.Add(fmt.Sprint("b alone ", i))
		acked = append(acked, id)
		proctest.Eventually(t, 20*time.Second, "b to mine", func() bool { return b.Mined(id) })
	}
	if a.Height() >= b.Height() {
		t.Fatalf("setup: a %d blocks, b %d", a.Height(), b.Height())
	}
	bTip := b.Tip()
	// Heal the partition.
	a.Stop("bc-gossip")
	b.Stop("bc-gossip")
	a.StartGossip([]string{b.Addr()})
	b.StartGossip([]string{a.Addr()})
	deadline := time.Now().Add(60 * time.Second)
	for {
		var missA, missB []string
		for _, id := range acked {
			if !a.Mined(id) {
				missA = append(missA, id)
			}
			if !b.Mined(id) {
				missB = append(missB, id)
			}
		}
		if len(missA) == 0 && len(missB) == 0 && converged([]*nodetest.Node{a, b}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: a at %d (%s), b at %d (%s); not mined at a: %v, at b: %v\n--- a's gossip:\n%s\n--- b's gossip:\n%s\n--- a's miner:\n%s\n--- b's miner:\n%s",
				a.Height(), a.Tip(), b.Height(), b.Tip(), missA, missB, lastLines(a.Proc("bc-gossip").Output(), 30), lastLines(b.Proc("bc-gossip").Output(), 30),
				lastLines(a.Proc("bc-mine").Output(), 15), lastLines(b.Proc("bc-mine").Output(), 15))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// b's blocks (more work) were kept: its old tip is in the common chain.
	r, err := http.Get(a.URL() + "/blocks/" + bTip)
	must(t, err)
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatal("the chain with more work did not win")
	}
	for _, n := range []*nodetest.Node{a, b} {
		n.Verify()
		for id, count := range n.IDs() {
			if count != 1 {
				t.Fatalf("%s: message %s is in %d blocks", n.Name, id, count)
			}
		}
	}
	proctest.Eventually(t, 10*time.Second, "a's status to show the reorg", func() bool { return gossipStatus(a).Reorgs > 0 })
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
	n := nodetest.New(t).Node("victim", 8)
	n.Start("bc-mine", "--threads", "1")
	n.Start("bc-serve")
	before, err := os.ReadFile(n.File(store.ChainFile))
	must(t, err)
	lines, genesis := forgedChain(t, how, 30)
	fake := fakepeer.Start(t, mustHash(t, genesis))
	fake.SetChain(lines)
	n.StartGossip([]string{fake.Addr})
	proctest.Eventually(t, 20*time.Second, "the peer to be dropped for "+reason, func() bool {
		out := n.Proc("bc-gossip").Output()
		i := strings.Index(out, "dropped a peer")
		return i >= 0 && strings.Contains(out[i:], reason)
	})
	after, err := os.ReadFile(n.File(store.ChainFile))
	must(t, err)
	if string(after) != string(before) {
		t.Fatalf("the node wrote blocks from a hostile peer (%s)", how)
	}
	n.Verify()
}

// forgedChain builds a chain of length blocks on the node's genesis
// (difficulty 8, network bc), broken as told in exactly one way: the
// blocks after the broken one are sealed on it, so that they link to it
// and carry valid proofs.
func forgedChain(t *testing.T, how string, length int) ([][]byte, string) {
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
	return b.Lines(), b.Blocks[0].Hash.String()
}

func mustHash(t *testing.T, s string) chain.Hash {
	h, err := chain.ParseHash(s)
	must(t, err)
	return h
}

// stallingPeer: a slow or oversized peer does not stop the node from
// syncing with a good one.
func stallingPeer(t *testing.T, how string) {
	c := nodetest.New(t)
	good, n := c.Node("good", 8), c.Node("victim", 8)
	startAll(good)
	for i := 0; i < 5; i++ {
		id := good.Add(fmt.Sprint("good ", i))
		proctest.Eventually(t, 20*time.Second, "good to mine", func() bool { return good.Mined(id) })
	}
	lines, genesis := forgedChain(t, "none", 50)
	fake := fakepeer.Start(t, mustHash(t, genesis))
	fake.SetChain(lines)
	if how == "slow" {
		fake.SetDelay(time.Minute)
	} else {
		fake.Endless(true)
	}
	n.Start("bc-mine", "--threads", "1")
	n.Start("bc-serve")
	n.StartGossip([]string{fake.Addr, good.Addr()})
	proctest.Eventually(t, 30*time.Second, "the victim to sync with the good peer", func() bool { return n.Tip() == good.Tip() })
	n.Verify()
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

// bc-gossip's command line, as a manual would show it: testdata/script.
func TestScripts(t *testing.T) { proctest.Scripts(t, "testdata/script") }
