package pow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/fsperm"
	"github.com/bc-chain/bc/pkg/pow/powpb"
)

// BinaryPrefix is how strategy plugin executables are named: bc-pow-<name>.
const BinaryPrefix = "bc-pow-"

// EnvLogLevel tells a plugin the host's log level.
const EnvLogLevel = "BC_PLUGIN_LOG_LEVEL"

// Finder locates strategy plugins.
type Finder struct {
	// Dirs are searched in order.
	Dirs []string
}

// LibexecDir is where make install puts the plugins, relative to the
// programs' directory (bin/../libexec/bc), as Unix tools keep the
// executables that only other programs run.
const LibexecDir = "../libexec/bc"

// NewFinder searches pluginDir (from --plugin-dir or BC_PLUGIN_DIR) if set,
// then the directory of the running executable (a build tree, bin/), then
// LibexecDir beside it (an installation).
func NewFinder(pluginDir string) Finder {
	var dirs []string
	if pluginDir != "" {
		dirs = append(dirs, pluginDir)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Dir(exe), filepath.Clean(filepath.Join(filepath.Dir(exe), LibexecDir)))
	}
	return Finder{Dirs: dirs}
}

// Found is a plugin executable.
type Found struct {
	Name string
	Path string
}

// Find returns the executable of the named strategy.
func (f Finder) Find(name string) (string, error) {
	if err := checkStrategyName(name); err != nil {
		return "", err
	}
	for _, d := range f.Dirs {
		p := filepath.Join(d, BinaryPrefix+name)
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("strategy %q: no executable %s%s in %s; build it (make build) or point --plugin-dir / BC_PLUGIN_DIR at the directory that holds it",
		name, BinaryPrefix, name, f.where())
}

func (f Finder) where() string {
	if len(f.Dirs) == 0 {
		return "(no directory to search)"
	}
	return strings.Join(f.Dirs, ", ")
}

// List returns every plugin found, the first of each name winning.
func (f Finder) List() []Found {
	seen := map[string]bool{}
	var out []Found
	for _, d := range f.Dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), BinaryPrefix)
			if !ok || seen[name] || checkStrategyName(name) != nil {
				continue
			}
			p := filepath.Join(d, e.Name())
			if isExecutable(p) {
				seen[name] = true
				out = append(out, Found{Name: name, Path: p})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func checkStrategyName(name string) error {
	p := chain.Params{Version: chain.FormatVersion, Network: "x", Strategy: name}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("strategy name %q: use lowercase letters, digits, '-' and '_'", name)
	}
	return nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// Plugin is a running strategy plugin. It implements Strategy and
// validate.Verifier by calling the subprocess.
type Plugin struct {
	path   string
	client *plugin.Client
	rpc    powpb.StrategyClient
	info   Info
	stop   chan struct{} // ends the goroutine that owns the plugin's thread
	once   sync.Once
}

// checkSocketDir tells whether the plugin can create its Unix socket in
// the temporary directory (go-plugin's only way there). It runs after a
// start failed, so that a read-only or missing /tmp (a container's empty
// root, say) is named as such rather than as a failed handshake, at no
// cost to the starts that work.
func checkSocketDir() error {
	dir := os.TempDir()
	f, err := os.CreateTemp(dir, ".bc-plugin-check-*")
	if err != nil {
		return fmt.Errorf("strategy plugins talk to bc over a Unix socket in %s, where nothing can be created (%w): set TMPDIR to a writable directory", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Open starts the plugin executable at path and performs the handshake.
// Close must be called to stop it.
func Open(ctx context.Context, path string, log *slog.Logger) (*Plugin, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cmd := exec.Command(path)
	// The plugin makes its socket in TMPDIR: the host's (see checkSocketDir).
	cmd.Env = append(cmd.Env, EnvLogLevel+"="+levelName(log), "TMPDIR="+os.TempDir())
	// Belt and braces with the SDK's watchdog: on Linux the kernel kills
	// the plugin if the thread that started it dies (see startPinned).
	cmd.SysProcAttr = deathSignal()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          PluginMap(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogAdapter(log.With("plugin", filepath.Base(path))),
		StartTimeout:     20 * time.Second,
		Stderr:           io.Discard,
	})
	p := &Plugin{path: path, client: client, stop: make(chan struct{})}
	if err := p.startPinned(); err != nil {
		p.Close()
		if sockErr := checkSocketDir(); sockErr != nil {
			return nil, sockErr
		}
		return nil, fmt.Errorf("start plugin %s: %w", path, err)
	}
	rpcClient, err := client.Client()
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("connect to plugin %s: %w", path, err)
	}
	raw, err := rpcClient.Dispense(pluginName)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	p.rpc = raw.(powpb.StrategyClient)
	desc, err := p.rpc.Describe(ctx, &powpb.DescribeRequest{})
	if err != nil {
		p.Close()
		return nil, rpcError("describe plugin "+path, err)
	}
	p.info = infoFromProto(desc)
	return p, nil
}

// startPinned starts the subprocess from a goroutine locked to its OS
// thread, kept alive until Close: Pdeathsig fires when the thread that forked
// the child exits, and a locked, parked goroutine keeps that thread alive for
// exactly the plugin's lifetime.
func (p *Plugin) startPinned() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		_, err := p.client.Start()
		started <- err
		<-p.stop
		// Returning while locked ends the thread; the plugin is already
		// stopped by now.
	}()
	return <-started
}

