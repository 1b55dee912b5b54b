package peer_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/fakepeer"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
)

// Hostile peers: each test is one attack of the threat model (README,
// "Threat model") by a fake node that speaks bc's protocol, against real
// bc programs, and the defence that holds.

// newVictim makes a node whose chain exists (difficulty 8) with bc-serve
// running, and a fake peer of its chain.
func newVictim(t *testing.T) (*nodetest.Node, *fakepeer.Peer) {
	t.Helper()
	c := nodetest.New(t)
	n := c.Node("victim", 8)
	n.Create()
	n.Start("bc-serve")
	g, err := n.Dir().ReadGenesis()
	nodetest.Must(t, err)
	return n, fakepeer.Start(t, g.Hash)
}

// banned returns the ban reason of addr in the node's book, or "".
func banned(n *nodetest.Node, addr string) string {
	b, err := node.ReadBook(n.Dir())
	if err != nil {
		return ""
	}
	for _, k := range b.Known {
		if string(k.Addr) == addr && k.Banned > time.Now().UnixMilli() {
			return k.BanReason
		}
	}
	return ""
}

// A peer mines a valid block carrying the id of our pending message with
// its own text: the block is invalid (ids are bound to their text), the
// peer is banned, and our message is mined with its own text.
func TestSquatBlockRefused(t *testing.T) {
	n, fake := newVictim(t)
	id := n.Add("my words")
	squat := n.Chain()
	nb := squat.Next()
	nb.Data = []chain.Message{{ID: id, Text: "the attacker's words"}}
	nodetest.Must(t, squat.Append(nb)) // a valid proof of work
	fake.SetChain(squat.Lines())
	n.StartGossip([]string{fake.Addr})
	proctest.Eventually(t, 20*time.Second, "the squatting peer to be banned", func() bool {
		return strings.Contains(banned(n, fake.Addr), "unbound-id")
	})
	if st := n.Status(id); st["status"] != "pending" || st["message"] != "my words" {
		t.Fatalf("after the squat, /data/%s says %v", id, st)
	}
	// A retry of the same message is the same message, not a conflict.
	if a := n.TryAdd("my words"); a.Code != 200 {
		t.Fatalf("retry: %d %s", a.Code, a.Body)
	}
	n.Start("bc-mine")
	proctest.Eventually(t, 20*time.Second, "our message to be mined", func() bool { return n.Mined(id) })
	if got := n.Messages()[id]; got != "my words" {
		t.Fatalf("mined as %q", got)
	}
	n.Verify()
}

// Two reorgs. A longer fork that reuses our mined message's id with other
// text is invalid and refused. A longer fork that simply lacks a message
// (one that reached us inside a peer's block, so that no pending entry of
// ours holds it) is adopted, and the message goes back to pending and is
// mined again, once, with its text.
func TestReorgKeepsEveryMessage(t *testing.T) {
	n, fake := newVictim(t)
	mine := n.Add("ours, mined here")
	n.Start("bc-mine")
	proctest.Eventually(t, 20*time.Second, "our message to be mined", func() bool { return n.Mined(mine) })
	n.Stop("bc-mine")

	// A longer fork from the genesis whose first block squats our id.
	base := n.Chain()
	squat := base.Fork(0)
	nb := squat.Next()
	nb.Data = []chain.Message{{ID: mine, Text: "rewritten by a peer"}}
	nodetest.Must(t, squat.Append(nb))
	nodetest.Must(t, squat.AddN(3, 1))
	fake.SetChain(squat.Lines())
	n.StartGossip([]string{fake.Addr})
	proctest.Eventually(t, 20*time.Second, "the squatting fork to be refused", func() bool {
		return strings.Contains(banned(n, fake.Addr), "unbound-id")
	})
	if got := n.Messages()[mine]; got != "ours, mined here" {
		t.Fatalf("after the squatting fork, our message reads %q", got)
	}
	n.Stop("bc-gossip")

	// An honest-looking peer extends our chain with a block carrying a
	// message we never had pending; we take it.
	fake2 := fakepeer.Start(t, base.Blocks[0].Hash)
	ext := n.Chain()
	carried, err := ext.Add("arrived inside a peer's block")
	nodetest.Must(t, err)
	fake2.SetChain(ext.Lines())
	n.StartGossip([]string{fake2.Addr})
	proctest.Eventually(t, 20*time.Second, "the extension", func() bool { return n.Height() == int(carried.Index) })
	// Then a longer fork from the genesis without either message: adopted;
	// both messages go back to pending.
	fork := ext.Fork(0)
	nodetest.Must(t, fork.AddN(int(carried.Index)+2, 1))
	fake2.SetChain(fork.Lines())
	proctest.Eventually(t, 20*time.Second, "the longer fork", func() bool { return n.Tip() == fork.Tip().Hash.String() })
	for _, id := range []string{mine, carried.Data[0].ID} {
		if st := n.Status(id); st["status"] != "pending" {
			t.Fatalf("message %s after the reorg: %v, want pending", id, st)
		}
	}
	n.Start("bc-mine")
	proctest.Eventually(t, 20*time.Second, "both messages to be mined again", func() bool {
		return n.Mined(mine) && n.Mined(carried.Data[0].ID)
	})
	msgs := n.Messages() // fails on an id mined twice
	if msgs[carried.Data[0].ID] != "arrived inside a peer's block" || msgs[mine] != "ours, mined here" {
		t.Fatalf("re-mined as %q and %q", msgs[mine], msgs[carried.Data[0].ID])
	}
	n.Verify()
}

