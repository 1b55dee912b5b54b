package api

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
)

// CLI is bc-serve's command line.
type CLI struct {
	cli.Common
	Listen          string        `help:"Address to listen on (host:port; :port listens on every interface)." default:":12345" env:"BC_LISTEN"`
	SeedListen      string        `help:"Also answer the seed's Python CLI and miner on this address (host:port), in the seed's jsonpickle shapes (README: bc and the seed). Off when empty." env:"BC_SEED_LISTEN" placeholder:"ADDR"`
	MaxPending      int           `help:"Most pending messages; /add answers 503 beyond." default:"${max_pending}" env:"BC_MAX_PENDING"`
	MaxPendingBytes int           `help:"Most bytes of pending message text; /add answers 503 beyond." default:"${max_pending_bytes}" env:"BC_MAX_PENDING_BYTES"`
	MaxEventClients int           `help:"Most concurrent /events streams." default:"${max_event_clients}" env:"BC_MAX_EVENT_CLIENTS"`
	MaxConnsPerIP   int           `help:"Most open connections from one client IP; more are closed at once." default:"${max_conns_per_ip}" env:"BC_MAX_CONNS_PER_IP"`
	MaxConns        int           `help:"Most open connections in all." default:"${max_conns}" env:"BC_MAX_CONNS"`
	Rescan          time.Duration `help:"Safety-net rescan interval of the chain directory (file events do the real work)." default:"${rescan}" env:"BC_RESCAN"`
}

// Main runs bc-serve with args and returns its exit code.
func Main(args []string) int {
	var c CLI
	return cli.Main("bc-serve", c.Description(),
		&c, &c.Common, args, c.run)
}

// Description says what bc-serve does (--help, the man page).
func (*CLI) Description() string {
	return "Serve a chain directory: the node's REST API, its live web UI, Server-Sent Events and Prometheus metrics."
}

// Vars gives the defaults of the flags, kept in Go constants.
func (c *CLI) Vars() kong.Vars {
	return kong.Vars{"max_pending": fmt.Sprint(DefaultMaxPending), "max_pending_bytes": fmt.Sprint(DefaultMaxPendingBytes),
		"max_event_clients": fmt.Sprint(DefaultMaxEventClients), "max_conns_per_ip": fmt.Sprint(DefaultMaxConnsPerIP),
		"max_conns": fmt.Sprint(DefaultMaxConns), "rescan": store.DefaultPoll.String()}
}

func (c *CLI) run(ctx context.Context, env *cli.Env) error {
	// Listen first: a bad --listen must fail before anything is written
	// (the directory, the admin token).
	l, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	defer l.Close()
	var seed net.Listener
	if c.SeedListen != "" {
		if seed, err = net.Listen("tcp", c.SeedListen); err != nil {
			return fmt.Errorf("listen on %s (--seed-listen): %w", c.SeedListen, err)
		}
		defer seed.Close()
	}
	dir, err := env.OpenDir()
	if err != nil {
		return err
	}
	// The strategy plugin starts on the first POST /check only.
	open, closePlugins := env.Opener()
	defer closePlugins()
	s, err := New(dir, env.Log, Options{MaxPending: c.MaxPending, MaxPendingBytes: c.MaxPendingBytes, MaxEventClients: c.MaxEventClients,
		MaxConnsPerIP: c.MaxConnsPerIP, MaxConns: c.MaxConns, Rescan: c.Rescan, Version: cli.VersionString(), Opener: open,
		Strategies: func(ctx context.Context) ([]Strategy, error) { return describeStrategies(ctx, env) }})
	if err != nil {
		return err
	}
	url := "http://" + uiHost(l.Addr())
	env.Log.Info("serving", "listen", l.Addr().String(), "dir", dir.Path(), "ui", url+"/")
	if seed != nil {
		env.Log.Info("serving the seed's clients", "listen", seed.Addr().String())
	}
	// Say where: bc-add and bc-get given --dir find this node from it.
	if err := dir.WriteJSON(node.ServeStatusFile, node.ServeStatus{PID: os.Getpid(), Listen: l.Addr().String(), URL: url}); err != nil {
		env.Log.Warn("cannot write the status file", "error", err)
	}
	err = s.Serve(ctx, l, seed, func() { cli.Ready(env) })
	cli.Stopping()
	env.Log.Info("stopped")
	return err
}

// uiHost turns a listen address into one a browser can open.
func uiHost(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// describeStrategies asks each strategy plugin found for its description.
func describeStrategies(ctx context.Context, env *cli.Env) ([]Strategy, error) {
	found, failed := env.DescribeStrategies(ctx)
	for _, f := range failed {
		env.Log.Warn("a strategy plugin did not start", "error", f)
	}
	if len(found) == 0 {
		if len(failed) > 0 {
			return nil, fmt.Errorf("no strategy plugin started: %s", strings.Join(failed, "; "))
		}
		return nil, fmt.Errorf("no strategy plugins (bc-pow-*) in %s", strings.Join(env.Finder().Dirs, ", "))
	}
	out := make([]Strategy, 0, len(found))
	for _, f := range found {
		i := f.Info
		st := Strategy{Name: i.Name, Description: i.Description, Version: i.Version, DefaultDifficulty: i.DefaultDifficulty,
			MinDifficulty: i.MinDifficulty, MaxDifficulty: i.MaxDifficulty, DifficultyUnit: i.DifficultyUnit, Options: []StrategyOption{}}
		for _, o := range i.Options {
			st.Options = append(st.Options, StrategyOption{Name: o.Name, Default: o.Default, Min: o.Min, Max: o.Max, Description: o.Description})
		}
		out = append(out, st)
	}
	return out, nil
}
