package miner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/store"
)

// CLI is bc-mine's command line.
type CLI struct {
	cli.Common
	Input          string            `arg:"" optional:"" name:"-" help:"Give - to mine the lines of stdin (same as --stdin)."`
	Stdin          bool              `help:"Mine each line of stdin as a message, print each new block line on stdout, exit when input ends and all of it is mined."`
	Once           bool              `help:"Mine what is pending now, then exit."`
	Strategy       string            `help:"Proof-of-work strategy of a new chain (default: default); must match the genesis of an existing one." env:"BC_STRATEGY" placeholder:"NAME"`
	Difficulty     *uint32           `help:"Difficulty of a new chain (default: the strategy's); must match the genesis of an existing one." env:"BC_DIFFICULTY" placeholder:"N"`
	Network        string            `help:"Network name of a new chain (default: bc); must match the genesis of an existing one." env:"BC_NETWORK" placeholder:"NAME"`
	Option         map[string]uint64 `help:"Strategy option of a new chain, NAME=VALUE (e.g. n=2048 for scrypt); repeatable." placeholder:"NAME=VALUE"`
	Threads        int               `help:"Search threads; 0 means one per CPU." env:"BC_THREADS" default:"0"`
	MaxMessages    int               `help:"Most messages per block (1 mines one message per block, like the seed)." env:"BC_MAX_MESSAGES" default:"${max_messages}"`
	ListStrategies bool              `help:"List the strategy plugins found, with their descriptions, and exit."`
	Rescan         time.Duration     `help:"Safety-net rescan interval of the chain directory (file events do the real work)." default:"${rescan}" env:"BC_RESCAN"`
	PluginTimeout  time.Duration     `help:"A search whose attempt count does not grow for this long is taken for a hung plugin, which is restarted." default:"${plugin_timeout}" env:"BC_PLUGIN_TIMEOUT"`
}

// Main runs bc-mine with args and returns its exit code.
func Main(args []string) int {
	var c CLI
	return cli.Main("bc-mine", "Mine pending messages of a chain directory into blocks, with the chain's proof-of-work plugin.",
		&c, &c.Common, args, c.run)
}

// Vars gives the defaults of the flags, kept in Go constants.
func (c *CLI) Vars() kong.Vars {
	return kong.Vars{"max_messages": fmt.Sprint(DefaultMaxMessages), "rescan": store.DefaultPoll.String(), "plugin_timeout": DefaultPluginTimeout.String()}
}

