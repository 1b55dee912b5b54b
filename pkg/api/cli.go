package api

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/bc-chain/bc/pkg/cli"
)

// CLI is bc-serve's command line.
type CLI struct {
	cli.Common
	Listen          string        `help:"Address to listen on (host:port; :port listens on every interface)." default:":12345" env:"BC_LISTEN"`
	MaxPending      int           `help:"Most pending messages; /add answers 503 beyond." default:"100000" env:"BC_MAX_PENDING"`
	MaxPendingBytes int           `help:"Most bytes of pending message text; /add answers 503 beyond." default:"16777216" env:"BC_MAX_PENDING_BYTES"`
	MaxEventClients int           `help:"Most concurrent /events streams." default:"256" env:"BC_MAX_EVENT_CLIENTS"`
	MaxConnsPerIP   int           `help:"Most open connections from one client IP; more are closed at once." default:"256" env:"BC_MAX_CONNS_PER_IP"`
	MaxConns        int           `help:"Most open connections in all." default:"2048" env:"BC_MAX_CONNS"`
	Rescan          time.Duration `help:"Safety-net rescan interval of the chain directory (file events do the real work)." default:"5s" env:"BC_RESCAN"`
}

// Main runs bc-serve with args and returns its exit code.
func Main(args []string) int {
	var c CLI
	return cli.Main("bc-serve", "Serve a chain directory: the node's REST API, its live web UI, Server-Sent Events and Prometheus metrics.",
		&c, &c.Common, args, c.run)
}

func (c *CLI) run(ctx context.Context, env *cli.Env) error {
	dir, err := env.OpenDir()
	if err != nil {
		return err
	}
	s, err := New(dir, env.Log, Options{MaxPending: c.MaxPending, MaxPendingBytes: c.MaxPendingBytes, MaxEventClients: c.MaxEventClients, MaxConnsPerIP: c.MaxConnsPerIP, MaxConns: c.MaxConns, Rescan: c.Rescan, Version: cli.VersionString()})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	env.Log.Info("serving", "listen", l.Addr().String(), "dir", dir.Path(), "ui", "http://"+uiHost(l.Addr())+"/")
	err = s.Serve(ctx, l, func() { cli.Ready(env) })
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
