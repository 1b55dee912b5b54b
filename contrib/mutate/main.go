// Command mutate checks that the test suite notices when a rule of bc is
// broken: it applies each mutation of mutations.txt, one at a time, to a
// copy of the working tree, runs the tests that should catch it, and
// reports every mutation they let through (exit 1 if any). `make mutate`
// runs it; add a mutation whenever a rule gets a test of its own.
//
// mutations.txt holds blocks separated by blank lines:
//
//	name: repend
//	why: re-pending on a reorg removed
//	file: pkg/store/reorg.go
//	find: if err := d.AddPending(ctx, back); err != nil {
//	replace: if err := d.AddPending(ctx, nil); err != nil {
//	test: ./pkg/store -run ^TestReorg
//
// find must occur exactly once in file. A mutation may make several
// edits: each find/replace pair is one, in the file last named. Each test
// line is the arguments of one `go test -count=1` run; the mutation is
// caught when any run fails. `# ` lines are comments; \n and \t in find
// and replace stand for a newline and a tab.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type mutation struct {
	name, why string
	edits     []edit
	tests     [][]string
	line      int
}

type edit struct{ file, find, replace string }

func main() {
	list := flag.String("list", "contrib/mutate/mutations.txt", "the mutations")
	only := flag.String("only", "", "run only the mutation with this name")
	timeout := flag.Duration("timeout", 10*time.Minute, "per test run")
	flag.Parse()
	ms, err := parse(*list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(2)
	}
	work, err := copyTree()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(2)
	}
	defer os.RemoveAll(work)
	var missed []string
	ran := 0
	for _, m := range ms {
		if *only != "" && m.name != *only {
			continue
		}
		ran++
		caught, out, err := run(work, m, *timeout)
		switch {
		case err != nil:
			fmt.Printf("ERROR   %-24s %v\n", m.name, err)
			missed = append(missed, m.name)
		case caught:
			fmt.Printf("caught  %-24s %s\n", m.name, out)
		default:
			fmt.Printf("MISSED  %-24s %s: no test failed\n", m.name, m.why)
			missed = append(missed, m.name)
		}
	}
	fmt.Printf("\n%d mutations, %d caught, %d missed\n", ran, ran-len(missed), len(missed))
	if len(missed) > 0 {
		os.Exit(1)
	}
}

// run applies m in work, runs its tests and restores the files.
func run(work string, m mutation, timeout time.Duration) (bool, string, error) {
	for _, e := range m.edits {
		path := filepath.Join(work, e.file)
		orig, err := os.ReadFile(path)
		if err != nil {
			return false, "", err
		}
		if n := strings.Count(string(orig), e.find); n != 1 {
			return false, "", fmt.Errorf("line %d: find occurs %d times in %s (want once): the code moved, update the mutation", m.line, n, e.file)
		}
		defer os.WriteFile(path, orig, 0o644)
		if err := os.WriteFile(path, []byte(strings.Replace(string(orig), e.find, e.replace, 1)), 0o644); err != nil {
			return false, "", err
		}
	}
	for _, args := range m.tests {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-count=1"}, args...)...)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		cancel()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if strings.Contains(string(out), "[build failed]") || strings.Contains(string(out), "[setup failed]") {
				return false, "", fmt.Errorf("the mutated code does not build (fix the mutation):\n%s", out)
			}
			return true, "by go test " + strings.Join(args, " ") + ": " + firstFailure(string(out)), nil
		}
		if err != nil {
			return false, "", err
		}
	}
	return false, "", nil
}

// firstFailure picks the first failing test's name from go test output.
func firstFailure(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "--- FAIL") {
			return strings.TrimSpace(strings.TrimPrefix(l, "---"))
		}
	}
	return "failed"
}

func parse(path string) ([]mutation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mutation
	var cur mutation
	file := ""
	flush := func() error {
		if cur.name == "" && len(cur.edits) == 0 {
			return nil
		}
		if cur.name == "" || len(cur.edits) == 0 || len(cur.tests) == 0 {
			return fmt.Errorf("%s:%d: a mutation needs name, file, find, replace and test", path, cur.line)
		}
		out = append(out, cur)
		cur, file = mutation{}, ""
		return nil
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want key: value", path, n)
		}
		if cur.line == 0 {
			cur.line = n
		}
		val = strings.NewReplacer(`\n`, "\n", `\t`, "\t").Replace(val)
		switch key {
		case "name":
			cur.name = val
		case "why":
			cur.why = val
		case "file":
			file = val
		case "find":
			if file == "" {
				return nil, fmt.Errorf("%s:%d: find before file", path, n)
			}
			cur.edits = append(cur.edits, edit{file: file, find: val})
		case "replace":
			if len(cur.edits) == 0 {
				return nil, fmt.Errorf("%s:%d: replace before find", path, n)
			}
			cur.edits[len(cur.edits)-1].replace = val
		case "test":
			cur.tests = append(cur.tests, strings.Fields(val))
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q", path, n, key)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, sc.Err()
}

// copyTree copies the working tree's tracked and untracked (not ignored)
// files into a temporary directory.
func copyTree() (string, error) {
	out, err := exec.Command("git", "ls-files", "-co", "--exclude-standard", "-z").Output()
	if err != nil {
		return "", fmt.Errorf("git ls-files: %w", err)
	}
	dir, err := os.MkdirTemp("", "bc-mutate-")
	if err != nil {
		return "", err
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if err := copyFile(name, filepath.Join(dir, name)); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil // deleted in the working tree
	}
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil || st.IsDir() {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
