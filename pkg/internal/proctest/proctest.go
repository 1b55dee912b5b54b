// Package proctest runs bc's programs as real processes in tests without a
// build step: the test binary registers every program with testscript.Main
// (see Main and Programs), and a symlink named after a program makes the test binary
// run as that program.
package proctest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bin is a directory of symlinks to the test binary, one per program name,
// to be used as PATH entry and as BC_PLUGIN_DIR.
type Bin struct {
	Dir string
}

// NewBin links every name to the running test binary.
func NewBin(t testing.TB, names ...string) *Bin {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range names {
		if err := os.Symlink(exe, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return &Bin{Dir: dir}
}

// Path returns the path of a program.
func (b *Bin) Path(name string) string { return filepath.Join(b.Dir, name) }

// Env returns the environment for the programs: BC_PLUGIN_DIR, PATH and
// extra, on top of the test's environment.
func (b *Bin) Env(extra ...string) []string {
	env := append(os.Environ(), "BC_PLUGIN_DIR="+b.Dir, "PATH="+b.Dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return append(env, extra...)
}

// Run runs a program to completion and returns its stdout, stderr and exit code.
func (b *Bin) Run(t testing.TB, stdin string, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(b.Path(name), args...)
	cmd.Env = b.Env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	return out.String(), errb.String(), code
}

// Proc is a running program.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	out  SyncBuffer
	done chan struct{}
	err  error
}

// SyncBuffer is a bytes.Buffer that several goroutines may write.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start starts a program in the background; it is killed at the end of the
// test if still running, and its output is logged if the test failed.
func (b *Bin) Start(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	return b.StartEnv(t, nil, name, args...)
}

// StartEnv is Start with extra environment variables.
func (b *Bin) StartEnv(t testing.TB, extra []string, name string, args ...string) *Proc {
	t.Helper()
	return b.StartWrapped(t, extra, nil, name, args...)
}

// StartWrapped is StartEnv with the program run through a wrapper command
// that execs it, such as ip netns exec NS.
func (b *Bin) StartWrapped(t testing.TB, extra, wrapper []string, name string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, done: make(chan struct{})}
	argv := append(append(append([]string(nil), wrapper...), b.Path(name)), args...)
	p.Cmd = exec.Command(argv[0], argv[1:]...)
	p.Cmd.Env = b.Env(extra...)
	p.Cmd.Stdout, p.Cmd.Stderr = &p.out, &p.out
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("--- output of %s %v:\n%s", name, args, p.Output())
		}
	})
	return p
}

// Output returns what the program wrote so far (stdout and stderr).
func (p *Proc) Output() string { return p.out.String() }

// PID returns the process id.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Signal sends sig and waits up to timeout for the exit; it returns the
// exit code (-1 if it had to be killed).
func (p *Proc) Signal(sig syscall.Signal, timeout time.Duration) int {
	_ = p.Cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return p.ExitCode()
	case <-time.After(timeout):
		p.Kill()
		return -1
	}
}

// Kill sends SIGKILL and waits for the exit.
func (p *Proc) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// ExitCode returns the exit code after the process ended.
func (p *Proc) ExitCode() int {
	if p.Cmd.ProcessState == nil {
		return -1
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Eventually polls cond every 20 ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CPUTime returns the user+system CPU time of a process so far.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// Fields after the command: state is [0]; utime [11], stime [12].
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc stat for %d", pid)
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks, nil
}

// Children returns the pids whose parent is pid.
func Children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// Alive reports whether pid runs (zombies count as gone).
func Alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