func (c *CLI) run(ctx context.Context, env *cli.Env) error {
	switch c.Input {
	case "":
	case "-":
		c.Stdin = true
	default:
		return fmt.Errorf("unexpected argument %q (only - is accepted, for stdin)", c.Input)
	}
	if c.ListStrategies {
		return c.list(ctx, env)
	}
	dir, err := env.OpenDir()
	if err != nil {
		return err
	}
	inst, err := dir.Instance("bc-mine")
	if err != nil {
		if c.Stdin {
			// A daemon mines this directory: hand it the messages and
			// print the blocks that carry them.
			env.Log.Info("another bc-mine mines this directory; handing it the messages", "reason", err)
			return c.feed(ctx, env, dir)
		}
		return err
	}
	defer inst.Unlock()

	plugin, err := c.prepare(ctx, env, dir)
	if err != nil {
		return err
	}
	sealer := &reloading{env: env, name: plugin.Describe().Name, p: plugin}
	defer sealer.Close()

	cfg := Config{MaxMessages: c.MaxMessages, Threads: c.Threads, Rescan: c.Rescan, PluginTimeout: c.PluginTimeout}
	if env.Status != nil {
		cfg.Progress = func(p Progress) {
			env.Status.SetStatus(fmt.Sprintf("mining block %d (%d messages): %.1f M attempts/s, %.1f s", p.Index, p.Messages, p.Rate/1e6, p.Elapsed.Seconds()))
		}
		defer env.Status.SetStatus("")
	}
	var out *blockPrinter
	if c.Stdin {
		out = &blockPrinter{w: bufio.NewWriter(env.Stdout)}
		cfg.Mined = out.print
	}
	m, err := New(dir, sealer, cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone := make(chan error, 1)
	go func() { watchDone <- m.Watch(watchCtx) }()
	defer func() { stopWatch(); <-watchDone }()

	status := newStatusFile(dir, m)
	statusCtx, stopStatus := context.WithCancel(ctx)
	go status.run(statusCtx)
	defer func() { stopStatus(); status.stop() }()

	switch {
	case c.Stdin:
		return c.mineStdin(ctx, env, dir, m, out)
	case c.Once:
		return m.Run(ctx, func() bool { return true }, 3)
	default:
		env.Log.Info("mining", "dir", dir.Path(), "strategy", m.view.Params().Strategy, "difficulty", m.view.Params().Difficulty,
			"height", m.view.Height(), "pending", m.Pending(), "threads", c.Threads, "max_messages", c.MaxMessages)
		cli.Ready(env)
		return m.Run(ctx, nil, 0)
	}
}

// prepare creates or checks the chain, repairs a torn tail, and starts the
// chain's strategy plugin.
func (c *CLI) prepare(ctx context.Context, env *cli.Env, dir *store.Dir) (*pow.Plugin, error) {
	var plugin *pow.Plugin
	if !dir.HasChain() {
		name := c.Strategy
		if name == "" {
			name = "default"
		}
		p, err := env.LoadStrategy(ctx, name)
		if err != nil {
			return nil, err
		}
		params, err := pow.NewParams(p.Describe(), c.Network, c.Difficulty, c.Option)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("new chain: %w", err)
		}
		if _, err := dir.Init(ctx, &params); err != nil {
			p.Close()
			return nil, err
		}
		plugin = p
	}
	g, err := dir.Init(ctx, nil)
	if err != nil {
		if plugin != nil {
			plugin.Close()
		}
		return nil, err
	}
	if err := c.checkFlags(dir, g.Params); err != nil {
		if plugin != nil {
			plugin.Close()
		}
		return nil, err
	}
	if plugin == nil {
		if plugin, err = env.LoadStrategy(ctx, g.Params.Strategy); err != nil {
			return nil, err
		}
	}
	if err := pow.CheckParams(plugin.Describe(), g.Params); err != nil {
		plugin.Close()
		return nil, fmt.Errorf("strategy %s refuses this chain's params: %w", g.Params.Strategy, err)
	}
	res, err := dir.Recover(ctx)
	if err != nil {
		plugin.Close()
		return nil, err
	}
	if res.MovedTo != "" {
		env.Log.Warn("repaired the chain: a torn last line was moved aside", "to", res.MovedTo, "bytes", res.MovedSize)
	}
	return plugin, nil
}

// checkFlags refuses creation flags that contradict an existing genesis.
func (c *CLI) checkFlags(dir *store.Dir, have *chain.Params) error {
	got := *have
	contradicts := false
	if c.Strategy != "" && c.Strategy != have.Strategy {
		got.Strategy, contradicts = c.Strategy, true
	}
	if c.Difficulty != nil && *c.Difficulty != have.Difficulty {
		got.Difficulty, contradicts = *c.Difficulty, true
	}
	if c.Network != "" && c.Network != have.Network {
		got.Network, contradicts = c.Network, true
	}
	for k, v := range c.Option {
		if cur, ok := have.Option(k); !ok || cur != v {
			contradicts = true
		}
	}
	if contradicts {
		return &store.ParamsMismatchError{Dir: dir.Path(), Have: have, Got: &got}
	}
	return nil
}

