package benchreport

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/store"
)

// startServe runs bin/bc-serve on dir and returns its base URL.
func startServe(t *testing.T, bin, dir string) string {
	port := freePort(t)
	cmd := exec.Command(filepath.Join(bin, "bc-serve"), "--dir", dir, "--listen", "127.0.0.1:"+strconv.Itoa(port), "--log-level", "warn",
		"--max-pending", "10000000")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bc-serve did not become healthy: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// load runs workers that call do until d passes and returns the count and
// the latencies.
func load(workers int, d time.Duration, do func(c *http.Client, i int64) error) (int64, []time.Duration, int64) {
	var n, fails atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 30 * time.Second}
			var mine []time.Duration
			for time.Now().Before(stop) {
				start := time.Now()
				if err := do(c, n.Add(1)); err != nil {
					fails.Add(1)
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return int64(len(lat)), lat, fails.Load()
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	return lat[min(len(lat)-1, int(float64(len(lat))*p))]
}

func get(c *http.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

// chainDir makes a chain directory holding a generated chain of n blocks.
func chainDir(t *testing.T, n int) string {
	dir := t.TempDir()
	copyChain(t, n, dir)
	return dir
}

// copyChain copies the generated chain of n blocks into dir.
func copyChain(t *testing.T, n int, dir string) {
	src, err := os.Open(benchChain(t, n))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(dir, store.ChainFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
}

func benchServe(t *testing.T, r *report, bin string) {
	const sec = "bc-serve"
	big := 100_000
	dur := 5 * time.Second
	if *quick {
		big, dur = 10_000, time.Second
	}
	// /add: durable adds per second with 32 concurrent clients.
	dir := chainDir(t, 1000)
	base := startServe(t, bin, dir)
	count, lat, fails := load(32, dur, adder(base))
	rate := float64(count) / dur.Seconds()
	r.add(Row{Section: sec, What: "PUT /add, 32 concurrent clients, each answered after fsync (group commit)",
		Bc:         fmt.Sprintf("%.0f adds/s, p50 %.2f ms, p99 %.2f ms, %d failed", rate, ms(pct(lat, .5)), ms(pct(lat, .99)), fails),
		Comparison: fmt.Sprintf("one fsync on this disk: %.2f ms (so %.0f unbatched adds/s)", ms(fsyncTime(t, dir)), 1/fsyncTime(t, dir).Seconds()),
		Ratio:      "—", Bar: fmt.Sprintf("≥ 2,000 durable adds/s: %s", pass(rate >= 2000))})

	// /blocks?from= latency on a small and a large chain: it must not
	// grow with the length.
	var p50s []time.Duration
	for _, n := range []int{1000, big} {
		base := startServe(t, bin, chainDir(t, n))
		for _, from := range []int{0, n / 2, n - 100} {
			_, lat, _ := load(4, dur/2, func(c *http.Client, _ int64) error {
				return get(c, base+"/blocks?from="+strconv.Itoa(from)+"&limit=100")
			})
			p50s = append(p50s, pct(lat, .5))
			r.add(Row{Section: sec, What: fmt.Sprintf("GET /blocks?from=%d&limit=100 on a %d-block chain, 4 clients", from, n),
				Bc:         fmt.Sprintf("p50 %.2f ms, p99 %.2f ms, %.0f req/s", ms(pct(lat, .5)), ms(pct(lat, .99)), float64(len(lat))/(dur/2).Seconds()),
				Comparison: "—", Ratio: "—", Bar: "—"})
		}
		if n == big {
			start := time.Now()
			c := &http.Client{}
			if err := get(c, base+"/chain"); err != nil {
				t.Fatal(err)
			}
			el := time.Since(start)
			r.add(Row{Section: sec, What: fmt.Sprintf("GET /chain of %d blocks (streamed)", n),
				Bc: fmt.Sprintf("%.2f s, %.0f blocks/s", el.Seconds(), float64(n)/el.Seconds()), Comparison: "the seed sends the whole chain as one string", Ratio: "—", Bar: "—"})
		}
	}
	small, large := p50s[0], p50s[len(p50s)-1]
	r.add(Row{Section: sec, What: fmt.Sprintf("/blocks p50, %d-block chain vs 1,000-block chain", big),
		Bc: fmt.Sprintf("%.2f ms vs %.2f ms", ms(large), ms(small)), Comparison: fmt.Sprintf("same page, %d× the chain", big/1000),
		Ratio: fmt.Sprintf("%.2f×", float64(large)/float64(max(small, 1))),
		Bar:   fmt.Sprintf("does not grow with length (< 2×): %s", pass(large < 2*small+500*time.Microsecond))})
}

// fsyncTime measures one small append plus fdatasync in dir.
func fsyncTime(t *testing.T, dir string) time.Duration {
	f, err := os.CreateTemp(dir, "fsync")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	start := time.Now()
	const n = 50
	for i := 0; i < n; i++ {
		_, _ = f.WriteString("a line of about the size of a message entry\n")
		_ = f.Sync()
	}
	return time.Since(start) / n
}
