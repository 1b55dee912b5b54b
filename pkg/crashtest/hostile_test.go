package crashtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	nodefile "github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/strategy"
)

// fakePeer serves whatever a test gives it.
type fakePeer struct {
	srv  *http.Server
	addr string
	h    http.HandlerFunc
	hits atomic.Int64
}

func newFakePeer(t *testing.T, h http.HandlerFunc) *fakePeer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePeer{addr: l.Addr().String(), h: h}
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		f.h(w, r)
	})}
	go f.srv.Serve(l)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// victim starts a node (mine + serve) with a few blocks.
func victim(t *testing.T, c *cluster) *node {
	n := c.node("victim", 8)
	n.start(c, "bc-mine", "--max-messages", "1")
	n.start(c, "bc-serve", "--listen", n.addr())
	n.waitHTTP(t)
	var ids []string
	for i := 0; i < 5; i++ {
		id, _, _ := addHTTP(t, n, fmt.Sprint("victim's own ", i))
		ids = append(ids, id)
	}
	waitMined(t, n, ids, 20*time.Second)
	return n
}

func genesisOf(t *testing.T, n *node) string {
	g, err := n.dir().ReadGenesis()
	if err != nil {
		t.Fatal(err)
	}
	return g.Hash.String()
}

// A neighbour list full of junk, special addresses and the node's own
// address: the node keeps none of it beyond its limits, never dials the
// special ones and never takes itself as a neighbour.
func TestJunkNeighbourList(t *testing.T) {
	c := newCluster(t)
	n := victim(t, c)
	gen := genesisOf(t, n)
	var list []string
	list = append(list, n.addr(), "localhost:"+strconv.Itoa(n.port), "http://127.0.0.1:"+strconv.Itoa(n.port),
		"169.254.169.254:80", "0.0.0.0:12345", "224.0.0.1:1", "255.255.255.255:1", "[fe80::1]:1",
		strings.Repeat("a", 10000), "::::", "http://u@h/", "-bad-", "x:0")
	for i := 0; i < 5000; i++ {
		list = append(list, fmt.Sprintf("10.%d.%d.%d:%d", i/65536%256, i/256%256, i%256, 1000+i%60000))
	}
	junk, _ := json.Marshal(map[string]any{"neighbours": list, "length": len(list)})
	fake := newFakePeer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			fmt.Fprintf(w, `{"status":"ok","height":0,"genesis":%q}`, gen)
		case "/neighbours":
			w.Write(junk)
		case "/data":
			io.WriteString(w, `{"data":[]}`)
		default:
			http.NotFound(w, r)
		}
	})
	n.start(c, "bc-gossip", append([]string{"--peers", fake.addr, "--advertise", n.addr()}, fastGossip...)...)
	time.Sleep(5 * time.Second)
	bk, err := nodefile.ReadBook(n.dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(bk.Known) > 1+256 {
		t.Fatalf("%d addresses known: the cap did not hold", len(bk.Known))
	}
	for _, k := range bk.Known {
		h := k.Addr.Host()
		if k.Addr == nodefile.Addr(n.addr()) || strings.HasPrefix(h, "169.254.") || h == "0.0.0.0" || strings.HasPrefix(h, "224.") || h == "255.255.255.255" || strings.HasPrefix(h, "fe80") {
			t.Fatalf("kept %s", k.Addr)
		}
	}
	for _, a := range bk.Neighbours {
		if a == nodefile.Addr(n.addr()) {
			t.Fatal("the node took itself as a neighbour")
		}
	}
	if n.health(t)["status"] != "ok" {
		t.Fatal("the node is not healthy")
	}
	t.Logf("%d junk addresses offered, %d kept (learned at most 16 per answer, 64 per minute)", len(list), len(bk.Known))
}

