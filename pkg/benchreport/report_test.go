package benchreport

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/strategy"
)

var (
	reportPath = flag.String("report", "", "run the benchmarks and write the markdown report to this file")
	quick      = flag.Bool("quick", false, "smaller inputs and shorter runs (a smoke test of the harness)")
	only       = flag.String("only", "", "comma-separated sections to run (pow, cancel, mine, verify, serve, throughput, network, scale, hostile); all when empty")
)

// wanted reports whether a section is to be run.
func wanted(section string) bool {
	if *only == "" {
		return true
	}
	for _, s := range strings.Split(*only, ",") {
		if s == section {
			return true
		}
	}
	return false
}

// Row is one figure of the report.
type Row struct {
	Section, What, Bc, Comparison, Ratio, Bar string
}

// report collects rows in the order they were measured.
type report struct {
	rows []Row
}

func (r *report) add(row Row) {
	r.rows = append(r.rows, row)
	fmt.Fprintf(os.Stderr, "  %s: %s | %s | %s\n", row.What, row.Bc, row.Comparison, row.Ratio)
}

func (r *report) markdown(machine string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# bc benchmark report\n\nMeasured %s on %s. Every comparison in a row was measured in the same run on the same machine; `make bench` regenerates this file.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), machine)
	section := ""
	for _, row := range r.rows {
		if row.Section != section {
			section = row.Section
			fmt.Fprintf(&b, "\n## %s\n\n| figure | bc | comparison | ratio | bar |\n|---|---|---|---|---|\n", section)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", row.What, row.Bc, row.Comparison, row.Ratio, row.Bar)
	}
	return b.String()
}

// TestReport is `make bench`: it measures with the binaries in bin/ and
// writes one markdown table (also printed on stdout). It is skipped unless
// -report is given.
func TestReport(t *testing.T) {
	if *reportPath == "" {
		t.Skip("benchmark report: run with -report FILE (make bench)")
	}
	bin, err := filepath.Abs("../../bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"bc-verify", "bc-mine", "bc-serve", "bc-gossip", "bc-pow-default", "bc-pow-classic", "bc-pow-scrypt"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s not built: run make build (%v)", b, err)
		}
	}
	r := &report{}
	for _, s := range []struct {
		name string
		run  func()
	}{
		{"pow", func() { benchPoW(t, r, bin) }},
		{"cancel", func() { benchCancel(t, r) }},
		{"mine", func() { benchMineLatency(t, r, bin) }},
		{"verify", func() { benchVerify(t, r, bin) }},
		{"serve", func() { benchServe(t, r, bin) }},
		{"throughput", func() { benchThroughput(t, r, bin) }},
		{"network", func() { benchNetwork(t, r, bin) }},
		{"scale", func() { benchScale(t, r, bin) }},
		{"hostile", func() { benchHostile(t, r, bin) }},
	} {
		if wanted(s.name) {
			s.run()
		}
	}
	md := r.markdown(machine())
	fmt.Println(md)
	if err := os.WriteFile(*reportPath, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`model name\s*:\s*(.*)`).FindSubmatch(b); m != nil {
			model = string(m[1])
		}
		if bytes.Contains(b, []byte(" sha_ni")) {
			model += " with SHA-NI"
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if m := regexp.MustCompile(`MemTotal:\s*(\d+) kB`).FindSubmatch(b); m != nil {
			kb, _ := strconv.ParseFloat(string(m[1]), 64)
			mem = fmt.Sprintf(", %.0f GiB", kb/(1<<20))
		}
	}
	return fmt.Sprintf("%d cores (%s)%s, %s", runtime.NumCPU(), model, mem, runtime.Version())
}

// openssl runs `openssl speed -evp sha256` for one block size and returns
// hashes per second on one core.
func openssl(t *testing.T, size int, seconds int) float64 {
	out, err := exec.Command("openssl", "speed", "-seconds", strconv.Itoa(seconds), "-bytes", strconv.Itoa(size), "-evp", "sha256").Output()
	if err != nil {
		t.Logf("openssl speed: %v", err)
		return 0
	}
	m := regexp.MustCompile(`(?m)^sha256\s+([0-9.]+)k`).FindSubmatch(out)
	if m == nil {
		return 0
	}
	kbps, _ := strconv.ParseFloat(string(m[1]), 64)
	return kbps * 1000 / float64(size)
}

// sealRate runs an impossible search on a plugin for d and returns
// attempts per second from the plugin's last progress report.
func sealRate(t *testing.T, p *pow.Plugin, params chain.Params, threads int, d time.Duration) float64 {
	h := chain.Header{Index: 1, Timestamp: 1}
	req := pow.SealRequest{Params: params, Threads: threads}
	h.Encode(&req.Header)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var attempts uint64
	var elapsed time.Duration
	_, _ = p.SealProgress(ctx, req, 100*time.Millisecond, func(n uint64, e time.Duration) { attempts, elapsed = n, e })
	if elapsed == 0 {
		return 0
	}
	return float64(attempts) / elapsed.Seconds()
}

func mega(x float64) string { return fmt.Sprintf("%.1f M/s", x/1e6) }

