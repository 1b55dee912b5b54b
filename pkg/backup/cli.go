package backup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// CLI is bc-backup's command line. Without a command it runs as a daemon
// (or once, with --once); the daemon's flags are tagged so that completion
// offers them only there.
type CLI struct {
	cli.Common
	Once        bool          `help:"Hash and back up once (if the chain changed since the last backup), then exit: for cron and timers." completion:"daemon"`
	KeepLast    int           `help:"Most recent backups to keep." default:"${keep_last}" env:"BC_KEEP_LAST" completion:"daemon"`
	KeepDaily   int           `help:"Days for which the newest backup of the day is kept too." default:"${keep_daily}" env:"BC_KEEP_DAILY" completion:"daemon"`
	Interval    time.Duration `help:"Fallback check interval (changes are seen at once through file events)." default:"${interval}" env:"BC_BACKUP_INTERVAL" completion:"daemon"`
	MinInterval time.Duration `help:"Least time between two backups (node.hash is always kept current)." default:"${min_interval}" env:"BC_BACKUP_MIN_INTERVAL" completion:"daemon"`
	Debounce    time.Duration `help:"Quiet time after a change before acting." default:"${debounce}" env:"BC_BACKUP_DEBOUNCE" completion:"daemon"`

	Run     struct{}   `cmd:"" default:"1" hidden:"" help:"Run as a daemon (the default)."`
	List    listCmd    `cmd:"" help:"List the backups with their height, tip and whether they verify."`
	Verify  verifyCmd  `cmd:"" help:"Check node.hash against node.chain, the chain, and every backup."`
	Restore restoreCmd `cmd:"" help:"Replace the chain with a backup, keeping the current chain aside first."`
}

type listCmd struct {
	JSON bool `help:"Print JSON."`
}

type verifyCmd struct{}

type restoreCmd struct {
	Backup string `arg:"" help:"Backup to restore: a name from bc-backup list, or a path." completion:"@backups"`
}

// Main runs bc-backup with args and returns its exit code.
func Main(args []string) int {
	var c CLI
	return cli.Main("bc-backup", c.Description(),
		&c, &c.Common, args, c.run)
}

// Description says what bc-backup does (--help, the man page).
func (*CLI) Description() string {
	return "Keep node.hash current and timestamped backups of the chain; list, verify and restore them."
}

// Vars gives the defaults of the flags, kept in Go constants.
func (c *CLI) Vars() kong.Vars {
	return kong.Vars{"keep_last": fmt.Sprint(DefaultKeepLast), "keep_daily": fmt.Sprint(DefaultKeepDaily),
		"interval": DefaultInterval.String(), "min_interval": DefaultMinInterval.String(), "debounce": DefaultDebounce.String()}
}

func (c *CLI) run(ctx context.Context, env *cli.Env) error {
	dir, err := env.OpenDir()
	if err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(env.Command, "list"):
		return c.list(ctx, env, dir)
	case strings.HasPrefix(env.Command, "verify"):
		return c.verifyAll(ctx, env, dir)
	case strings.HasPrefix(env.Command, "restore"):
		return c.restore(ctx, env, dir)
	}
	return c.daemon(ctx, env, dir)
}

// loadVerifier starts the plugin of the chain's strategy.
func loadVerifier(ctx context.Context, env *cli.Env, dir *store.Dir) (validate.Verifier, func(), error) {
	g, err := dir.Init(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	p, err := env.LoadStrategy(ctx, g.Params.Strategy)
	if err != nil {
		return nil, nil, err
	}
	return p, p.Close, nil
}
