package crashtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/internal/fakepeer"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	nodefile "github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
)

// victim starts a node (mine + serve) with a few blocks, and a fake peer
// of its chain.
func victim(t *testing.T) (*nodetest.Node, *fakepeer.Peer) {
	c := nodetest.New(t)
	n := c.Node("victim", 8)
	n.Start("bc-mine", "--max-messages", "1")
	n.Start("bc-serve")
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, n.Add(fmt.Sprint("victim's own ", i)))
	}
	n.WaitMined(ids, 20*time.Second)
	g, err := n.Dir().ReadGenesis()
	nodetest.Must(t, err)
	return n, fakepeer.Start(t, g.Hash)
}

// A neighbour list full of junk, special addresses and the node's own
// address: the node keeps none of it beyond its limits, never dials the
// special ones and never takes itself as a neighbour.
func TestJunkNeighbourList(t *testing.T) {
	n, fake := victim(t)
	var list []string
	list = append(list, n.Addr(), "localhost:"+strconv.Itoa(n.Port), "http://127.0.0.1:"+strconv.Itoa(n.Port),
		"169.254.169.254:80", "0.0.0.0:12345", "224.0.0.1:1", "255.255.255.255:1", "[fe80::1]:1",
		strings.Repeat("a", 10000), "::::", "http://u@h/", "-bad-", "x:0")
	for i := 0; i < 5000; i++ {
		list = append(list, fmt.Sprintf("10.%d.%d.%d:%d", i/65536%256, i/256%256, i%256, 1000+i%60000))
	}
	fake.SetChain(n.Chain().Lines())
	fake.SetNeighbours(list)
	n.StartGossip([]string{fake.Addr})
	// Progress is the junk being read, three times.
	proctest.Eventually(t, 20*time.Second, "the junk list to be read three times", func() bool { return fake.Hits("/neighbours") >= 3 })
	bk, err := nodefile.ReadBook(n.Dir())
	nodetest.Must(t, err)
	if len(bk.Known) > 1+256 {
		t.Fatalf("%d addresses known: the cap did not hold", len(bk.Known))
	}
	learned := 0
	for _, k := range bk.Known {
		h := k.Addr.Host()
		if k.Addr == nodefile.Addr(n.Addr()) || strings.HasPrefix(h, "169.254.") || h == "0.0.0.0" || strings.HasPrefix(h, "224.") || h == "255.255.255.255" || strings.HasPrefix(h, "fe80") {
			t.Fatalf("kept %s", k.Addr)
		}
		if strings.HasPrefix(h, "10.") {
			learned++
		}
	}
	if learned == 0 {
		t.Fatal("no address of the list was learned: the test proves nothing")
	}
	for _, a := range bk.Neighbours {
		if a == nodefile.Addr(n.Addr()) {
			t.Fatal("the node took itself as a neighbour")
		}
	}
	if h := n.Health(); h["status"] != "ok" {
		t.Fatalf("the node is not healthy: %v", h)
	}
	t.Logf("%d junk addresses offered, %d kept (learned at most 16 per answer, 64 per minute)", len(list), len(bk.Known))
}

// A peer that claims far more work but serves a fork from the genesis with
// less (or the same) has its fork refused: the local chain stays, and the
// peer is scored for the claim it could not back.
func TestDeepForkWithLessWork(t *testing.T) {
	n, fake := victim(t)
	before, err := os.ReadFile(n.File(store.ChainFile))
	nodetest.Must(t, err)
	base := n.Chain()
	for _, length := range []int{3, 5} { // less work, then a tie
		fork := base.Fork(0)
		nodetest.Must(t, fork.AddN(length, 1))
		fake.SetChain(fork.Lines())
		fake.Claim(1000, fork.Tip().Hash.String()) // a lie
		if n.Proc("bc-gossip") != nil {
			n.Stop("bc-gossip")
		}
		asked := fake.Hits("/blocks")
		n.StartGossip([]string{fake.Addr})
		proctest.Eventually(t, 20*time.Second, "the fork to be asked for", func() bool { return fake.Hits("/blocks") > asked })
		proctest.Eventually(t, 20*time.Second, "the peer to be scored", func() bool {
			return strings.Contains(n.Proc("bc-gossip").Output(), "a peer misbehaved")
		})
		after, err := os.ReadFile(n.File(store.ChainFile))
		nodetest.Must(t, err)
		if string(after) != string(before) {
			t.Fatalf("a fork of %d blocks replaced a chain of 5", length)
		}
	}
}

// An endless answer is cut at its limit and does not stall the node.
func TestEndlessAnswer(t *testing.T) {
	good, fake := victim(t)
	fake.Endless(true)
	n := nodetest.New(t).Node("reader", 8)
	n.Start("bc-mine")
	n.Start("bc-serve")
	n.StartGossip([]string{fake.Addr, good.Addr()})
	proctest.Eventually(t, 30*time.Second, "the node to sync from the good peer", func() bool { return n.Tip() == good.Tip() })
	proctest.Eventually(t, 10*time.Second, "the endless peer to be asked", func() bool { return fake.Hits("/health") > 0 })
	rss := n.PeakRSS("bc-gossip")
	t.Logf("bc-gossip peak RSS with an endless peer: %.1f MiB", float64(rss)/(1<<20))
	if rss == 0 || rss > 200<<20 {
		t.Fatalf("bc-gossip's peak RSS with an endless peer: %d bytes", rss)
	}
}

// Slowloris: many connections that send their headers a byte at a time do
// not keep bc-serve from answering other clients: one IP holds at most 256
// connections (the rest are closed at once), and those are closed by the
// header timeout.
func TestSlowloris(t *testing.T) {
	c := nodetest.New(t, "bc-pow-crashy", "bc-pow-stuck")
	n := c.Node("slow", 8)
	n.Start("bc-mine")
	n.Start("bc-serve", "--listen", n.Addr())
	n.WaitHTTP()
	var conns []net.Conn
	for i := 0; i < 300; i++ {
		conn, err := net.Dial("tcp", n.Addr())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, conn)
		fmt.Fprint(conn, "GET /health HTTP/1.1\r\nHost: x\r\n")
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	stop := make(chan struct{})
	go func() { // a byte every 500 ms on each
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
				for _, c := range conns {
					c.Write([]byte("X"))
				}
			}
		}
	}()
	defer close(stop)
	// Another client, from another loopback address.
	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}
	for i := 0; i < 20; i++ {
		start := time.Now()
		r, err := other.Get(n.URL() + "/health")
		if err != nil {
			t.Fatalf("a normal client is refused during the attack: %v", err)
		}
		r.Body.Close()
		if el := time.Since(start); el > time.Second {
			t.Fatalf("a normal request took %v during the attack", el)
		}
		time.Sleep(100 * time.Millisecond)
	}
	open := nodetest.Metric(t, other, n.URL(), "bc_http_connections")
	shed := nodetest.Metric(t, other, n.URL(), "bc_http_connections_shed_total")
	t.Logf("300 slow connections from one IP: %v open, %v closed at once", open, shed)
	if open > 256+1 || shed < 300-256 {
		t.Fatalf("%v connections open (%v shed): the per-IP limit of 256 did not hold", open, shed)
	}
	// The slow connections are closed by the header timeout.
	conns[0].SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.ReadAll(conns[0]); err != nil {
		t.Fatalf("a slow connection was not closed by bc-serve: %v", err)
	}
}
