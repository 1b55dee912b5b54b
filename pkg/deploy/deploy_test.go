package deploy_test

import (
	"bufio"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
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

// The committed completion scripts are what the command lines give now,
// they parse, and they complete.
func TestCompletions(t *testing.T) {
	if *update {
		if err := os.MkdirAll(completions, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, g := range grammars {
		script, err := deploy.Bash(name, g())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		path := filepath.Join(completions, name)
		if *update {
			if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		committed, err := os.ReadFile(path)
		if err != nil || string(committed) != script {
			t.Fatalf("%s is stale: run go test ./pkg/deploy -run TestCompletions -update", path)
		}
		if out, err := exec.Command("bash", "-n", path).CombinedOutput(); err != nil {
			t.Fatalf("%s: bash -n: %v\n%s", path, err, out)
		}
	}
	cases := []struct {
		line string // the words typed, the last one being completed
		want string
	}{
		{"bc-mine --stra", "--strategy"},
		{"bc-mine --log-level w", "warn"},
		{"bc-verify --progress n", "never"},
		{"bc-get st", "status"},
		{"bc-backup res", "restore"},
		{"bc-gossip --neigh", "--neighbours"},
		{"bc-serve --list", "--listen"},
	}
	for _, c := range cases {
		words := strings.Fields(c.line)
		prog := "source " + filepath.Join(completions, words[0]) + "\n" +
			"COMP_WORDS=(" + strings.Join(quoteAll(words), " ") + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)-1) + "\n" +
			"_" + strings.ReplaceAll(words[0], "-", "_") + "\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		out, err := exec.Command("bash", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", c.line, err, out)
		}
		found := false
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			if sc.Text() == c.want {
				found = true
			}
		}
		if !found {
			t.Errorf("completing %q gave %q, want %q among them", c.line, out, c.want)
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
		"usr/share/man/man5/bc-chain.5", "usr/share/bash-completion/completions/bc-backup", "usr/share/doc/bc/systemd/bc-mine.service"} {
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
