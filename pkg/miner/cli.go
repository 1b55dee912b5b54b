package miner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/cmdline"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/store"
)

// CLI is bc-mine's command line.
type CLI struct {
	cli.Common
	Input          string            `arg:"" optional:"" name:"-" help:"Give - to mine the lines of stdin (same as --stdin)."`
	Stdin          bool              `help:"Mine each line of stdin as a message, print each new block line on stdout, exit when input ends and all of it is mined."`
	Once           bool              `help:"Mine what is pending now, then exit."`
	Strategy       string            `help:"Proof-of-work strategy of a new chain (default: default); must match the genesis of an existing one." env:"BC_STRATEGY" placeholder:"NAME" completion:"@strategies"`
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
	return cli.Main("bc-mine", c.Description(),
		&c, &c.Common, args, c.run)
}

// Description says what bc-mine does (--help, the man page).
func (*CLI) Description() string {
	return "Mine pending messages of a chain directory into blocks, with the chain's proof-of-work plugin."
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
			env.Status.SetStatus(fmt.Sprintf("mining block %d (%s): %.1f M attempts/s, %.1f s", p.Index, cmdline.Count(p.Messages, "message"), p.Rate/1e6, p.Elapsed.Seconds()))
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
			"height", m.view.Height(), "pending", m.Pending(), "threads", threads(c.Threads), "max_messages", c.MaxMessages)
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
	found, failed := env.DescribeStrategies(ctx)
	if len(found) == 0 && len(failed) == 0 {
		return fmt.Errorf("no strategy plugins (bc-pow-*) in %s", strings.Join(env.Finder().Dirs, ", "))
	}
	// One paragraph per plugin, fitted to the terminal: descriptions are
	// sentences, too long for a table row.
	out := bufio.NewWriter(env.Stdout)
	defer out.Flush()
	const indent = "          "
	for i, p := range found {
		info := p.Info
		desc := info.Description
		if len(info.Options) > 0 {
			var opts []string
			for _, o := range info.Options {
				opts = append(opts, fmt.Sprintf("%s=%d", o.Name, o.Default))
			}
			sort.Strings(opts)
			desc += " (options " + strings.Join(opts, ", ") + ")"
		}
		if i > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "%-*s%s\n", len(indent), info.Name, cmdline.Shorten(fmt.Sprintf("default difficulty %d (%s)", info.DefaultDifficulty, info.DifficultyUnit), cmdline.Width-len(indent)))
		for _, line := range cmdline.Wrap(desc, cmdline.Width-len(indent)) {
			fmt.Fprintln(out, indent+line)
		}
		fmt.Fprintln(out, indent+p.Path)
	}
	out.Flush()
	if len(failed) > 0 {
		return errors.New("some plugins did not start: " + strings.Join(failed, "; "))
	}
	return nil
}

// threads is the number of search threads --threads n gives (0: one per
// CPU).
func threads(n int) int {
	if n <= 0 {
		return runtime.NumCPU()
	}
	return n
}
