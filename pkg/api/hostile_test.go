package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/strategy"
)

// Hostile HTTP clients: each test is one attack of the threat model
// (README, "Threat model") against a real bc-serve, and the bound that
// defends against it.

// servedNode starts bc-serve on a chain of blocks blocks (difficulty 0,
// one message each) and returns the node and a builder that continues it.
func servedNode(t *testing.T, blocks int, serveArgs ...string) (*nodetest.Node, *chaintest.Builder) {
	t.Helper()
	c := nodetest.New(t)
	n := c.Node("victim", 0)
	params := chain.Params{Version: chain.FormatVersion, Network: "test", Strategy: "default", Difficulty: 0}
	f, err := os.Create(n.File(store.ChainFile))
	nodetest.Must(t, err)
	nodetest.Must(t, chaintest.Generate(f, strategy.Default{}, params, blocks, 1))
	nodetest.Must(t, f.Close())
	tip, err := n.Dir().OpenView(store.ViewOptions{})
	nodetest.Must(t, err)
	last, err := tip.Block(tip.Height())
	nodetest.Must(t, err)
	tip.Close()
	n.Start("bc-serve", serveArgs...)
	return n, chaintest.Continue(strategy.Default{}, params, last)
}

// appendBlocks appends a block to the node's chain every interval until
// ctx ends, as a miner or a peer would.
func appendBlocks(ctx context.Context, t *testing.T, n *nodetest.Node, b *chaintest.Builder, every time.Duration) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d := n.Dir()
		for ctx.Err() == nil {
			prev := b.Tip().Hash
			nb, err := b.Add(fmt.Sprint("block at ", time.Now().UnixNano()))
			if err != nil {
				t.Error(err)
				return
			}
			if err := d.Append(ctx, prev, [][]byte{nb.AppendJSON(nil)}); err != nil && ctx.Err() == nil {
				t.Error(err)
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(every):
			}
		}
	}()
	return &wg
}

