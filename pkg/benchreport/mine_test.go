package benchreport

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/strategy"
)

// benchCancel measures how long a search keeps running after its context
// is cancelled, in the search loop the plugins run.
func benchCancel(t *testing.T, r *report) {
	for _, s := range []pow.Strategy{strategy.Default{}, strategy.Classic{}} {
		info := s.Describe()
		d := info.MaxDifficulty
		params, _ := pow.NewParams(info, "bench", &d, nil)
		var lat []time.Duration
		for i := 0; i < 20; i++ {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan time.Time, 1)
			go func() {
				_, _ = s.Seal(ctx, pow.SealRequest{Params: params}, nil)
				done <- time.Now()
			}()
			time.Sleep(30 * time.Millisecond)
			start := time.Now()
			cancel()
			lat = append(lat, (<-done).Sub(start))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		r.add(Row{Section: "Proof of work (attempts/s through the plugin process)", What: info.Name + ": search stop after cancel (all threads), p50 / max of 20",
			Bc:         fmt.Sprintf("%.2f / %.2f ms", ms(lat[len(lat)/2]), ms(lat[len(lat)-1])),
			Comparison: "threads look at cancellation every 65,536 attempts (~3 ms)", Ratio: "—", Bar: "—"})
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// benchMineLatency runs the real bc-mine daemon at difficulty 0 and times
// "pending message written" to "block appended", 100 times: the cost of
// the plugin round trip and of bc-mine itself.
func benchMineLatency(t *testing.T, r *report, bin string) {
	dir := t.TempDir()
	d, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := chain.Params{Version: chain.FormatVersion, Network: "bench", Strategy: "default", Difficulty: 0}
	if _, err := d.Init(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "bc-mine"), "--dir", dir, "--max-messages", "1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	v, err := d.OpenView(store.ViewOptions{IDs: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	n := 100
	if *quick {
		n = 20
	}
	time.Sleep(300 * time.Millisecond) // let it start its plugin
	var lat []time.Duration
	for i := 0; i < n; i++ {
		e := store.PendingEntry{ID: chain.NewMessageID(fmt.Sprintf("latency probe %d", i)), Message: fmt.Sprintf("latency probe %d", i), Received: uint64(time.Now().UnixMilli())}
		start := time.Now()
		if err := d.AddPending(context.Background(), []store.PendingEntry{e}); err != nil {
			t.Fatal(err)
		}
		for {
			if _, _, err := v.Refresh(); err != nil {
				t.Fatal(err)
			}
			if v.HasID(e.ID) {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatal("bc-mine did not mine the probe within 10 s")
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50 := lat[len(lat)/2]
	r.add(Row{Section: "bc-mine", What: fmt.Sprintf("pending message written → block appended, difficulty 0, p50 / p90 / max of %d", n),
		Bc:         fmt.Sprintf("%.1f / %.1f / %.1f ms", ms(p50), ms(lat[len(lat)*9/10]), ms(lat[len(lat)-1])),
		Comparison: "the seed's miner polls its queue in a busy loop", Ratio: "—",
		Bar: fmt.Sprintf("p50 < 50 ms: %s", pass(p50 < 50*time.Millisecond))})
}