// list prints every plugin found with its description.
func (c *CLI) list(ctx context.Context, env *cli.Env) error {
	f := env.Finder()
	found := f.List()
	if len(found) == 0 {
		return fmt.Errorf("no strategy plugins (bc-pow-*) in %s", strings.Join(f.Dirs, ", "))
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STRATEGY\tDEFAULT DIFFICULTY\tDESCRIPTION\tPATH")
	var failed []string
	for _, p := range found {
		pl, err := pow.Open(ctx, p.Path, env.Log)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", p.Path, err))
			continue
		}
		info := pl.Describe()
		pl.Close()
		desc := info.Description
		if len(info.Options) > 0 {
			var opts []string
			for _, o := range info.Options {
				opts = append(opts, fmt.Sprintf("%s=%d", o.Name, o.Default))
			}
			sort.Strings(opts)
			desc += " (options " + strings.Join(opts, ", ") + ")"
		}
		fmt.Fprintf(tw, "%s\t%d (%s)\t%s\t%s\n", info.Name, info.DefaultDifficulty, info.DifficultyUnit, desc, p.Path)
	}
	tw.Flush()
	if len(failed) > 0 {
		return errors.New("some plugins did not start: " + strings.Join(failed, "; "))
	}
	return nil
}

// reloading is a Sealer that restarts its plugin when the process died.
type reloading struct {
	env  *cli.Env
	name string
	mu   sync.Mutex
	p    *pow.Plugin
}

func (r *reloading) SealProgress(ctx context.Context, req pow.SealRequest, every time.Duration, progress func(uint64, time.Duration)) (pow.SealResult, error) {
	r.mu.Lock()
	p := r.p
	r.mu.Unlock()
	if p == nil || p.Exited() {
		var err error
		if p, err = r.restart(ctx); err != nil {
			return pow.SealResult{}, err
		}
	}
	res, err := p.SealProgress(ctx, req, every, progress)
	if err != nil && ctx.Err() == nil {
		// Whether it died or broke its protocol, do not trust it again.
		r.env.Log.Error("the strategy plugin failed during a search; restarting it", "plugin", p.Path(), "error", err)
		r.mu.Lock()
		if r.p == p {
			r.p.Close()
			r.p = nil
		}
		r.mu.Unlock()
	}
	return res, err
}

// Restart drops the current plugin; the next search starts a new one.
func (r *reloading) Restart() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		r.env.Log.Error("stopping a strategy plugin that made no progress", "plugin", r.p.Path(), "pid", r.p.PID())
		r.p.Close()
		r.p = nil
	}
}

func (r *reloading) restart(ctx context.Context) (*pow.Plugin, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		r.p.Close()
		r.p = nil
	}
	p, err := r.env.LoadStrategy(ctx, r.name)
	if err != nil {
		return nil, err
	}
	r.p = p
	return p, nil
}

func (r *reloading) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		r.p.Close()
	}
}

// blockPrinter writes mined block lines to stdout as they come.
type blockPrinter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (b *blockPrinter) print(_ *chain.Block, line []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.w.Write(line)
	b.w.WriteByte('\n')
	b.w.Flush()
}

// stdinReader turns stdin lines into durable pending entries.
type stdinReader struct {
	dir      *store.Dir
	ids      sync.Map // id -> struct{}: messages of this run
	count    atomic.Int64
	rejected atomic.Int64
	done     atomic.Bool
	err      atomic.Pointer[error]
}

// maxInputLine bounds a stdin line; longer ones are rejected.
const maxInputLine = 64 << 10

// read reads lines until EOF, appending them to the pending log in batches
// (one fsync per batch), calling wake after each batch.
func (s *stdinReader) read(ctx context.Context, env *cli.Env, in io.Reader, wake func()) {
	defer func() { s.done.Store(true); wake() }()
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		br := bufio.NewReaderSize(in, maxInputLine)
		lineNo := 0
		for {
			line, err := readBoundedLine(br, maxInputLine)
			if len(line) > 0 || err == nil {
				lineNo++
				if line == "" {
					continue
				}
				if cerr := chain.CheckMessage(line); cerr != nil || len(line) >= maxInputLine {
					if cerr == nil {
						cerr = fmt.Errorf("longer than %d bytes", chain.MaxMessageBytes)
					}
					s.rejected.Add(1)
					env.Log.Error("stdin line is not a message; skipped", "line", lineNo, "error", cerr)
					continue
				}
				select {
				case lines <- line:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					e := fmt.Errorf("read stdin: %w", err)
					s.err.Store(&e)
				}
				return
			}
		}
	}()
	for {
		line, ok := <-lines
		if !ok {
			return
		}
		batch := []store.PendingEntry{s.entry(line)}
	more:
		for len(batch) < 1000 {
			select {
			case l, ok := <-lines:
				if !ok {
					break more
				}
				batch = append(batch, s.entry(l))
			case <-time.After(2 * time.Millisecond):
				break more
			}
		}
		if err := s.dir.AddPending(ctx, batch); err != nil {
			e := fmt.Errorf("store messages from stdin: %w", err)
			s.err.Store(&e)
			return
		}
		s.count.Add(int64(len(batch)))
		wake()
	}
}

