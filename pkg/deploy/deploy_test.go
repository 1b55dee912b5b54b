package deploy_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bc-chain/bc/pkg/api"
	"github.com/bc-chain/bc/pkg/backup"
	"github.com/bc-chain/bc/pkg/client"
	"github.com/bc-chain/bc/pkg/deploy"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/miner"
	"github.com/bc-chain/bc/pkg/peer"
	"github.com/bc-chain/bc/pkg/verify"
)

var update = flag.Bool("update", false, "rewrite contrib/completions")

func TestMain(m *testing.M) { proctest.Main(m, nil) }

var grammars = map[string]func() deploy.Describer{
	"bc-verify": func() deploy.Describer { return &verify.CLI{} },
	"bc-mine":   func() deploy.Describer { return &miner.CLI{} },
	"bc-serve":  func() deploy.Describer { return &api.CLI{} },
	"bc-gossip": func() deploy.Describer { return &peer.CLI{} },
	"bc-backup": func() deploy.Describer { return &backup.CLI{} },
	"bc-add":    func() deploy.Describer { return &client.AddCLI{} },
	"bc-get":    func() deploy.Describer { return &client.GetCLI{} },
}

const (
	completions = "../../contrib/completions"
	manPages    = "../../contrib/man"
)

// The committed manual pages are what the command lines give now, every
// program has one, and groff renders each without a warning.
func TestManPages(t *testing.T) {
	if len(deploy.Programs) != len(grammars) {
		t.Fatalf("deploy.Programs lists %d programs, the tests know %d", len(deploy.Programs), len(grammars))
	}
	for _, name := range deploy.Programs {
		page, err := deploy.Man(name, grammars[name]())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		path := filepath.Join(manPages, name+".1")
		if *update {
			if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		committed, err := os.ReadFile(path)
		if err != nil || string(committed) != page {
			t.Fatalf("%s is stale: run go test ./pkg/deploy -run TestManPages -update", path)
		}
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		proctest.SkipMissing(t, "groff is not installed (apt-get install groff-base): the pages are not rendered")
	}
	pages, _ := filepath.Glob(filepath.Join(manPages, "*.[15]"))
	for _, p := range pages {
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", p)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("groff %s: %v %s", p, err, out)
		}
	}
	out, err := exec.Command(groff, "-man", "-Tutf8", filepath.Join(manPages, "bc-backup.1")).Output()
	if err != nil || !strings.Contains(string(out), "restore") || !strings.Contains(string(out), "BC_DIR") {
		t.Fatalf("bc-backup(1) renders as:\n%s", out)
	}
}

// The committed completion scripts (Bash, zsh, fish) are what the
// command lines give now, they parse, and they complete in context.
func TestCompletions(t *testing.T) {
	shells := []struct {
		gen  func(string, any) (string, error)
		path func(name string) string
	}{
		{deploy.Bash, func(n string) string { return filepath.Join(completions, n) }},
		{deploy.Zsh, func(n string) string { return filepath.Join(completions, "zsh", "_"+n) }},
		{deploy.Fish, func(n string) string { return filepath.Join(completions, "fish", n+".fish") }},
	}
	for _, sh := range shells {
		for name, g := range grammars {
			script, err := sh.gen(name, g())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			path := sh.path(name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			committed, err := os.ReadFile(path)
			if err != nil || string(committed) != script {
				t.Fatalf("%s is stale: run go test ./pkg/deploy -run TestCompletions -update", path)
			}
		}
	}
	// The programs the dynamic lists run (bc-mine --list-strategies,
	// bc-backup list), on PATH.
	bin := proctest.NewBin(t, "bc-mine", "bc-backup", "bc-pow-default", "bc-pow-classic", "bc-pow-scrypt")
	spaced := filepath.Join(t.TempDir(), "a dir with spaces")
	if err := os.MkdirAll(filepath.Join(spaced, "sub dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, e, code := bin.Run(t, "", "bc-mine", "--dir", spaced, "--difficulty", "8", "--once"); code != 0 {
		t.Fatalf("bc-mine --once: %s %s", out, e)
	}
	if out, e, code := bin.Run(t, "", "bc-backup", "--dir", spaced, "--once"); code != 0 {
		t.Fatalf("bc-backup --once: %s %s", out, e)
	}
	// Each case is the words typed, the last one being completed (a path
	// with spaces is one word, as readline splits it).
	w := func(s ...string) []string { return s }
	cases := []struct {
		words   []string
		want    []string // prefixes of candidates that must be offered
		notWant []string // candidates that must not be
	}{
		{w("bc-mine", "--stra"), w("--strategy"), nil},
		{w("bc-mine", "--log-level", "w"), w("warn"), nil},
		{w("bc-mine", "--strategy", ""), w("default", "classic", "scrypt"), nil},
		{w("bc-verify", "--progress", "n"), w("never"), nil},
		{w("bc-get", "st"), w("status"), nil},
		{w("bc-get", "block", ""), nil, w("chain", "status", "block")},
		{w("bc-get", "status", ""), nil, w("chain", "status")},
		{w("bc-backup", "res"), w("restore"), nil},
		{w("bc-backup", "--dir", spaced, "restore", ""), w("node_"), nil},
		{w("bc-backup", "restore", "--"), w("--help"), w("--keep-last", "--interval")},
		{w("bc-backup", "--"), w("--keep-last"), nil},
		{w("bc-gossip", "--neigh"), nil, w("--neighbours")},
		{w("bc-serve", "--list"), w("--listen"), nil},
		{w("bc-serve", "--dir", filepath.Join(spaced, "sub")), w(filepath.Join(spaced, "sub dir")), nil},
	}
	for _, c := range cases {
		words := c.words
		prog := "source " + filepath.Join(completions, words[0]) + "\n" +
			"COMP_WORDS=(" + strings.Join(quoteAll(words), " ") + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)-1) + "\n" +
			"_" + strings.ReplaceAll(words[0], "-", "_") + "\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command("bash", "-c", prog)
		cmd.Env = bin.Env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", words, err, out)
		}
		got := strings.Split(strings.TrimSpace(string(out)), "\n")
		for _, want := range c.want {
			if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, want) }) {
				t.Errorf("bash: completing %q gave %q, want %q among them", words, got, want)
			}
		}
		for _, no := range c.notWant {
			if slices.Contains(got, no) {
				t.Errorf("bash: completing %q offers %q: %q", words, no, got)
			}
		}
	}
	checkFish(t, bin, spaced)
	checkZsh(t)
}

