// Package cmdline holds what every bc program's command line shares: the
// flags for logs and --version, kong set up the same way everywhere, the
// exit-code table, logging with slog (rotated files with lumberjack), and
// signal handling. Programs that work on a chain directory build on it in
// package cli; the small clients (bc-add, bc-get) use it alone, so they
// link neither the plugin host nor the chain directory code.
//
// Exit codes (the same for every binary):
//
//	0  success
//	1  the work failed: an invalid chain, a rejected block, a refused message
//	2  usage or I/O error: bad flags, a missing file or plugin, a held lock,
//	   an unreachable node
package cmdline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
	"golang.org/x/term"
	"gopkg.in/natefinch/lumberjack.v2"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
)

// Log rotation defaults, the seed's: 1 MiB files, 3 backups.
const (
	DefaultLogMaxMiB  = 1
	DefaultLogBackups = 3
)

// Common are the flags every bc program has.
type Common struct {
	LogLevel   string           `help:"Log level: debug, info, warn or error." env:"BC_LOG_LEVEL" default:"info" enum:"debug,info,warn,error"`
	LogFormat  string           `help:"Log format: text or json." env:"BC_LOG_FORMAT" default:"text" enum:"text,json"`
	LogFile    string           `help:"Write the log to FILE instead of stderr (for programs with a chain directory, a relative path is inside --dir, e.g. miner.log), rotated at --log-max-size with --log-backups old files." env:"BC_LOG_FILE" placeholder:"FILE"`
	LogMaxSize int              `help:"Size in MiB at which --log-file is rotated." env:"BC_LOG_MAX_SIZE" default:"${log_max_size}"`
	LogBackups int              `help:"Rotated log files to keep." env:"BC_LOG_BACKUPS" default:"${log_backups}"`
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

// failure is implemented by errors that mean "the work failed" (exit 1)
// wherever they come from: a rule a chain breaks, a chain file changed in
// place or replaced by a foreign one.
type failure interface{ Failure() bool }

// ExitCode maps an error to the exit-code table: errors marked Failed and
// errors that are failures of the work (see failure) give 1, everything
// else 2.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var f failure
	if errors.As(err, &f) && f.Failure() {
		return ExitFailed
	}
	return ExitUsage
}

// Env is what a running command gets: its streams, logger and context.
type Env struct {
	Name string
	// Command is the subcommand kong selected ("" without subcommands).
	Command string
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

// Program describes a program to Main.
type Program struct {
	Name, Description string
	// Grammar is the kong model: a struct embedding Common.
	Grammar any
	Common  *Common
	// Vars are extra ${name} values for the grammar's tags, besides those
	// of the grammar itself (see Varser).
	Vars kong.Vars
	// LogDir, when set, is called after parsing: a relative --log-file is
	// inside the directory it returns.
	LogDir func() string
}

// Varser is a grammar whose tags use ${name} values: defaults kept in Go
// constants, so that each is written once.
type Varser interface{ Vars() kong.Vars }

// Vars returns every ${name} value a program's grammar may use: the
// common ones, extra, and the grammar's own.
func Vars(name string, grammar any, extra kong.Vars) kong.Vars {
	vars := kong.Vars{"version": name + " " + VersionString(),
		"log_max_size": fmt.Sprint(DefaultLogMaxMiB), "log_backups": fmt.Sprint(DefaultLogBackups)}
	for k, v := range extra {
		vars[k] = v
	}
	if g, ok := grammar.(Varser); ok {
		for k, v := range g.Vars() {
			vars[k] = v
		}
	}
	return vars
}

// Main parses args for the program's grammar, sets up logging and signals
// and calls run. It returns the exit code.
func Main(p Program, args []string, run func(ctx context.Context, env *Env) error) int {
	code := -1
	vars := Vars(p.Name, p.Grammar, p.Vars)
	parser, err := kong.New(p.Grammar,
		kong.Name(p.Name),
		kong.Description(p.Description),
		vars,
		kong.Exit(func(c int) { code = c; panic(exitPanic{}) }),
		kong.ValueFormatter(helpWithDefaults),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, WrapUpperBound: 100}),
		kong.Writers(os.Stdout, os.Stderr),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", p.Name, err)
		return ExitUsage
	}
	command, done := parse(parser, args, &code)
	if done {
		return code
	}
	env := &Env{Name: p.Name, Command: command, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if IsTerminal(os.Stderr) {
		env.Status = NewStatusWriter(os.Stderr)
		env.Stderr = env.Status
	}
	logDir := ""
	if p.LogDir != nil {
		logDir = p.LogDir()
	}
	log, logFile, err := NewLogger(p.Common, logDir, env.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", p.Name, err)
		return ExitUsage
	}
	defer logFile.Close()
	env.Log = log.With("prog", p.Name)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopHUP := onHangup(env.Log, logFile)
	defer stopHUP()
	err = run(ctx, env)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// A stop that was asked for (SIGTERM, Ctrl-C) is no error, whatever
		// the program was waiting for.
		env.Log.Debug("stopped on request while starting")
		err = nil
	}
	if err != nil {
		code := ExitCode(err)
		if !errors.Is(err, errQuiet) {
			fmt.Fprintf(os.Stderr, "%s: %v\n", p.Name, err)
		}
		if p.Common.LogFile != "" && !errors.Is(err, errQuiet) {
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

// onHangup handles SIGHUP as daemons do: the log file is reopened (for
// log rotators that move it away) and the signal logged, instead of the
// default of dying without a word. It returns the function that stops
// handling it.
func onHangup(log *slog.Logger, f *LogFile) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				if f.Reopen() {
					log.Info("SIGHUP: log file reopened")
				} else {
					log.Info("SIGHUP: nothing to reload (bc reads its settings at start only)")
				}
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}

// LogFile is the --log-file being written, if any.
type LogFile struct {
	lj *lumberjack.Logger
}

// Reopen closes the log file, so that the next record opens it again by
// its name; it reports whether there is a file.
func (f *LogFile) Reopen() bool {
	if f == nil || f.lj == nil {
		return false
	}
	_ = f.lj.Close()
	return true
}

// Close closes the log file, if any.
func (f *LogFile) Close() {
	if f != nil && f.lj != nil {
		_ = f.lj.Close()
	}
}

// NewLogger builds the slog logger the common flags describe; a relative
// --log-file is inside dir.
func NewLogger(c *Common, dir string, stderr io.Writer) (*slog.Logger, *LogFile, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil && c.LogLevel != "" {
		return nil, nil, fmt.Errorf("--log-level %q: %w", c.LogLevel, err)
	}
	out, file := io.Writer(stderr), &LogFile{}
	if c.LogFile != "" {
		path := c.LogFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, nil, fmt.Errorf("--log-file: %w", err)
		}
		maxSize, backups := c.LogMaxSize, c.LogBackups
		if maxSize <= 0 {
			maxSize = DefaultLogMaxMiB
		}
		lj := &lumberjack.Logger{Filename: path, MaxSize: maxSize, MaxBackups: backups}
		out, file = lj, &LogFile{lj: lj}
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(out, opts)
	} else {
		h = slog.NewTextHandler(out, opts)
	}
	return slog.New(h), file, nil
}
