package benchreport

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/store"
)

// benchThroughput: /add as the pending set grows, next to a trivial
// handler behind the same load, and messages/s from /add to a mined block
// under a backlog at the default difficulty, with reads served meanwhile.
func benchThroughput(t *testing.T, r *report, bin string) {
	const sec = "throughput"
	dur := 5 * time.Second
	sizes := []int{0, 10_000, 100_000}
	sustain := 20 * time.Second
	if *quick {
		dur, sizes, sustain = time.Second, []int{0, 10_000}, 5*time.Second
	}
	// The ceiling: a handler that reads the message and answers an id.
	trivial := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := chain.NewMessageID(r.URL.Query().Get("message"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q}`+"\n", id)
	}))
	defer trivial.Close()
	// wrk (C, as in the measurement) when installed: a Go load
	// generator in this process takes much of the CPU it measures.
	loader := "wrk, 2 threads"
	run := func(base string) (float64, string) {
		if rate, p99, ok := wrkAdds(t, base, dur); ok {
			return rate, fmt.Sprintf("p99 %s", p99)
		}
		loader = "a Go load generator (install wrk for a lighter one)"
		count, lat, fails := load(32, dur, adder(base))
		return float64(count) / dur.Seconds(), fmt.Sprintf("p99 %.2f ms, %d failed", ms(pct(lat, .99)), fails)
	}
	ceiling, _ := run(trivial.URL)
	r.add(Row{Section: sec, What: "a trivial Go handler (reads the message, answers an id), 32 connections, " + loader,
		Bc: fmt.Sprintf("%.0f answers/s", ceiling), Comparison: "the HTTP ceiling of this machine", Ratio: "1", Bar: "—"})
	var first float64
	for _, pending := range sizes {
		dir := chainDir(t, 1000)
		prefillPending(t, dir, pending)
		base := startServe(t, bin, dir)
		rate, detail := run(base)
		if pending == 0 {
			first = rate
		}
		r.add(Row{Section: sec, What: fmt.Sprintf("PUT /add with %d messages pending, 32 connections, each answered once durable", pending),
			Bc:         fmt.Sprintf("%.0f adds/s, %s", rate, detail),
			Comparison: fmt.Sprintf("trivial handler %.0f/s", ceiling), Ratio: fmt.Sprintf("%.2f", rate/ceiling),
			Bar: fmt.Sprintf("≥ 10,000 adds/s and no fall with pending (≥ 0.8 of the rate at 0): %s", pass(rate >= 10_000 && rate >= 0.8*first))})
	}
	benchSustained(t, r, bin, sustain)
}

// backlog is how many messages wait when the sustained run starts.
const backlog = 30_000

// benchSustained loads a node that mines at the default difficulty with
// more messages than it can mine, while 4 clients read blocks, and counts
// the messages that reach the chain per second.
func benchSustained(t *testing.T, r *report, bin string, d time.Duration) {
	dir := t.TempDir()
	// The chain first (genesis only), then a backlog, then the miner.
	create := exec.Command(filepath.Join(bin, "bc-mine"), "--dir", dir, "--once", "--log-level", "warn")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("bc-mine --once: %v %s", err, out)
	}
	prefillPending(t, dir, backlog)
	mine := exec.Command(filepath.Join(bin, "bc-mine"), "--dir", dir, "--log-level", "warn")
	mine.Stderr = os.Stderr
	if err := mine.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mine.Process.Kill(); _ = mine.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, store.ChainFile)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bc-mine did not create the chain")
		}
	}
	base := startServe(t, bin, dir)
	var reads atomic.Int64
	stopReads := make(chan struct{})
	go func() {
		load(4, d+3*time.Second, func(c *http.Client, _ int64) error {
			select {
			case <-stopReads:
				return nil
			default:
			}
			reads.Add(1)
			return get(c, base+"/blocks?limit=20")
		})
	}()
	done := make(chan struct{})
	var adds float64
	go func() {
		defer close(done)
		if rate, _, ok := wrkAdds(t, base, d+3*time.Second); ok {
			adds = rate
			return
		}
		n, _, _ := load(32, d+3*time.Second, adder(base))
		adds = float64(n) / (d + 3*time.Second).Seconds()
	}()
	time.Sleep(3 * time.Second)
	m0, b0 := chainMessages(t, dir)
	start := time.Now()
	time.Sleep(d)
	m1, b1 := chainMessages(t, dir)
	el := time.Since(start)
	<-done
	close(stopReads)
	rate := float64(m1-m0) / el.Seconds()
	blocks := float64(b1-b0) / el.Seconds()
	r.add(Row{Section: "throughput", What: fmt.Sprintf("messages/s from /add into mined blocks, default difficulty, %d waiting at the start, 32 connections adding and 4 clients reading, %s", backlog, d),
		Bc: fmt.Sprintf("%.0f messages/s: %.2f blocks/s of %.0f messages; meanwhile %.0f adds/s and %.0f reads/s served", rate, blocks,
			float64(m1-m0)/float64(max(b1-b0, 1)), adds, float64(reads.Load())/(d+3*time.Second).Seconds()),
		Comparison: fmt.Sprintf("a full block is 1,024 messages: %.0f/s at this block rate; the seed: 1 message per block", blocks*1024), Ratio: "—",
		Bar: fmt.Sprintf("≥ 3,000 messages/s: %s", pass(rate >= 3000))})
}

// chainMessages counts the blocks and messages of the chain in dir.
func chainMessages(t *testing.T, dir string) (messages, blocks int) {
	f, err := os.Open(filepath.Join(dir, store.ChainFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var p chain.Parser
	var s chain.Summary
	lr := chain.NewLineReader(f)
	for {
		line, err := lr.Next()
		if err != nil {
			return messages, blocks
		}
		if p.ParseSummary(line, &s) == nil {
			messages += s.Messages
			blocks++
		}
	}
}

// prefillPending writes n pending messages into dir's pending log.
func prefillPending(t *testing.T, dir string, n int) {
	if n == 0 {
		return
	}
	f, err := os.Create(filepath.Join(dir, store.PendingFile))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	now := uint64(time.Now().UnixMilli())
	for i := range n {
		m := fmt.Sprintf("prefilled %d %s", i, strings.Repeat("p", 40))
		if err := enc.Encode(store.PendingEntry{ID: chain.NewMessageID(m), Message: m, Received: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// wrkScript makes every request's message unique.
const wrkScript = `local counter = 0
local prefix = tostring(math.random(1, 1e9)) .. tostring(os.time())
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/add?message=wrk%20" .. prefix .. "%20" .. counter)
end
`

// wrkAdds loads base's /add with wrk (32 connections, 2 threads) for d;
// ok is false when wrk is not installed.
func wrkAdds(t *testing.T, base string, d time.Duration) (rate float64, p99 string, ok bool) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return 0, "", false
	}
	script := filepath.Join(t.TempDir(), "add.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(wrk, "-t2", "-c32", fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency", "-s", script, base).Output()
	if err != nil {
		t.Fatalf("wrk: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			fmt.Sscan(f[1], &rate)
		case len(f) == 2 && f[0] == "99%":
			p99 = f[1]
		case strings.Contains(line, "Non-2xx"):
			t.Fatalf("wrk: %s", line)
		}
	}
	return rate, p99, rate > 0
}

// adder returns a load step that PUTs a unique message to base's /add.
func adder(base string) func(c *http.Client, i int64) error {
	prefix := fmt.Sprintf("load %d ", time.Now().UnixNano())
	return func(c *http.Client, i int64) error {
		req, _ := http.NewRequest(http.MethodPut, base+"/add?message="+url.QueryEscape(prefix+fmt.Sprint(i)), nil)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}
