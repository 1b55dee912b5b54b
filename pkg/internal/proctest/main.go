package proctest

import (
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bc-chain/bc/pkg/api"
	"github.com/bc-chain/bc/pkg/backup"
	"github.com/bc-chain/bc/pkg/client"
	"github.com/bc-chain/bc/pkg/miner"
	"github.com/bc-chain/bc/pkg/peer"
	"github.com/bc-chain/bc/pkg/powsdk"
	"github.com/bc-chain/bc/pkg/strategy"
	"github.com/bc-chain/bc/pkg/verify"
)

// Programs returns bc's programs and plugins by name, as the test binary
// runs them (see Main).
func Programs() map[string]func() {
	exit := func(f func([]string) int) func() { return func() { os.Exit(f(os.Args[1:])) } }
	return map[string]func(){
		"bc-verify":      exit(verify.Main),
		"bc-mine":        exit(miner.Main),
		"bc-serve":       exit(api.Main),
		"bc-gossip":      exit(peer.Main),
		"bc-backup":      exit(backup.Main),
		"bc-add":         exit(client.AddMain),
		"bc-get":         exit(client.GetMain),
		"bc-pow-default": func() { powsdk.Serve(strategy.Default{}) },
		"bc-pow-classic": func() { powsdk.Serve(strategy.Classic{}) },
		"bc-pow-scrypt":  func() { powsdk.Serve(strategy.Scrypt{}) },
	}
}

// Main is the TestMain of packages whose tests run bc's programs: run as
// one of them (by the name it is called with), the test binary is that
// program; extra adds test-only programs, such as broken plugins.
func Main(m *testing.M, extra map[string]func()) {
	cmds := Programs()
	for name, f := range extra {
		cmds[name] = f
	}
	testscript.Main(m, cmds)
}

// Names returns the names of bc's programs and plugins, sorted.
func Names() []string {
	var out []string
	for name := range Programs() {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Scripts runs the testscript files of dir (testdata/script, say) against
// bc's programs, which the package's TestMain must register with Main. Each
// script gets BC_PLUGIN_DIR (the plugins are programs too), PORT (a free
// loopback port), REPO (the module's root, for scripts of contrib/), and
// the commands waithttp URL (until it answers), waitfile PATH (until it
// exists) and freeport NAME (another free port in $NAME).
func Scripts(t *testing.T, dir string) {
	repo := ModuleRoot(t)
	testscript.Run(t, testscript.Params{
		Dir: dir,
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			for _, d := range filepath.SplitList(env.Getenv("PATH")) {
				if _, err := os.Stat(filepath.Join(d, "bc-pow-default")); err == nil {
					env.Setenv("BC_PLUGIN_DIR", d)
				}
			}
			env.Setenv("PORT", strconv.Itoa(FreePort(t)))
			env.Setenv("BC_DIR", filepath.Join(env.WorkDir, "chain"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waithttp": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: waithttp URL")
				}
				deadline := time.Now().Add(20 * time.Second)
				for {
					r, err := http.Get(args[0])
					if err == nil {
						r.Body.Close()
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("%s did not answer: %v", args[0], err)
					}
					time.Sleep(20 * time.Millisecond)
				}
			},
			"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: waitfile PATH")
				}
				deadline := time.Now().Add(20 * time.Second)
				for {
					if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
						return
					} else if time.Now().After(deadline) {
						ts.Fatalf("%s did not appear: %v", args[0], err)
					}
					time.Sleep(20 * time.Millisecond)
				}
			},
			"freeport": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: freeport NAME")
				}
				ts.Setenv(args[0], strconv.Itoa(FreePort(t)))
			},
		},
	})
}

// ModuleRoot is the directory of go.mod above the test's directory.
func ModuleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