// A peer that claims our height with a tip it cannot show never makes us
// mine a tie-break block; it is scored each round and banned. It may serve
// nothing at all, or serve our own chain (so that a common ancestor is
// found) while claiming a tip it does not have, one that would make us the
// side that settles the tie.
func TestUnprovenTieBanned(t *testing.T) {
	t.Run("empty pages", func(t *testing.T) { unprovenTie(t, true) })
	t.Run("our chain, another tip", func(t *testing.T) { unprovenTie(t, false) })
}

func unprovenTie(t *testing.T, empty bool) {
	n, fake := newVictim(t)
	n.Add("a block of our own, so that the tie is above the genesis")
	if out, errOut, code := n.Run("", "bc-mine", "--once"); code != 0 {
		t.Fatalf("bc-mine --once: %s %s", out, errOut)
	}
	tip := n.Chain().Tip()
	fake.SetChain(n.Chain().Lines())
	fake.Claim(tip.Index, strings.Repeat("0", 63)+"1") // smaller than ours: we would settle
	fake.EmptyPages(empty)
	n.Start("bc-mine")
	n.StartGossip([]string{fake.Addr})
	proctest.Eventually(t, 30*time.Second, "the lying peer to be banned", func() bool { return banned(n, fake.Addr) != "" })
	if _, err := os.Stat(n.File(store.TiebreakFile)); err == nil {
		t.Fatal("a peer with an unproven tie made the node ask for a tie-break block")
	}
	if h := n.Height(); h != int(tip.Index) {
		t.Fatalf("the node mined (height %d, was %d) for a peer that proved nothing", h, tip.Index)
	}
	t.Logf("banned: %s", banned(n, fake.Addr))
}

// A peer serves a valid fork with more work that is larger than the reorg
// limit: refused, its tip not downloaded again, the peer scored; a second
// oversized fork gets it banned.
func TestOversizedForkRefusedOnce(t *testing.T) {
	n, fake := newVictim(t)
	for i := 0; i < 3; i++ {
		n.Add(fmt.Sprint("ours ", i))
	}
	if out, errOut, code := n.Run("", "bc-mine", "--once", "--max-messages", "1"); code != 0 {
		t.Fatalf("bc-mine --once: %s %s", out, errOut)
	}
	base := n.Chain()
	fork := base.Fork(0)
	big := strings.Repeat("x", 3000)
	for i := 0; i < 40; i++ { // about 120 KB of blocks
		_, err := fork.Add(fmt.Sprint(i, big))
		nodetest.Must(t, err)
	}
	fake.SetChain(fork.Lines())
	n.StartGossip([]string{fake.Addr}, "--max-reorg-bytes", "65536")
	proctest.Eventually(t, 20*time.Second, "the fork to be refused", func() bool {
		return strings.Contains(n.Proc("bc-gossip").Output(), "max reorg bytes")
	})
	time.Sleep(500 * time.Millisecond)
	served := fake.BytesServed()
	time.Sleep(4 * time.Second) // four more sync rounds
	if again := fake.BytesServed() - served; again > 16<<10 {
		t.Fatalf("the refused fork was downloaded again: %d more bytes served", again)
	}
	if banned(n, fake.Addr) != "" {
		t.Fatal("banned after one oversized fork; it should take two")
	}
	// Another oversized tip: scored again, banned.
	_, err := fork.Add("one more")
	nodetest.Must(t, err)
	fake.SetChain(fork.Lines())
	proctest.Eventually(t, 20*time.Second, "the peer to be banned", func() bool { return banned(n, fake.Addr) != "" })
	if n.Tip() != base.Tip().Hash.String() {
		t.Fatal("an oversized fork was taken")
	}
}

