package peer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
)

// CLI is bc-gossip's command line.
type CLI struct {
	cli.Common
	Peers         string        `help:"Comma-separated peers: host:port, host (port 12345) or http://host:port; localhost means 127.0.0.1." aliases:"neighbours" env:"BC_PEERS" placeholder:"LIST"`
	Advertise     string        `help:"This node's own reachable address (host:port), announced to peers and never taken as a neighbour." env:"BC_ADVERTISE" placeholder:"HOST:PORT"`
	MaxNeighbours int           `help:"Most neighbours, as the seed's maximum." default:"${max_neighbours}" env:"BC_MAX_NEIGHBOURS"`
	GossipEvery   time.Duration `name:"gossip-interval" help:"Interval of neighbour discovery (the seed's gossip job)." default:"${gossip_every}" env:"BC_GOSSIP_INTERVAL"`
	SyncEvery     time.Duration `name:"sync-interval" help:"Interval of the chain sync fallback (announcements do the real work)." default:"${sync_every}" env:"BC_SYNC_INTERVAL"`
	DataEvery     time.Duration `name:"data-interval" help:"Interval of the pending-data sync." default:"${data_every}" env:"BC_DATA_INTERVAL"`
	Timeout       time.Duration `help:"Timeout of each request to a peer." default:"${timeout}" env:"BC_PEER_TIMEOUT"`
	Rescan        time.Duration `help:"Safety-net rescan interval of the chain directory." default:"${rescan}" env:"BC_RESCAN"`
	SyncBudget    time.Duration `help:"How long a sync with one peer may go without progress (a page of valid blocks) before it is given up; 0 means 3 timeouts." env:"BC_SYNC_BUDGET"`
	MaxKnown      int           `help:"Most addresses kept in the neighbour book; addresses never reached make room for new ones." default:"${max_known}" env:"BC_MAX_KNOWN"`
	LearnPerMin   int           `name:"learn-per-minute" help:"Most addresses learned from peers per minute." default:"${learn_per_min}" env:"BC_LEARN_PER_MINUTE"`
	MaxReorgBytes int64         `help:"Largest fork (in bytes of blocks, spooled to disk) taken from a peer; a larger one is refused and its peer scored." default:"${max_reorg_bytes}" env:"BC_MAX_REORG_BYTES"`
	MaxPulled     int           `name:"max-pulled-messages" help:"Most pending messages pulled from peers (their share of the pending set)." default:"${max_pulled_messages}" env:"BC_MAX_PULLED_MESSAGES"`
	MaxPulledB    int           `name:"max-pulled-bytes" help:"Most bytes of pending text pulled from peers (their share of the pending set)." default:"${max_pulled_bytes}" env:"BC_MAX_PULLED_BYTES"`
	WaitChain     time.Duration `help:"How long to wait for bc-mine to create the chain in an empty directory." default:"1m"`
}

// Main runs bc-gossip with args and returns its exit code.
func Main(args []string) int {
	var c CLI
	return cli.Main("bc-gossip", c.Description(),
		&c, &c.Common, args, c.run)
}

// Description says what bc-gossip does (--help, the man page).
func (*CLI) Description() string {
	return "Keep a node in step with its neighbours: find peers, adopt the chain with most work, spread pending messages and new blocks."
}

// Vars gives the defaults of the flags, kept in Go constants.
func (c *CLI) Vars() kong.Vars {
	return kong.Vars{"max_neighbours": fmt.Sprint(DefaultMaxNeighbours), "gossip_every": DefaultGossipEvery.String(),
		"sync_every": DefaultSyncEvery.String(), "data_every": DefaultDataEvery.String(), "timeout": DefaultTimeout.String(),
		"rescan": store.DefaultPoll.String(), "max_known": fmt.Sprint(DefaultMaxKnown), "learn_per_min": fmt.Sprint(DefaultLearnPerMin),
		"max_reorg_bytes": fmt.Sprint(DefaultMaxReorgBytes), "max_pulled_messages": fmt.Sprint(DefaultMaxPulledMessages),
		"max_pulled_bytes": fmt.Sprint(DefaultMaxPulledBytes)}
}

func (c *CLI) run(ctx context.Context, env *cli.Env) error {
	peers, err := node.ParseList(c.Peers)
	if err != nil {
		return fmt.Errorf("--peers: %w", err)
	}
	var adv node.Addr
	if c.Advertise != "" {
		if adv, err = node.ParseAddr(c.Advertise); err != nil {
			return fmt.Errorf("--advertise: %w", err)
		}
	}
	dir, err := env.OpenDir()
	if err != nil {
		return err
	}
	inst, err := dir.Instance("bc-gossip")
	if err != nil {
		return err
	}
	defer inst.Unlock()
	if err := dir.WaitForChain(ctx, c.WaitChain); err != nil {
		return err
	}
	g0, err := dir.Init(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := dir.Recover(ctx); err != nil {
		return err
	}
	plugin, err := env.LoadStrategy(ctx, g0.Params.Strategy)
	if err != nil {
		return err
	}
	defer plugin.Close()
	g, err := New(dir, plugin, Config{
		Peers: peers, Advertise: adv, MaxNeighbours: c.MaxNeighbours,
		GossipEvery: c.GossipEvery, SyncEvery: c.SyncEvery, DataEvery: c.DataEvery, Timeout: c.Timeout, Rescan: c.Rescan,
		SyncBudget: c.SyncBudget, MaxKnown: c.MaxKnown, LearnPerMin: c.LearnPerMin, MaxReorgBytes: c.MaxReorgBytes,
		MaxPulledMessages: c.MaxPulled, MaxPulledBytes: c.MaxPulledB,
	})
	if err != nil {
		return err
	}
	defer g.Close()
	env.Log.Info("gossiping", "dir", dir.Path(), "peers", strings.Trim(fmt.Sprint(peers), "[]"), "advertise", string(adv),
		"max_neighbours", c.MaxNeighbours, "height", g.view.Height())
	err = g.Run(ctx, func() { cli.Ready(env) })
	cli.Stopping()
	return err
}