// slowClient opens a connection that sends request and then reads
// nothing (see nodetest.SlowConn); it is closed at the end of the test.
func slowClient(t *testing.T, addr, request string) net.Conn {
	t.Helper()
	conn, err := nodetest.SlowConn(context.Background(), addr, request, nil)
	nodetest.Must(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// latencies measures count sequential GETs of url, failing the test on an
// error; each request may take at most a second.
func latencies(t *testing.T, url string, count int, pause time.Duration) []time.Duration {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	out := make([]time.Duration, 0, count)
	for i := 0; i < count; i++ {
		start := time.Now()
		r, err := client.Get(url)
		if err != nil {
			t.Fatalf("request %d of %s: %v", i, url, err)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		out = append(out, time.Since(start))
		time.Sleep(pause)
	}
	return out
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// 100 clients read /chain of a 100,000-block chain through a 4 KiB
// receive buffer while blocks keep arriving: no lock is held while a
// chunk is written to them, so /health keeps answering at once and the
// node keeps following its chain.
func TestSlowChainReadersDoNotStall(t *testing.T) {
	nodetest.Bound(t)
	n, b := servedNode(t, 100_000)
	req := "GET /chain HTTP/1.1\r\nHost: " + n.Addr() + "\r\n\r\n"
	for i := 0; i < 100; i++ {
		slowClient(t, n.Addr(), req)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wg := appendBlocks(ctx, t, n, b, 20*time.Millisecond)
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(2 * time.Second) // the readers' buffers fill, blocks arrive
	before := n.Height()
	lat := latencies(t, n.URL()+"/health", 200, 10*time.Millisecond)
	after := n.Height()
	p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
	t.Logf("/health with 100 slow /chain readers and a block every 20 ms: p50 %v, p99 %v; height %d -> %d", p50, p99, before, after)
	if p99 > 100*time.Millisecond {
		t.Fatalf("/health p99 %v with slow readers connected, want under 100 ms", p99)
	}
	if after <= before {
		t.Fatalf("the node stopped following its chain (height %d -> %d)", before, after)
	}
}

// A client that stops reading in the middle of an answer is cut off once
// the answer's write deadline (10 s plus its size at 32 KiB/s) passes.
func TestStalledReaderIsCutOff(t *testing.T) {
	n, _ := servedNode(t, 20_000)
	conn := slowClient(t, n.Addr(), "GET /chain HTTP/1.1\r\nHost: x\r\n\r\n")
	// 20,000 blocks are about 6 MB: the deadline is about 10 s + 6 MB at
	// 32 KiB/s, but a reader that never reads is cut at the first write
	// that cannot finish, at most writeGrace after the answer started.
	time.Sleep(13 * time.Second)
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	n64, err := io.Copy(io.Discard, conn)
	if err == nil && n64 > 6_000_000 {
		t.Fatalf("the whole answer (%d bytes) was delivered to a reader that stalled for 13 s", n64)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept the stalled connection open for 33 s (read %d bytes)", n64)
	}
	t.Logf("stalled reader got %d bytes, then the server closed the connection (%v)", n64, err)
}

// A form body of 10 MB is refused at max_body_bytes (413) without being
// read into memory, even 24 at a time.
func TestHugeFormBody(t *testing.T) {
	nodetest.Bound(t)
	n, _ := servedNode(t, 10)
	before := n.RSS("bc-serve")
	body := "message=" + strings.Repeat("x", 10<<20)
	var wg sync.WaitGroup
	codes := make(chan int, 24)
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := http.Post(n.URL()+"/add", "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil {
				codes <- 0 // the server may close the connection before reading it all
				return
			}
			r.Body.Close()
			codes <- r.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	got413 := 0
	for c := range codes {
		switch c {
		case http.StatusRequestEntityTooLarge:
			got413++
		case 0:
		default:
			t.Fatalf("a 10 MB form got %d, want 413", c)
		}
	}
	if got413 == 0 {
		t.Fatal("no 413 for a 10 MB form body")
	}
	growth := n.RSS("bc-serve") - before
	t.Logf("24 parallel 10 MB forms: %d answered 413; bc-serve RSS grew by %d MiB", got413, growth>>20)
	if growth > 64<<20 {
		t.Fatalf("bc-serve grew by %d MiB reading forms it refuses", growth>>20)
	}
}

// /events clients that never read are cut off at their write deadline and
// their slots stay taken until then: the number of streams never exceeds
// the cap, however often the attacker reconnects.
func TestEventStreamsCapHolds(t *testing.T) {
	const max = 8
	n, _ := servedNode(t, 10, "--max-event-clients", strconv.Itoa(max))
	d := n.Dir()
	big := strings.Repeat("y", 4000)
	start, total := time.Now(), 0
	for round := 0; round < 4; round++ {
		opened := 0
		for i := 0; i < 2*max; i++ {
			conn := slowClient(t, n.Addr(), "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			if strings.Contains(line, " 200 ") {
				opened++
			} else {
				conn.Close()
			}
		}
		// 2,000 pending events of 4 KB, in batches (bc-serve publishes at
		// most 256 per refresh): more than any socket buffer and than a
		// subscriber's 256 events of slack hold.
		for batch := 0; batch < 10; batch++ {
			var es []store.PendingEntry
			for i := 0; i < 200; i++ {
				m := fmt.Sprint(round, batch, i, big)
				es = append(es, store.PendingEntry{ID: chain.NewMessageID(m), Message: m, Received: 1})
			}
			nodetest.Must(t, d.AddPending(context.Background(), es))
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		total += opened
		streams := n.Metric("bc_event_clients")
		goroutines := n.Metric("go_goroutines")
		t.Logf("round %d: %d streams opened, %v held, %v goroutines", round, opened, streams, goroutines)
		if streams > max {
			t.Fatalf("%v event streams held with a cap of %d", streams, max)
		}
		if goroutines > 60 {
			t.Fatalf("%v goroutines in bc-serve with %d event streams allowed", goroutines, max)
		}
	}
	// The streams dropped for being slow are still blocked in a write (the
	// deadline is 10 s away): no slot may have been given again meanwhile.
	if el := time.Since(start); total > max && el < 9*time.Second {
		t.Fatalf("%d streams opened in %v with a cap of %d: dropped streams gave their slots back while their handlers still wrote", total, el, max)
	}
}

// One strict parser for /add: a field given twice, trailing data, text
// that is not UTF-8 and unknown fields are refused in the query, a form
// and JSON alike, never repaired.
func TestAddIsStrict(t *testing.T) {
	n, _ := servedNode(t, 1)
	cases := []struct{ name, query, ctype, body, want string }{
		{"query twice", "?message=a&message=b", "", "", "given 2 times"},
		{"query unknown", "?message=a&mesage=b", "", "", "unknown parameter"},
		{"query not UTF-8", "?message=%ff", "", "", "UTF-8"},
		{"form twice", "", "application/x-www-form-urlencoded", "message=a&message=b", "given 2 times"},
		{"form not UTF-8", "", "application/x-www-form-urlencoded", "message=%c3%28", "UTF-8"},
		{"json twice", "", "application/json", `{"message":"a","message":"b"}`, "duplicate"},
		{"json trailing", "", "application/json", `{"message":"a"} {"message":"b"}`, "after top-level value"},
		{"json not UTF-8", "", "application/json", "{\"message\":\"\xff\"}", "UTF-8"},
		{"json lone surrogate", "", "application/json", `{"message":"\ud800"}`, "surrogate"},
		{"json unknown", "", "application/json", `{"message":"a","text":"b"}`, "unknown"},
	}
	for _, c := range cases {
		req, err := http.NewRequest("POST", n.URL()+"/add"+c.query, strings.NewReader(c.body))
		nodetest.Must(t, err)
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		r, err := http.DefaultClient.Do(req)
		nodetest.Must(t, err)
		raw, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), c.want) {
			t.Errorf("%s: %d %s, want 400 mentioning %q", c.name, r.StatusCode, raw, c.want)
		}
	}
	if p := n.Metric("bc_pending_messages"); p != 0 {
		t.Fatalf("%v messages stored from refused requests", p)
	}
}

// Headers are limited to the documented 16 KiB: 431 beyond.
func TestHeaderLimit(t *testing.T) {
	n, _ := servedNode(t, 1)
	get := func(size int) int {
		req, _ := http.NewRequest("GET", n.URL()+"/health", nil)
		req.Header.Set("X-Pad", strings.Repeat("p", size))
		r, err := http.DefaultClient.Do(req)
		nodetest.Must(t, err)
		r.Body.Close()
		return r.StatusCode
	}
	if c := get(14 << 10); c != http.StatusOK {
		t.Fatalf("14 KiB of headers: %d, want 200", c)
	}
	if c := get(17 << 10); c != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("17 KiB of headers: %d, want 431", c)
	}
}

// DELETE /neighbours trusts loopback only for requests addressed to a
// loopback host from a loopback origin: a page that rebinds its own name to
// 127.0.0.1, or posts from another site, gets 403.
func TestNeighbourRemovalRefusesBrowsersOfOtherSites(t *testing.T) {
	n, _ := servedNode(t, 1)
	del := func(host, origin string) int {
		req, _ := http.NewRequest("DELETE", n.URL()+"/neighbours/10.0.0.1:12345", nil)
		req.Host = host
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		r, err := http.DefaultClient.Do(req)
		nodetest.Must(t, err)
		r.Body.Close()
		return r.StatusCode
	}
	for _, c := range []struct {
		host, origin string
		want         int
	}{
		{n.Addr(), "", http.StatusNotFound}, // allowed: not a neighbour
		{"localhost:" + strconv.Itoa(n.Port), "http://localhost:" + strconv.Itoa(n.Port), http.StatusNotFound},
		{"rebound.example:" + strconv.Itoa(n.Port), "", http.StatusForbidden},
		{n.Addr(), "http://evil.example", http.StatusForbidden},
		{n.Addr(), "null", http.StatusForbidden},
	} {
		if got := del(c.host, c.origin); got != c.want {
			t.Errorf("Host %q Origin %q: %d, want %d", c.host, c.origin, got, c.want)
		}
	}
}