func benchPoW(t *testing.T, r *report, bin string) {
	const sec = "Proof of work (attempts/s through the plugin process)"
	dur := 3 * time.Second
	if *quick {
		dur = 500 * time.Millisecond
	}
	ssl16 := openssl(t, 16, int(dur/time.Second)+1)
	ssl16k := openssl(t, 16384, int(dur/time.Second)+1) * 16384 / 64 // 64-byte compressions/s
	for _, s := range []struct {
		name   string
		bar1   float64
		barAll string
	}{{"default", 10e6, "≥ 1.9× one core"}, {"classic", 9e6, ""}, {"scrypt", 0, ""}} {
		p, err := pow.Open(context.Background(), filepath.Join(bin, "bc-pow-"+s.name), nil)
		if err != nil {
			t.Fatal(err)
		}
		info := p.Describe()
		max := info.MaxDifficulty
		params, err := pow.NewParams(info, "bench", &max, nil)
		if err != nil {
			t.Fatal(err)
		}
		one := sealRate(t, p, params, 1, dur)
		all := sealRate(t, p, params, 0, dur)
		p.Close()
		unit := mega
		if s.name == "scrypt" {
			unit = func(x float64) string { return fmt.Sprintf("%.0f /s", x) }
		}
		bar1 := ""
		if s.bar1 > 0 {
			bar1 = fmt.Sprintf("≥ %s: %s", mega(s.bar1), pass(one >= s.bar1))
		}
		cmp := "—"
		ratio := "—"
		if s.name != "scrypt" && ssl16 > 0 {
			cmp = fmt.Sprintf("openssl sha256 16 B: %s/core; SHA-NI compressions (16 KiB): %s/core; seed Python: 1.05 M/s (published)", mega(ssl16), mega(ssl16k))
			ratio = fmt.Sprintf("%.2f× openssl 16 B, %.2f× compressions, %.0f× seed", one/ssl16, one/ssl16k, one/1.05e6)
		}
		r.add(Row{Section: sec, What: s.name + ", 1 core", Bc: unit(one), Comparison: cmp, Ratio: ratio, Bar: bar1})
		barAll := ""
		if s.barAll != "" {
			barAll = fmt.Sprintf("%s: %s", s.barAll, pass(all >= 1.9*one))
		}
		r.add(Row{Section: sec, What: fmt.Sprintf("%s, all %d cores", s.name, runtime.NumCPU()), Bc: unit(all),
			Comparison: "its own 1-core rate", Ratio: fmt.Sprintf("%.2f×", all/max64(one, 1)), Bar: barAll})
	}
}

func max64(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func pass(ok bool) string {
	if ok {
		return "**pass**"
	}
	return "**FAIL**"
}

// benchChain returns a generated chain of n blocks (difficulty 4, one
// message each), cached in BC_BENCH_CACHE or the temp directory.
func benchChain(t *testing.T, n int) string {
	dir := os.Getenv("BC_BENCH_CACHE")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("bc-bench-%d.chain", n))
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		return path
	}
	d := uint32(4)
	p, err := pow.NewParams(strategy.Default{}.Describe(), "bench", &d, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		t.Fatal(err)
	}
	if err := chaintest.Generate(f, strategy.Default{}, p, n, 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	return path
}

// timed runs a command several times and returns the median wall time and
// the largest peak RSS (bytes). The RSS comes from GNU time, which forks from
// a small process: a child forked by this (large) test process would report
// this process's pages as its own peak.
func timed(t *testing.T, runs int, name string, args ...string) (time.Duration, int64) {
	var times []time.Duration
	var rss int64
	gnuTime, _ := exec.LookPath("/usr/bin/time")
	for i := 0; i < runs; i++ {
		cmd := exec.Command(name, args...)
		if gnuTime != "" {
			cmd = exec.Command(gnuTime, append([]string{"-f", "maxrss-kb=%M", name}, args...)...)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
		}
		times = append(times, time.Since(start))
		if m := regexp.MustCompile(`maxrss-kb=(\d+)`).FindStringSubmatch(stderr.String()); m != nil {
			kb, _ := strconv.ParseInt(m[1], 10, 64)
			rss = max(rss, kb*1024)
		} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = max(rss, ru.Maxrss*1024)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2], rss
}

func benchVerify(t *testing.T, r *report, bin string) {
	const sec = "bc-verify"
	n := 1_000_000
	if *quick {
		n = 50_000
	}
	path := benchChain(t, n)
	st, _ := os.Stat(path)
	// Warm the page cache so both tools read from memory.
	_, _ = timed(t, 1, "cat", path)
	wall, rss := timed(t, 5, filepath.Join(bin, "bc-verify"), "--quiet", path)
	shaWall, _ := timed(t, 5, "sha256sum", path)
	blocks := float64(n + 1)
	rate := blocks / wall.Seconds()
	r.add(Row{Section: sec, What: fmt.Sprintf("verify %d blocks (%.0f MB), median of 5", n, float64(st.Size())/1e6),
		Bc:         fmt.Sprintf("%.2f s, %.0f blocks/s", wall.Seconds(), rate),
		Comparison: fmt.Sprintf("sha256sum of the same file: %.2f s; seed: ~37,000 blocks/s (published)", shaWall.Seconds()),
		Ratio:      fmt.Sprintf("%.2f× sha256sum's time, %.0f× the seed", wall.Seconds()/shaWall.Seconds(), rate/37000),
		Bar:        fmt.Sprintf("≥ 300,000 blocks/s (aim 1,000,000): %s", pass(rate >= 300000))})
	r.add(Row{Section: sec, What: "peak RSS of that run", Bc: fmt.Sprintf("%.1f MiB", float64(rss)/(1<<20)),
		Comparison: "—", Ratio: "—", Bar: fmt.Sprintf("< 64 MiB: %s", pass(rss < 64<<20))})
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