func (s *stdinReader) entry(line string) store.PendingEntry {
	e := store.PendingEntry{ID: chain.NewMessageID(line), Message: line, Received: uint64(time.Now().UnixMilli())}
	s.ids.Store(e.ID, struct{}{})
	return e
}

// allMined reports whether every message read so far is in the chain.
func (s *stdinReader) allMined(inChain func(string) bool) bool {
	all := true
	s.ids.Range(func(k, _ any) bool {
		if inChain(k.(string)) {
			s.ids.Delete(k)
			return true
		}
		all = false
		return false
	})
	return all
}

// readBoundedLine reads one line without its newline; a longer line than
// max is returned truncated to max bytes (and the rest discarded).
func readBoundedLine(br *bufio.Reader, max int) (string, error) {
	var sb strings.Builder
	for {
		frag, isPrefix, err := br.ReadLine()
		if sb.Len() < max {
			sb.Write(frag[:min(len(frag), max-sb.Len())])
		}
		if err != nil {
			return sb.String(), err
		}
		if !isPrefix {
			return sb.String(), nil
		}
	}
}

// mineStdin mines the lines of stdin and exits when they are all in blocks.
func (c *CLI) mineStdin(ctx context.Context, env *cli.Env, dir *store.Dir, m *Miner, _ *blockPrinter) error {
	r := &stdinReader{dir: dir}
	go r.read(ctx, env, env.Stdin, m.Wake)
	err := m.Run(ctx, func() bool {
		if p := r.err.Load(); p != nil {
			return true
		}
		return r.done.Load() && r.allMined(m.view.HasID)
	}, 3)
	if err != nil {
		return err
	}
	if p := r.err.Load(); p != nil {
		return *p
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	env.Log.Info("stdin mined", "messages", r.count.Load(), "blocks", m.Stats().Blocks)
	if n := r.rejected.Load(); n > 0 {
		return cli.Failed(fmt.Errorf("%d stdin lines were not messages (see the log); the rest is mined", n))
	}
	return nil
}

// feed hands stdin's messages to the bc-mine that holds the directory and
// prints the blocks that carry them as they appear.
func (c *CLI) feed(ctx context.Context, env *cli.Env, dir *store.Dir) error {
	v, err := dir.OpenView(store.ViewOptions{IDs: true})
	if err != nil {
		return err
	}
	defer v.Close()
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	go dir.Watch(watchCtx, c.Rescan, nil, func(map[string]bool) { poke() })
	r := &stdinReader{dir: dir}
	go r.read(ctx, env, env.Stdin, poke)
	out := bufio.NewWriter(env.Stdout)
	printed := v.Height()
	for {
		if _, _, err := v.Refresh(); err != nil {
			return err
		}
		for printed < v.Height() {
			printed++
			line, err := v.Line(printed)
			if err != nil {
				return err
			}
			out.Write(line)
			out.WriteByte('\n')
		}
		out.Flush()
		if p := r.err.Load(); p != nil {
			return *p
		}
		if r.done.Load() && r.allMined(v.HasID) {
			if n := r.rejected.Load(); n > 0 {
				return cli.Failed(fmt.Errorf("%d stdin lines were not messages (see the log); the rest is mined", n))
			}
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
