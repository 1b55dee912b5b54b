package pow_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/powsdk"
	"github.com/bc-chain/bc/pkg/strategy"
)

// The test binary plays three roles, chosen by BC_TEST_ROLE: the plugin
// itself, a host that loads it, and a bare parent that starts the plugin
// without go-plugin's client (to test the SDK's own watchdog).
func TestMain(m *testing.M) {
	switch os.Getenv("BC_TEST_ROLE") {
	case "plugin":
		powsdk.Serve(strategy.Default{})
		os.Exit(0)
	case "noisy-plugin":
		powsdk.Logger().Warn("plugin warning", "detail", 42)
		powsdk.Logger().Debug("plugin detail")
		powsdk.Serve(strategy.Default{})
		os.Exit(0)
	case "host":
		runHost()
	case "bare-parent":
		runBareParent()
	}
	os.Exit(m.Run())
}

func self(t testing.TB) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func runHost() {
	os.Setenv("BC_TEST_ROLE", "plugin")
	exe, _ := os.Executable()
	p, err := pow.Open(context.Background(), exe, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(p.PID())
	time.Sleep(time.Minute)
	os.Exit(0)
}

func runBareParent() {
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "BC_TEST_ROLE=plugin",
		pow.Handshake.MagicCookieKey+"="+pow.Handshake.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS="+strconv.Itoa(pow.ProtocolVersion))
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	line, _ := bufio.NewReader(out).ReadString('\n') // go-plugin's handshake line
	if !strings.Contains(line, "|") {
		fmt.Println("error no handshake:", line)
		os.Exit(1)
	}
	fmt.Println(cmd.Process.Pid)
	time.Sleep(time.Minute)
	os.Exit(0)
}

// gone reports whether pid has exited (a zombie left to a non-reaping init
// counts as gone).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

// killHostAndWatch starts role, reads the plugin's pid, SIGKILLs role and
// checks that the plugin is gone within 2 s.
func killHostAndWatch(t *testing.T, role string) {
	cmd := exec.Command(self(t), "-test.run=^$")
	cmd.Env = append(os.Environ(), "BC_TEST_ROLE="+role)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("host said %q: %v", line, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		t.Fatalf("host said %q", line)
	}
	if gone(pid) {
		t.Fatal("plugin not running before the kill")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("plugin %d still running 2 s after its host was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPluginDiesWithKilledHost(t *testing.T) { killHostAndWatch(t, "host") }

// Without go-plugin's client and without Pdeathsig, the SDK's watchdog alone
// ends the plugin.
func TestSDKWatchdog(t *testing.T) { killHostAndWatch(t, "bare-parent") }

// A plugin process serves the strategy: describe, seal, verify, hash, and
// closes cleanly.
func TestPluginRoundTrip(t *testing.T) {
	t.Setenv("BC_TEST_ROLE", "plugin")
	p, err := pow.Open(context.Background(), self(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	t.Setenv("BC_TEST_ROLE", "")
	info := p.Describe()
	if info.Name != "default" || info.DefaultDifficulty != strategy.DefaultDifficulty {
		t.Fatalf("describe: %+v", info)
	}
	d := uint32(10)
	params, err := pow.NewParams(info, "test", &d, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := chain.Header{Index: 1, Timestamp: 5}
	req := pow.SealRequest{Params: params}
	h.Encode(&req.Header)
	var progress int
	res, err := p.SealProgress(context.Background(), req, time.Millisecond, func(uint64, time.Duration) { progress++ })
	if err != nil {
		t.Fatal(err)
	}
	h.Proof = res.Proof
	if h.Hash() != res.WorkHash || res.WorkHash[0] != 0 {
		t.Fatalf("sealed %+v", res)
	}
	rec := chain.AppendRecord(nil, &h, 0)
	bad, _, err := p.VerifyBatch(context.Background(), &params, rec)
	if err != nil || bad != -1 {
		t.Fatalf("verify: %d %v", bad, err)
	}
	// At the strategy's highest difficulty the record fails, and Verify
	// gives its work hash: the one Seal reported.
	hardest := params
	hardest.Difficulty = p.Describe().MaxDifficulty
	if bad, work, err := p.VerifyBatch(context.Background(), &hardest, rec); err != nil || bad != 0 || work != res.WorkHash {
		t.Fatalf("verify at difficulty %d: bad %d, work %s, %v; want work %s", hardest.Difficulty, bad, work, err, res.WorkHash)
	}
	// Bad requests get errors, not crashes.
	if _, _, err := p.VerifyBatch(context.Background(), &params, rec[:50]); err == nil {
		t.Fatal("a partial record was accepted")
	}
	tooHard := params
	tooHard.Difficulty = 999
	if _, _, err := p.VerifyBatch(context.Background(), &tooHard, rec); err == nil {
		t.Fatal("an out-of-range difficulty was accepted")
	}
	// Cancelling a hard search returns promptly.
	hard := params
	hard.Difficulty = 100
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := p.Seal(ctx, pow.SealRequest{Params: hard, Header: req.Header}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled seal: %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("cancel took %v", el)
	}
	pid := p.PID()
	p.Close()
	if !gone(pid) {
		t.Fatal("Close left the plugin running")
	}
}

func TestFinder(t *testing.T) {
	dir := t.TempDir()
	f := pow.Finder{Dirs: []string{dir}}
	if _, err := f.Find("default"); err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "--plugin-dir") {
		t.Fatalf("missing plugin: %v", err)
	}
	for _, name := range []string{"bc-pow-zeta", "bc-pow-alpha", "bc-pow-noexec", "other"} {
		mode := os.FileMode(0o755)
		if name == "bc-pow-noexec" {
			mode = 0o644
		}
		if err := os.WriteFile(dir+"/"+name, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	list := f.List()
	if len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "zeta" {
		t.Fatalf("List = %+v", list)
	}
	if _, err := f.Find("../etc"); err == nil {
		t.Fatal("Find accepted a path")
	}
}

// Plugin logs reach the host's log with their level.
func TestPluginLogLevels(t *testing.T) {
	var buf proctest.SyncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Setenv("BC_TEST_ROLE", "noisy-plugin")
	p, err := pow.Open(context.Background(), self(t), log)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	var sawWarn, sawDebug bool
	for _, line := range strings.Split(buf.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["msg"] == "plugin warning" && rec["level"] == "WARN" && rec["detail"] == float64(42) {
			sawWarn = true
		}
		if rec["msg"] == "plugin detail" && rec["level"] == "DEBUG" {
			sawDebug = true
		}
	}
	if !sawWarn || !sawDebug {
		t.Fatalf("plugin log lines not in the host log with their levels:\n%s", buf.String())
	}
}

// Without a writable temporary directory (a container with an empty,
// read-only root) the plugin cannot make its socket: Open says so.
func TestOpenNamesAnUnwritableTempDir(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	_, err := pow.Open(context.Background(), os.Args[0], nil)
	if err == nil || !strings.Contains(err.Error(), "set TMPDIR to a writable directory") {
		t.Fatalf("Open with a missing TMPDIR: %v", err)
	}
}