// Load finds the named strategy with f and opens it.
func Load(ctx context.Context, f Finder, name string, log *slog.Logger) (*Plugin, error) {
	path, err := f.Find(name)
	if err != nil {
		return nil, err
	}
	// A plugin runs with this user's rights: one that another user could
	// replace would run their code.
	if why := fsperm.PathExposure(path, os.Getuid()); why != "" {
		return nil, fmt.Errorf("refusing to run plugin %s: %s; another user could replace it (chmod go-w, or install it where only you and root can write)", path, why)
	}
	p, err := Open(ctx, path, log)
	if err != nil {
		return nil, err
	}
	if p.info.Name != name {
		p.Close()
		return nil, fmt.Errorf("plugin %s calls itself %q, want %q", path, p.info.Name, name)
	}
	return p, nil
}

// Close stops the plugin process and waits for it to exit. It is safe to
// call more than once.
func (p *Plugin) Close() {
	p.once.Do(func() {
		p.client.Kill()
		close(p.stop)
	})
}

// Path returns the plugin's executable.
func (p *Plugin) Path() string { return p.path }

// Describe returns the strategy's description (fetched once at Open).
func (p *Plugin) Describe() Info { return p.info }

// Exited reports whether the plugin process has exited.
func (p *Plugin) Exited() bool { return p.client.Exited() }

// Seal runs a whole search in one call; report, if not nil, receives the
// running attempt count as the plugin sends it (SealProgress chooses the
// interval).
func (p *Plugin) Seal(ctx context.Context, req SealRequest, report func(attempts uint64)) (SealResult, error) {
	return p.SealProgress(ctx, req, 0, func(total uint64, _ time.Duration) {
		if report != nil {
			report(total)
		}
	})
}

// SealProgress is Seal with progress reports every interval (none when 0),
// each giving the attempts so far and the time spent.
func (p *Plugin) SealProgress(ctx context.Context, req SealRequest, interval time.Duration, progress func(total uint64, elapsed time.Duration)) (SealResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := p.rpc.Seal(ctx, &powpb.SealRequest{
		Params: paramsToProto(&req.Params), Header: req.Header[:], PreviousProof: req.PrevProof,
		Threads: uint32(req.Threads), Start: req.Start, ProgressMs: uint32(interval / time.Millisecond),
	})
	if err != nil {
		return SealResult{}, rpcError("seal", err)
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return SealResult{}, ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return SealResult{}, errors.New("seal: plugin ended the search without a result")
			}
			return SealResult{}, rpcError("seal", err)
		}
		if !m.Done {
			if progress != nil {
				progress(m.Attempts, time.Duration(m.ElapsedNs))
			}
			continue
		}
		res := SealResult{Proof: m.Proof, Attempts: m.Attempts, Elapsed: time.Duration(m.ElapsedNs)}
		if len(m.WorkHash) != 32 {
			return res, fmt.Errorf("seal: plugin returned a %d-byte work hash", len(m.WorkHash))
		}
		copy(res.WorkHash[:], m.WorkHash)
		return res, nil
	}
}

// Verify checks a batch of work records (see Strategy).
func (p *Plugin) Verify(params chain.Params, records []byte) (int, chain.Hash, error) {
	return p.VerifyBatch(context.Background(), &params, records)
}

// CallTimeout bounds one Verify or Hash call, so that a hung plugin cannot
// stall its host forever. (A batch of memory-hard records can take seconds.)
const CallTimeout = 2 * time.Minute

// VerifyBatch implements validate.Verifier.
func (p *Plugin) VerifyBatch(ctx context.Context, params *chain.Params, records []byte) (int, chain.Hash, error) {
	var work chain.Hash
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	resp, err := p.rpc.Verify(ctx, &powpb.BatchRequest{Params: paramsToProto(params), Records: records})
	if err != nil {
		return -1, work, rpcError("verify", err)
	}
	bad := int(resp.FirstInvalid)
	if bad >= 0 {
		if bad >= len(records)/chain.RecordSize {
			return -1, work, fmt.Errorf("verify: plugin reported record %d of %d", bad, len(records)/chain.RecordSize)
		}
		copy(work[:], resp.WorkHash)
	}
	return bad, work, nil
}

// CheckParams implements validate.Verifier.
func (p *Plugin) CheckParams(_ context.Context, params *chain.Params) error {
	return CheckParams(p.info, params)
}

func levelName(log *slog.Logger) string {
	ctx := context.Background()
	switch {
	case log.Enabled(ctx, slog.LevelDebug):
		return "debug"
	case log.Enabled(ctx, slog.LevelInfo):
		return "info"
	case log.Enabled(ctx, slog.LevelWarn):
		return "warn"
	default:
		return "error"
	}
}

// PID returns the plugin's process id.
func (p *Plugin) PID() int {
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}
