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

var grammars = map[string]func() any{
	"bc-verify": func() any { return &verify.CLI{} },
	"bc-mine":   func() any { return &miner.CLI{} },
	"bc-serve":  func() any { return &api.CLI{} },
	"bc-gossip": func() any { return &peer.CLI{} },
	"bc-backup": func() any { return &backup.CLI{} },
	"bc-add":    func() any { return &client.AddCLI{} },
	"bc-get":    func() any { return &client.GetCLI{} },
}

const completions = "../../contrib/completions"

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
