// Package cli holds what every bc binary shares: the common flags, the
// exit-code table, logging, signal handling and plugin loading.
//
// Exit codes (the same for every binary):
//
//	0  success
//	1  the work failed: an invalid chain, a rejected block, a refused message
//	2  usage or I/O error: bad flags, a missing file or plugin, a held lock,
//	   an unreachable node
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"golang.org/x/term"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
)

// Version is set at build time with -ldflags "-X github.com/bc-chain/bc/pkg/cli.Version=..."
// and otherwise taken from the module's build information.
var Version = ""

// VersionString returns the version of the running binary.
func VersionString() string { return version() }

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		if v != "" {
			return v
		}
	}
	return "devel"
}

// Log rotation defaults, the seed's: 1 MiB files, 3 backups.
const (
	DefaultLogMaxMiB  = 1
	DefaultLogBackups = 3
)

// Common are the flags every binary has.
type Common struct {
	Dir        string           `help:"Chain directory." env:"BC_DIR" default:"${default_dir}" placeholder:"DIR" type:"path"`
	PluginDir  string           `help:"Directory searched first for bc-pow-<name> strategy plugins (then the directory of this program)." env:"BC_PLUGIN_DIR" placeholder:"DIR" type:"path"`
	LogLevel   string           `help:"Log level: debug, info, warn or error." env:"BC_LOG_LEVEL" default:"info" enum:"debug,info,warn,error"`
	LogFormat  string           `help:"Log format: text or json." env:"BC_LOG_FORMAT" default:"text" enum:"text,json"`
	LogFile    string           `help:"Write the log to FILE (relative paths are inside --dir, e.g. miner.log) instead of stderr, rotated at --log-max-size with --log-backups old files." env:"BC_LOG_FILE" placeholder:"FILE"`
	LogMaxSize int              `help:"Size in MiB at which --log-file is rotated." env:"BC_LOG_MAX_SIZE" default:"1"`
	LogBackups int              `help:"Rotated log files to keep." env:"BC_LOG_BACKUPS" default:"3"`
	LockWait   time.Duration    `help:"How long to wait for the chain lock before reporting who holds it." env:"BC_LOCK_WAIT" default:"10s"`
	Version    kong.VersionFlag `help:"Print the version and exit."`
}

// ExitError carries an exit code through an error.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Failed marks err as "the work failed" (exit 1).
func Failed(err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: ExitFailed, Err: err}
}

// ExitCode maps an error to the exit-code table: rule violations, a chain
// file changed in place or replaced by a foreign one, and errors marked
// Failed give 1, everything else 2.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if validate.AsRuleError(err) != nil || errors.Is(err, store.ErrTampered) || errors.Is(err, store.ErrForeignChain) {
		return ExitFailed
	}
	return ExitUsage
}

// Env is what a running command gets: its streams, logger and context.
type Env struct {
	Name string
	// Command is the subcommand kong selected ("" without subcommands).
	Command string
	Common  *Common
	Log     *slog.Logger
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// Status is non-nil when stderr is a terminal: a live status line that
	// log output scrolls above.
	Status *StatusWriter
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Finder returns the plugin finder for --plugin-dir.
func (e *Env) Finder() pow.Finder { return pow.NewFinder(e.Common.PluginDir) }

// LoadStrategy starts the named strategy plugin.
func (e *Env) LoadStrategy(ctx context.Context, name string) (*pow.Plugin, error) {
	return pow.Load(ctx, e.Finder(), name, e.Log)
}

// OpenDir opens the chain directory of --dir.
func (e *Env) OpenDir() (*store.Dir, error) {
	d, err := store.Open(e.Common.Dir, store.Options{Log: e.Log, Owner: e.Name, LockWait: e.Common.LockWait})
	if err == nil {
		d.CheckExposure()
	}
	return d, err
}

// Main parses args for the command grammar (a struct embedding Common),
// sets up logging and signals and calls run. It returns the exit code.
func Main(name, description string, grammar any, common *Common, args []string, run func(ctx context.Context, env *Env) error) int {
	code := -1
	parser, err := kong.New(grammar,
		kong.Name(name),
		kong.Description(description),
		kong.Vars{"default_dir": store.DefaultDir(), "version": name + " " + version()},
		kong.Exit(func(c int) { code = c; panic(exitPanic{}) }),
		kong.ValueFormatter(helpWithDefaults),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, WrapUpperBound: 100}),
		kong.Writers(os.Stdout, os.Stderr),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return ExitUsage
	}
	command, done := parse(parser, args, &code)
	if done {
		return code
	}
	env := &Env{Name: name, Command: command, Common: common, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if IsTerminal(os.Stderr) {
		env.Status = NewStatusWriter(os.Stderr)
		env.Stderr = env.Status
	}
	log, closeLog, err := NewLogger(common, env.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return ExitUsage
	}
	defer closeLog()
	env.Log = log.With("prog", name)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, env); err != nil {
		code := ExitCode(err)
		if !errors.Is(err, errQuiet) {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		}
		if common.LogFile != "" && !errors.Is(err, errQuiet) {
			env.Log.Error("exiting", "error", err, "code", code)
		}
		return code
	}
	return ExitOK
}

// errQuiet is wrapped by errors whose message was already printed.
var errQuiet = errors.New("reported")

// Quiet wraps an error that was already reported to the user, keeping its
// exit code.
func Quiet(code int) error { return &ExitError{Code: code, Err: errQuiet} }

type exitPanic struct{}

// parse runs kong, turning its exits (help, version) and parse errors into
// exit codes: kong would exit 80 on a parse error, bc's table says 2.
func parse(parser *kong.Kong, args []string, code *int) (command string, done bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exitPanic); !ok {
				panic(r)
			}
			done = true
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v (see %s --help)\n", parser.Model.Name, err, parser.Model.Name)
		*code = ExitUsage
		return "", true
	}
	return kctx.Command(), false
}

// helpWithDefaults shows the environment variable of each flag in --help,
// and its default where a placeholder hides it (kong shows the others as
// --flag=default).
func helpWithDefaults(value *kong.Value) string {
	help := strings.TrimSuffix(value.Help, ".")
	var extra []string
	if value.HasDefault && value.Default != "" && value.Tag.PlaceHolder != "" {
		extra = append(extra, "default: "+value.Default)
	}
	for _, e := range value.Tag.Envs {
		extra = append(extra, "$"+e)
	}
	if len(extra) > 0 {
		help += " (" + strings.Join(extra, "; ") + ")"
	}
	if help != "" {
		help += "."
	}
	return help
}

// NewLogger builds the slog logger the common flags describe.
func NewLogger(c *Common, stderr io.Writer) (*slog.Logger, func(), error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil && c.LogLevel != "" {
		return nil, nil, fmt.Errorf("--log-level %q: %w", c.LogLevel, err)
	}
	out, closeFn := stderr, func() {}
	if c.LogFile != "" {
		path := c.LogFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(c.Dir, path)
		}
		if err := os.MkdirAll(filepath.Dir(path), store.DirMode); err != nil {
			return nil, nil, fmt.Errorf("--log-file: %w", err)
		}
		maxSize, backups := c.LogMaxSize, c.LogBackups
		if maxSize <= 0 {
			maxSize = DefaultLogMaxMiB
		}
		lj := &lumberjack.Logger{Filename: path, MaxSize: maxSize, MaxBackups: backups}
		out, closeFn = lj, func() { _ = lj.Close() }
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(out, opts)
	} else {
		h = slog.NewTextHandler(out, opts)
	}
	return slog.New(h), closeFn, nil
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