// checkFish asks fish itself what it would complete.
func checkFish(t *testing.T, bin *proctest.Bin, dir string) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		proctest.SkipMissing(t, "fish is not installed (apt-get install fish): its completions are not tried")
	}
	for _, c := range []struct{ line, want, notWant string }{
		{"bc-mine --log-level ", "warn", ""},
		{"bc-mine --strategy ", "scrypt\t", "default difficulty"},
		{"bc-backup ", "restore", ""},
		{"bc-backup restore --", "--help", "--keep-last"},
		{"bc-backup restore ", "node_", "awk"},
		{"bc-get ", "status", ""},
	} {
		script := "source " + filepath.Join(completions, "fish", strings.Fields(c.line)[0]+".fish") + "; complete -C" + fishString(c.line)
		cmd := exec.Command(fish, "--no-config", "-c", script)
		cmd.Env = bin.Env("BC_DIR=" + dir)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) || (c.notWant != "" && strings.Contains(string(out), c.notWant)) {
			t.Errorf("fish: completing %q gave %v %q, want %q and not %q", c.line, err, out, c.want, c.notWant)
		}
	}
}

func fishString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// checkZsh checks that each zsh script parses and defines its function.
func checkZsh(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		proctest.SkipMissing(t, "zsh is not installed (apt-get install zsh): its completions are not parsed")
	}
	for name := range grammars {
		path := filepath.Join(completions, "zsh", "_"+name)
		fn := "_" + strings.ReplaceAll(name, "-", "_")
		out, err := exec.Command(zsh, "-f", "-c", "autoload -Uz compinit && compinit -u -D; source "+path+" >/dev/null 2>&1; whence -w "+fn).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "function") {
			t.Errorf("zsh: %s does not define %s: %v %s", path, fn, err, out)
		}
		if out, err := exec.Command(zsh, "-n", path).CombinedOutput(); err != nil {
			t.Errorf("zsh -n %s: %v %s", path, err, out)
		}
	}
}

func quoteAll(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = "'" + w + "'"
	}
	return out
}

// The scripts of contrib/ (make run's network), run as a user would.
func TestScripts(t *testing.T) { proctest.Scripts(t, "testdata/script") }

// make install stages a tree a package could ship: the programs, the
// plugins in libexec where the programs find them, the manual pages and
// completions; make uninstall takes it all away again.
func TestInstall(t *testing.T) {
	repo := proctest.ModuleRoot(t)
	dest := t.TempDir()
	runMake := func(target string) {
		t.Helper()
		if out, err := exec.Command("make", "-C", repo, target, "DESTDIR="+dest, "PREFIX=/usr").CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
	}
	runMake("install")
	for _, f := range []string{"usr/bin/bc-mine", "usr/bin/bc-get", "usr/libexec/bc/bc-pow-default", "usr/share/man/man1/bc-serve.1",
		"usr/share/man/man5/bc-chain.5", "usr/share/bash-completion/completions/bc-backup",
		"usr/share/zsh/site-functions/_bc-get", "usr/share/fish/vendor_completions.d/bc-mine.fish", "usr/share/doc/bc/systemd/bc-mine.service"} {
		if _, err := os.Stat(filepath.Join(dest, f)); err != nil {
			t.Errorf("make install did not install %s: %v", f, err)
		}
	}
	// The installed programs find the plugins in ../libexec/bc.
	out, err := exec.Command(filepath.Join(dest, "usr/bin/bc-mine"), "--list-strategies").CombinedOutput()
	if err != nil || !strings.Contains(string(out), filepath.Join(dest, "usr/libexec/bc/bc-pow-scrypt")) {
		t.Fatalf("the installed bc-mine does not find the installed plugins: %v\n%s", err, out)
	}
	runMake("uninstall")
	var left []string
	_ = filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Fatalf("make uninstall left %q", left)
	}
}