// A peer that claims far more work but serves a fork from the genesis with
// less (or the same) has its fork refused: the local chain stays.
func TestDeepForkWithLessWork(t *testing.T) {
	c := newCluster(t)
	n := victim(t, c)
	before, _ := os.ReadFile(n.dir().File(store.ChainFile))
	params := chain.Params{Version: chain.FormatVersion, Network: "bc", Strategy: "default", Difficulty: 8}
	for _, length := range []int{3, 5} { // less work, then a tie
		b, err := chaintest.NewBuilderParams(strategy.Default{}, params)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.AddN(length, 1); err != nil {
			t.Fatal(err)
		}
		lines := b.Lines()
		gen := b.Blocks[0].Hash.String()
		fake := newFakePeer(t, func(w http.ResponseWriter, r *http.Request) {
			q, _ := url.ParseQuery(r.URL.RawQuery)
			switch r.URL.Path {
			case "/health":
				fmt.Fprintf(w, `{"status":"ok","height":%d,"genesis":%q}`, 1000, gen) // a lie
			case "/blocks":
				var from, to int
				if q.Has("before") {
					bf, _ := strconv.Atoi(q.Get("before"))
					from, to = max(0, bf-1), min(bf, len(lines))
				} else {
					f, _ := strconv.Atoi(q.Get("from"))
					from, to = min(f+1, len(lines)), len(lines)
				}
				parts := make([]string, 0, to-from)
				for _, l := range lines[from:to] {
					parts = append(parts, string(l))
				}
				fmt.Fprintf(w, `{"blocks":[%s],"tip":%d,"genesis":%q,"more":false}`, strings.Join(parts, ","), len(lines)-1, gen)
			case "/neighbours":
				io.WriteString(w, `{"neighbours":[]}`)
			case "/data":
				io.WriteString(w, `{"data":[]}`)
			}
		})
		if p := n.procs["bc-gossip"]; p != nil {
			p.Kill()
		}
		n.start(c, "bc-gossip", append([]string{"--peers", fake.addr, "--advertise", n.addr()}, fastGossip...)...)
		proctest.Eventually(t, 20*time.Second, "the fork to be fetched", func() bool { return fake.hits.Load() > 10 })
		time.Sleep(2 * time.Second)
		after, _ := os.ReadFile(n.dir().File(store.ChainFile))
		if string(after) != string(before) {
			t.Fatalf("a fork of %d blocks replaced a chain of 5", length)
		}
	}
}

// An endless answer is cut at its limit and does not stall the node.
func TestEndlessAnswer(t *testing.T) {
	c := newCluster(t)
	good := victim(t, c)
	n := c.node("reader", 8)
	n.start(c, "bc-mine")
	n.start(c, "bc-serve", "--listen", n.addr())
	n.waitHTTP(t)
	gen := genesisOf(t, good)
	fake := newFakePeer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			fmt.Fprintf(w, `{"status":"ok","height":100000,"genesis":%q,"pad":"`, gen)
		} else {
			io.WriteString(w, `{"blocks":["`)
		}
		chunk := []byte(strings.Repeat("z", 32<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	n.start(c, "bc-gossip", append([]string{"--peers", fake.addr + "," + good.addr(), "--advertise", n.addr()}, fastGossip...)...)
	proctest.Eventually(t, 30*time.Second, "the node to sync from the good peer", func() bool { return n.tip(t) == good.tip(t) })
	proctest.Eventually(t, 10*time.Second, "the endless peer to be asked", func() bool { return fake.hits.Load() > 0 })
	rss := rssOf(n.procs["bc-gossip"].PID())
	t.Logf("bc-gossip RSS with an endless peer: %.1f MiB", float64(rss)/(1<<20))
	if rss > 200<<20 {
		t.Fatalf("an endless answer made bc-gossip grow to %d bytes", rss)
	}
}

func rssOf(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Slowloris: many connections that send their headers a byte at a time do
// not keep bc-serve from answering other clients: one IP holds at most 256
// connections (the rest are closed at once), and those are closed by the
// header timeout.
func TestSlowloris(t *testing.T) {
	c := newCluster(t)
	n := c.node("slow", 8)
	n.start(c, "bc-mine")
	n.start(c, "bc-serve", "--listen", n.addr())
	n.waitHTTP(t)
	var conns []net.Conn
	for i := 0; i < 300; i++ {
		conn, err := net.Dial("tcp", n.addr())
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
		r, err := other.Get(n.url() + "/health")
		if err != nil {
			t.Fatalf("a normal client is refused during the attack: %v", err)
		}
		r.Body.Close()
		if el := time.Since(start); el > time.Second {
			t.Fatalf("a normal request took %v during the attack", el)
		}
		time.Sleep(100 * time.Millisecond)
	}
	open := nodetest.Metric(t, other, n.url(), "bc_http_connections")
	shed := nodetest.Metric(t, other, n.url(), "bc_http_connections_shed_total")
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
