// Package powsdk is all a third party needs to write a bc proof-of-work
// strategy plugin: implement Strategy and call Serve from main.
//
//	func main() { powsdk.Serve(myStrategy{}) }
//
// Build the program as bc-pow-<name> and put it in the plugin directory
// (--plugin-dir, BC_PLUGIN_DIR, or next to the bc binaries). Serve performs
// go-plugin's handshake on stdout, so a plugin must never write to stdout
// itself: log with Logger, which writes to stderr in the JSON form go-plugin
// reads levels from. Serve also exits the process when its host dies, even
// by SIGKILL, which go-plugin alone does not do.
//
// contrib/example-plugin holds a complete plugin to copy.
package powsdk

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/cmdline"
	"github.com/bc-chain/bc/pkg/pow"
)

// The types a plugin works with, re-exported so that a plugin imports only
// this package (and pkg/chain for the format).
type (
	Strategy    = pow.Strategy
	Info        = pow.Info
	OptionSpec  = pow.OptionSpec
	SealRequest = pow.SealRequest
	SealResult  = pow.SealResult
	Records     = pow.Records
)

// WatchdogInterval is how often Serve checks that its host is alive.
const WatchdogInterval = 200 * time.Millisecond

// Serve serves s to the host that started this process and returns when the
// host closes it. It exits the process if the host dies first. Run by a
// person rather than by a host, it answers --help and --version (exit 0)
// and otherwise says what it is (exit 2).
func Serve(s Strategy) {
	if os.Getenv(pow.Handshake.MagicCookieKey) != pow.Handshake.MagicCookieValue {
		os.Exit(byHand(s, os.Args))
	}
	go watchParent(os.Getppid(), WatchdogInterval, func() { os.Exit(3) })
	go graceTERM(2 * time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pow.Handshake,
		Plugins:         pow.PluginMap(s),
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Output: os.Stderr, JSONFormat: true, Level: hclog.LevelFromString(os.Getenv(pow.EnvLogLevel)),
		}),
	})
}

// watchParent calls onDeath once the parent process is gone: the kernel then
// reparents us, so getppid changes.
func watchParent(original int, every time.Duration, onDeath func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if os.Getppid() != original {
			onDeath()
			return
		}
	}
}

// graceTERM gives the host time to close the plugin itself when SIGTERM
// reaches the whole process group (systemd, a terminal, timeout(1)): the
// host then ends the plugin cleanly instead of losing it in mid-call. If the
// host does not, the plugin exits after grace.
func graceTERM(grace time.Duration) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	<-ch
	time.Sleep(grace)
	os.Exit(0)
}

// Logger returns a logger whose records reach the host's log with their
// level (JSON on stderr, in the field names go-plugin parses).
func Logger() *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(os.Getenv(pow.EnvLogLevel)) {
	case "debug", "trace":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}

// Threads returns the number of search threads for a request: req.Threads,
// or one per CPU when it is 0.
func Threads(req SealRequest) int {
	if req.Threads > 0 {
		return req.Threads
	}
	return runtime.GOMAXPROCS(0)
}

// CheckEvery is how many attempts a search thread makes between looks at
// cancellation (and reports of progress). At 10-20 M attempts/s that is
// about 3-6 ms, which bounds how long a cancelled search keeps running.
const CheckEvery = 1 << 16

// Search runs a parallel proof search: thread t of n tries start+t, then
// start+t+n, and so on, through a try function of its own (from newTry),
// which tests CheckEvery candidates of its stride per call and returns the
// proof and work hash it found. Search returns the first proof found, or
// ctx.Err() once ctx ends.
//
// try(first, stride, count) tests first, first+stride, ... (count values).
func Search(ctx context.Context, req SealRequest, report func(uint64), newTry func() func(first, stride, count uint64) (uint64, chain.Hash, bool)) (SealResult, error) {
	return SearchEvery(ctx, req, report, CheckEvery, newTry)
}