// A flood of pending data from a peer: intake is bounded per pull and the
// peers' share is bounded in all, local clients are never refused, and
// memory stays bounded.
func TestPendingFlood(t *testing.T) {
	nodetest.Bound(t)
	n, fake := newVictim(t)
	fake.SetChain(n.Chain().Lines())
	text := strings.Repeat("f", 4000)
	round := 0
	fake.SetData(func() []store.PendingEntry {
		round++
		es := make([]store.PendingEntry, 3000)
		for i := range es {
			m := fmt.Sprintf("%d.%d %s", round, i, text)
			es[i] = store.PendingEntry{ID: chain.NewMessageID(m), Message: m, Received: 1}
		}
		return es
	})
	n.StartGossip([]string{fake.Addr})
	deadline := time.Now().Add(12 * time.Second)
	var peak int64
	for time.Now().Before(deadline) {
		if a := n.TryAdd(fmt.Sprint("local during the flood ", time.Now().UnixNano())); a.Code != 200 {
			t.Fatalf("a local client was refused during the flood: %d %s", a.Code, a.Body)
		}
		peak = max(peak, n.RSS("bc-serve"), n.RSS("bc-gossip"))
		time.Sleep(200 * time.Millisecond)
	}
	peer := 0
	var peerBytes int
	d := n.Dir()
	log := d.FollowPending()
	es, _, err := log.Read()
	log.Close()
	nodetest.Must(t, err)
	for _, e := range es {
		if e.From != "" {
			peer++
			peerBytes += len(e.Message)
		}
	}
	t.Logf("12 s of 3,000 x 4 KB per pull: %d messages (%d KiB) taken from the peer; peak RSS %d MiB; %d pulls",
		peer, peerBytes>>10, peak>>20, fake.Hits("/data"))
	if peerBytes > 8<<20 || peer > 50_000 {
		t.Fatalf("the peers' share of pending was exceeded: %d messages, %d bytes", peer, peerBytes)
	}
	if peer == 0 {
		t.Fatal("nothing was taken from the peer: the test proves nothing")
	}
	if perPull := peerBytes / max(1, fake.Hits("/data")); perPull > 1<<20+4096 {
		t.Fatalf("%d bytes taken per pull, the bound is 1 MiB", perPull)
	}
	if peak > 150<<20 {
		t.Fatalf("peak RSS %d MiB, want under 150", peak>>20)
	}
}

// A slow peer (just under the timeout per answer, claiming a long fork it
// bisects us through) does not delay an honest neighbour's blocks: they
// are adopted within twice the time a node without the attacker takes,
// plus one timeout.
func TestSlowPeerDoesNotDelayHonestBlocks(t *testing.T) {
	nodetest.Bound(t)
	c := nodetest.New(t)
	honest := c.Node("honest", 8)
	calm, attacked := c.Node("calm", 8), c.Node("attacked", 8)
	honest.Start("bc-mine")
	honest.Start("bc-serve")
	honest.StartGossip([]string{calm.Addr(), attacked.Addr()})
	g, err := honest.Dir().ReadGenesis()
	nodetest.Must(t, err)
	slow := fakepeer.Start(t, g.Hash)
	lie := honest.Chain().Fork(0)
	nodetest.Must(t, lie.AddN(50, 1))
	slow.SetChain(lie.Lines())
	slow.Claim(1_000_000, lie.Tip().Hash.String())
	slow.SetDelay(1900 * time.Millisecond) // the tests' timeout is 2 s

	for _, v := range []*nodetest.Node{calm, attacked} {
		v.Create()
		v.Start("bc-serve")
	}
	calm.StartGossip([]string{honest.Addr()})
	attacked.StartGossip([]string{honest.Addr(), slow.Addr})
	proctest.Eventually(t, 20*time.Second, "both victims to catch up", func() bool {
		return calm.Tip() == honest.Tip() && attacked.Tip() == honest.Tip()
	})
	time.Sleep(3 * time.Second) // the slow peer's syncs are under way
	var calmMax, attackedMax time.Duration
	for i := 0; i < 5; i++ {
		id := honest.Add(fmt.Sprint("honest block ", i))
		start := time.Now()
		var tc, ta time.Duration
		proctest.Eventually(t, 30*time.Second, "both victims to have the block", func() bool {
			if tc == 0 && calm.Mined(id) {
				tc = time.Since(start)
			}
			if ta == 0 && attacked.Mined(id) {
				ta = time.Since(start)
			}
			return tc > 0 && ta > 0
		})
		calmMax, attackedMax = max(calmMax, tc), max(attackedMax, ta)
	}
	t.Logf("honest block adoption, slowest of 5: %v without the slow peer, %v with it (%d requests to it)", calmMax, attackedMax,
		slow.Hits("/health")+slow.Hits("/blocks"))
	if attackedMax > 2*calmMax+2*time.Second {
		t.Fatalf("with a slow peer an honest block took %v, without %v: more than twice plus one timeout", attackedMax, calmMax)
	}
}

