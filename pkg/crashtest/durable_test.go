package crashtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/store"
)

// A SIGKILL keeps the page cache, so the crash tests cannot tell a write
// that reached the disk from one that did not. This test watches the
// system calls instead (strace): an /add is answered only after the
// pending log was fdatasync'd, and a mined block is fdatasync'd into the
// chain before bc-mine goes on.
func TestWritesAreSyncedBeforeTheyCount(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		proctest.SkipMissing(t, "strace is not installed (apt-get install strace): durability is checked on the system calls")
	}
	c := nodetest.New(t)
	n := c.Node("synced", 8)
	n.Create()
	trace := func(name string) []string {
		return []string{"strace", "-f", "-qq", "-s", "512", "-e", "trace=openat,close,write,pwrite64,fdatasync,fsync", "-o", filepath.Join(t.TempDir(), name)}
	}

	// An /add, answered 200, with bc-serve traced.
	serveTrace := trace("serve.trace")
	p := c.Bin.StartWrapped(t, nil, serveTrace, "bc-serve", "--dir", n.Path, "--listen", n.Addr())
	n.WaitHTTP()
	id := n.Add("durable-1234567890")
	stopTraced(t, p)
	log := readTrace(t, serveTrace[len(serveTrace)-1])
	written := -1
	for i, c := range log {
		if c.call == "write" && c.fileIs(store.PendingFile) && strings.Contains(c.args, "durable-1234567890") {
			written = i
		}
	}
	answered := -1
	for i, c := range log {
		if c.call == "write" && strings.Contains(c.args, "HTTP/1.1 200") && strings.Contains(c.args, id) {
			answered = i
			break
		}
	}
	if written < 0 || answered < 0 {
		t.Fatalf("the trace has no write of the message (%d) or no 200 answer (%d):\n%s", written, answered, dump(log))
	}
	if !syncedBetween(log, written, answered) {
		t.Fatalf("bc-serve answered 200 before the pending log was fdatasync'd:\n%s", dump(log[written:answered+1]))
	}

	// A block, with bc-mine traced.
	mineTrace := trace("mine.trace")
	m := c.Bin.StartWrapped(t, nil, mineTrace, "bc-mine", "--dir", n.Path, "--once")
	select {
	case <-m.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("bc-mine --once did not finish")
	}
	if m.ExitCode() != 0 {
		t.Fatalf("bc-mine --once: exit %d: %s", m.ExitCode(), m.Output())
	}
	log = readTrace(t, mineTrace[len(mineTrace)-1])
	appended := -1
	for i, c := range log {
		if c.call == "pwrite64" && c.fileIs(store.ChainFile) && strings.Contains(c.args, "durable-1234567890") {
			appended = i
		}
	}
	if appended < 0 {
		t.Fatalf("the trace has no write of the block:\n%s", dump(log))
	}
	if !syncedBetween(log, appended, len(log)) {
		t.Fatalf("the block was written into %s and never fdatasync'd:\n%s", store.ChainFile, dump(log[appended:]))
	}
	proctest.Eventually(t, 5*time.Second, "the message to be mined", func() bool { return n.IDs()[id] == 1 })
}

// stopTraced ends a program run under strace with SIGTERM to the program
// itself (strace would only detach from it) and waits for both.
func stopTraced(t *testing.T, p *proctest.Proc) {
	t.Helper()
	for _, pid := range proctest.Children(p.PID()) {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the traced program did not stop")
	}
}

// call is one system call of a trace, with the file its fd was opened on.
type call struct {
	call, args string
	fd         int
	file       string
}

func (c call) fileIs(name string) bool { return filepath.Base(c.file) == name }

var (
	callRE       = regexp.MustCompile(`^\d+\s+(\w+)\((.*)\)\s+= (-?\d+)`)
	openRE       = regexp.MustCompile(`^[^,]+, "([^"]+)"`)
	unfinishedRE = regexp.MustCompile(`^(\d+)\s+(\w+\(.*) <unfinished \.\.\.>$`)
	resumedRE    = regexp.MustCompile(`^(\d+)\s+<\.\.\. \w+ resumed>(.*)$`)
)

// joinInterrupted puts back together the calls that strace -f splits
// when another thread runs meanwhile ("fdatasync(12 <unfinished ...>",
// later "<... fdatasync resumed>) = 0"), at the place where they ended:
// a sync counts once it has returned.
func joinInterrupted(lines []string) []string {
	started := map[string]string{}
	out := lines[:0:0]
	for _, line := range lines {
		if m := unfinishedRE.FindStringSubmatch(line); m != nil {
			started[m[1]] = m[2]
			continue
		}
		if m := resumedRE.FindStringSubmatch(line); m != nil {
			line = m[1] + " " + started[m[1]] + m[2]
			delete(started, m[1])
		}
		out = append(out, line)
	}
	return out
}

// readTrace parses an strace log, following which file each fd is open on
// (fds are shared by the threads of a process).
func readTrace(t *testing.T, path string) []call {
	b, err := os.ReadFile(path)
	nodetest.Must(t, err)
	files := map[int]string{}
	var out []call
	for _, line := range joinInterrupted(strings.Split(string(b), "\n")) {
		m := callRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		c := call{call: m[1], args: m[2]}
		ret, _ := strconv.Atoi(m[3])
		if c.call == "openat" {
			if f := openRE.FindStringSubmatch(c.args); f != nil && ret >= 0 {
				files[ret] = f[1]
			}
			continue
		}
		fdText, _, _ := strings.Cut(c.args, ",")
		c.fd, _ = strconv.Atoi(strings.TrimSuffix(fdText, ")"))
		c.file = files[c.fd]
		if c.call == "close" {
			delete(files, c.fd)
		}
		out = append(out, c)
	}
	return out
}

// syncedBetween reports whether the fd written at log[from] is
// fdatasync'd (or fsync'd) before log[to], without being closed first.
func syncedBetween(log []call, from, to int) bool {
	fd := log[from].fd
	for _, c := range log[from+1 : min(to, len(log))] {
		switch {
		case (c.call == "fdatasync" || c.call == "fsync") && c.fd == fd:
			return true
		case c.call == "close" && c.fd == fd:
			return false
		}
	}
	return false
}

func dump(log []call) string {
	var b strings.Builder
	for _, c := range log[:min(len(log), 60)] {
		args := c.args
		if len(args) > 100 {
			args = args[:100] + "…"
		}
		b.WriteString(c.call + "(" + args + ") [" + c.file + "]\n")
	}
	return b.String()
}

func TestJoinInterruptedStraceLines(t *testing.T) {
	got := joinInterrupted([]string{
		`7 write(12, "x", 1) = 1`,
		`7 fdatasync(12 <unfinished ...>`,
		`8 write(10, "HTTP/1.1 200", 12) = 12`,
		`7 <... fdatasync resumed>) = 0`,
	})
	want := []string{`7 write(12, "x", 1) = 1`, `8 write(10, "HTTP/1.1 200", 12) = 12`, `7 fdatasync(12) = 0`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("joined:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