// SearchEvery is Search with a strategy's own number of attempts between
// looks at cancellation (for slow attempts, such as memory-hard ones).
func SearchEvery(ctx context.Context, req SealRequest, report func(uint64), every uint64, newTry func() func(first, stride, count uint64) (uint64, chain.Hash, bool)) (SealResult, error) {
	threads := Threads(req)
	start := time.Now()
	if threads == 1 {
		return searchHere(ctx, req, report, every, newTry(), start)
	}
	var (
		stop     atomic.Bool
		attempts atomic.Uint64
		once     sync.Once
		res      SealResult
		wg       sync.WaitGroup
	)
	for t := 0; t < threads; t++ {
		try := newTry()
		wg.Add(1)
		go func(t uint64) {
			defer wg.Done()
			stride := uint64(threads)
			next := req.Start + t
			for !stop.Load() && ctx.Err() == nil {
				proof, work, ok := try(next, stride, every)
				if ok {
					n := (proof-next)/stride + 1
					attempts.Add(n)
					once.Do(func() {
						res.Proof, res.WorkHash = proof, work
						stop.Store(true)
					})
					return
				}
				attempts.Add(every)
				if report != nil {
					report(every)
				}
				next += stride * every
			}
		}(uint64(t))
	}
	wg.Wait()
	res.Attempts = attempts.Load()
	res.Elapsed = time.Since(start)
	if !stop.Load() {
		return res, ctx.Err()
	}
	return res, nil
}

// searchHere is the one-thread search, run on the calling goroutine.
func searchHere(ctx context.Context, req SealRequest, report func(uint64), every uint64, try func(first, stride, count uint64) (uint64, chain.Hash, bool), start time.Time) (SealResult, error) {
	var res SealResult
	next := req.Start
	for ctx.Err() == nil {
		proof, work, ok := try(next, 1, every)
		if ok {
			res.Attempts += proof - next + 1
			res.Proof, res.WorkHash, res.Elapsed = proof, work, time.Since(start)
			return res, nil
		}
		res.Attempts += every
		if report != nil {
			report(every)
		}
		next += every
	}
	res.Elapsed = time.Since(start)
	return res, ctx.Err()
}

// ParallelVerify checks records on every CPU with check, which returns
// whether one record's proof is valid and its work hash. It returns the
// first invalid position or -1.
func ParallelVerify(records Records, check func(i int) (bool, chain.Hash)) (int, chain.Hash) {
	n := records.Len()
	workers := runtime.GOMAXPROCS(0)
	if n < 2*workers || workers == 1 {
		for i := 0; i < n; i++ {
			if ok, w := check(i); !ok {
				return i, w
			}
		}
		return -1, chain.Hash{}
	}
	chunk := (n + workers - 1) / workers
	bad := make([]int, workers)
	works := make([]chain.Hash, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		bad[w] = -1
		lo, hi := w*chunk, min((w+1)*chunk, n)
		wg.Add(1)
		go func(w, lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				if ok, h := check(i); !ok {
					bad[w], works[w] = i, h
					return
				}
			}
		}(w, lo, hi)
	}
	wg.Wait()
	for w := range bad {
		if bad[w] >= 0 {
			return bad[w], works[w]
		}
	}
	return -1, chain.Hash{}
}

// byHand answers a person who runs a plugin from a shell.
func byHand(s Strategy, args []string) int {
	name := filepath.Base(args[0])
	info := s.Describe()
	for _, a := range args[1:] {
		switch a {
		case "--version", "-version":
			fmt.Printf("%s %s\n", name, cmdline.VersionString())
			return cmdline.ExitOK
		case "--help", "-help", "-h":
			fmt.Printf("%s: the %q proof-of-work strategy of bc: %s.\n\n", name, info.Name, info.Description)
			fmt.Printf("It is a plugin: bc-mine, bc-gossip, bc-backup and bc-verify start it themselves\n(found in --plugin-dir, or next to them). bc-mine --list-strategies lists the plugins.\n")
			return cmdline.ExitOK
		}
	}
	fmt.Fprintf(os.Stderr, "%s: a bc proof-of-work plugin, started by bc's programs, not by hand (see %s --help)\n", name, name)
	return cmdline.ExitUsage
}