// A neighbour list of 10,000 dead addresses fills the book, but addresses
// never reached make room: a good address offered later is still learned
// and becomes a neighbour.
func TestAddressBookEvictsJunk(t *testing.T) {
	c := nodetest.New(t)
	good := c.Node("good", 8)
	good.Start("bc-mine")
	good.Start("bc-serve")
	n := c.Node("victim", 8)
	n.Create()
	n.Start("bc-serve")
	g, err := n.Dir().ReadGenesis()
	nodetest.Must(t, err)
	fake := fakepeer.Start(t, g.Hash)
	fake.SetChain(n.Chain().Lines())
	var junk []string
	for i := 0; i < 10_000; i++ {
		junk = append(junk, fmt.Sprintf("10.%d.%d.%d:%d", i>>16&255, i>>8&255, i&255, 1000+i%50000))
	}
	fake.SetNeighbours(junk)
	n.StartGossip([]string{fake.Addr}, "--max-known", "32", "--learn-per-minute", "1000", "--max-neighbours", "2")
	proctest.Eventually(t, 20*time.Second, "the book to fill with junk", func() bool {
		b, _ := node.ReadBook(n.Dir())
		return len(b.Known) >= 32
	})
	// Now the peer also offers a good address, among fresh junk.
	fake.SetNeighbours(append([]string{good.Addr()}, junk[5000:]...))
	proctest.Eventually(t, 40*time.Second, "the good address to become a neighbour", func() bool {
		b, _ := node.ReadBook(n.Dir())
		return bytes.Contains(b.Encode(), []byte(`"neighbours": [`)) && containsAddr(b.Neighbours, good.Addr())
	})
	b, _ := node.ReadBook(n.Dir())
	if len(b.Known) > 32+2 {
		t.Fatalf("%d addresses known with --max-known 32", len(b.Known))
	}
}

func containsAddr(list []node.Addr, a string) bool {
	for _, x := range list {
		if string(x) == a {
			return true
		}
	}
	return false
}

// 200 announcements of a high tip in 2 s, from a neighbour's address: the
// node answers 429 beyond the rate, and starts a handful of syncs, not 200.
func TestAnnouncementFlood(t *testing.T) {
	n, fake := newVictim(t)
	fake.SetChain(n.Chain().Lines())
	n.StartGossip([]string{fake.Addr})
	time.Sleep(2 * time.Second)
	before := fake.Hits("/health")
	refused := 0
	start := time.Now()
	for i := 0; i < 200; i++ {
		code, err := fake.Announce(n.URL(), fake.Addr, uint64(1000+i), chain.Hash{byte(i), 1}, nil)
		nodetest.Must(t, err)
		if code == 429 {
			refused++
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	time.Sleep(time.Second)
	window := time.Since(start)
	probes := fake.Hits("/health") - before
	t.Logf("200 announcements in %v: %d refused with 429; %d /health requests to the announcer", elapsed.Round(time.Millisecond), refused, probes)
	if refused < 100 {
		t.Fatalf("only %d of 200 announcements in %v were refused", refused, elapsed)
	}
	// Each second: one sync that announcements start, one periodic round
	// and one discovery probe (the tests' intervals are 1 s).
	if limit := 3*int(window.Seconds()+1) + 2; probes > limit {
		t.Fatalf("%d syncs started by 200 announcements (at most %d)", probes, limit)
	}
}
