// Package cli is the command line of bc's programs that work on a chain
// directory (bc-mine, bc-serve, bc-gossip, bc-backup, bc-verify): the
// shared flags of package cmdline plus --dir, --plugin-dir and --lock-wait,
// opening the chain directory and loading strategy plugins. The exit-code
// table is cmdline's.
package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/alecthomas/kong"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/cmdline"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// Exit codes, as cmdline's table.
const (
	ExitOK     = cmdline.ExitOK
	ExitFailed = cmdline.ExitFailed
	ExitUsage  = cmdline.ExitUsage
)

// Common are the flags of every program that works on a chain directory.
type Common struct {
	Dir       string        `help:"Chain directory." env:"BC_DIR" default:"${default_dir}" placeholder:"DIR" type:"path"`
	PluginDir string        `help:"Directory searched first for bc-pow-<name> strategy plugins (then the directory of this program)." env:"BC_PLUGIN_DIR" placeholder:"DIR" type:"path"`
	LockWait  time.Duration `help:"How long to wait for the chain lock before reporting who holds it." env:"BC_LOCK_WAIT" default:"${lock_wait}"`
	cmdline.Common
}

// Env is what a running command gets: cmdline's, and its common flags.
type Env struct {
	*cmdline.Env
	Common *Common
}

// Failed, Quiet, ExitCode and VersionString are cmdline's.
var (
	Failed        = cmdline.Failed
	Quiet         = cmdline.Quiet
	ExitCode      = cmdline.ExitCode
	VersionString = cmdline.VersionString
	IsTerminal    = cmdline.IsTerminal
)

// Vars returns every ${name} value the grammar of a program built on this
// package may use (the completion generator needs them too).
func Vars(name string, grammar any) kong.Vars {
	return cmdline.Vars(name, grammar, kong.Vars{"default_dir": store.DefaultDir(), "lock_wait": store.DefaultLockWait.String()})
}

// Main parses args for the grammar (a struct embedding Common, whose
// Vars method, if any, gives the ${name} values of its tags), sets up
// logging and signals and calls run. It returns the exit code.
func Main(name, description string, grammar any, common *Common, args []string, run func(ctx context.Context, env *Env) error) int {
	p := cmdline.Program{Name: name, Description: description, Grammar: grammar, Common: &common.Common, Vars: Vars(name, grammar),
		LogDir: func() string { return common.Dir }}
	return cmdline.Main(p, args, func(ctx context.Context, e *cmdline.Env) error {
		return run(ctx, &Env{Env: e, Common: common})
	})
}

// Finder returns the plugin finder for --plugin-dir.
func (e *Env) Finder() pow.Finder { return pow.NewFinder(e.Common.PluginDir) }

// LoadStrategy starts the named strategy plugin.
func (e *Env) LoadStrategy(ctx context.Context, name string) (*pow.Plugin, error) {
	return pow.Load(ctx, e.Finder(), name, e.Log)
}

// FoundStrategy is a strategy plugin found, with what it says of itself.
type FoundStrategy struct {
	pow.Found
	Info pow.Info
}

// DescribeStrategies starts each strategy plugin found in turn, asks for
// its description and stops it. failed names the plugins that did not
// start.
func (e *Env) DescribeStrategies(ctx context.Context) (found []FoundStrategy, failed []string) {
	for _, p := range e.Finder().List() {
		pl, err := pow.Open(ctx, p.Path, e.Log)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", p.Path, err))
			continue
		}
		found = append(found, FoundStrategy{Found: p, Info: pl.Describe()})
		pl.Close()
	}
	return found, failed
}

// OpenDir opens the chain directory of --dir.
func (e *Env) OpenDir() (*store.Dir, error) {
	d, err := store.Open(e.Common.Dir, store.Options{Log: e.Log, Owner: e.Name, LockWait: e.Common.LockWait})
	if err == nil {
		d.CheckExposure()
	}
	return d, err
}

// Opener returns a validate.Opener that loads the strategy plugin a chain's
// genesis names. The plugins it started are closed by the returned func.
func (e *Env) Opener() (validate.Opener, func()) {
	loaded := map[string]*pow.Plugin{}
	open := func(ctx context.Context, p *chain.Params) (validate.Verifier, error) {
		if pl, ok := loaded[p.Strategy]; ok {
			return pl, nil
		}
		pl, err := e.LoadStrategy(ctx, p.Strategy)
		if err != nil {
			return nil, err
		}
		loaded[p.Strategy] = pl
		return pl, nil
	}
	return open, func() {
		for _, pl := range loaded {
			pl.Close()
		}
	}
}
