package verify_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/proctest"
)

// The test binary is bc-verify and the three strategy plugins too, so the
// scripts run real processes without a build step.
func TestMain(m *testing.M) { proctest.Main(m, nil) }

func TestScripts(t *testing.T) {
	vectors, err := filepath.Abs("../validate/testdata")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("VECTORS", vectors)
			return setPluginDir(env)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"chaindoc": chainDoc,
			"genesis":  genesis,
		},
	})
}

// setPluginDir points BC_PLUGIN_DIR at the directory where testscript put
// the plugin commands.
func setPluginDir(env *testscript.Env) error {
	for _, dir := range filepath.SplitList(env.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "bc-pow-default")); err == nil {
			env.Setenv("BC_PLUGIN_DIR", dir)
			return nil
		}
	}
	return fmt.Errorf("bc-pow-default is not in PATH")
}

// chaindoc [-pretty] IN OUT writes the /chain document of chain file IN.
func chainDoc(ts *testscript.TestScript, neg bool, args []string) {
	pretty := len(args) > 0 && args[0] == "-pretty"
	if pretty {
		args = args[1:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: chaindoc [-pretty] in out")
	}
	data := ts.ReadFile(args[0])
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	sep, open, closeArr := ",", `{"chain":[`, `],"length":`+strconv.Itoa(len(lines))+"}"
	if pretty {
		sep, open, closeArr = ",\n    ", "{\n  \"chain\": [\n    ", "\n  ],\n  \"length\": "+strconv.Itoa(len(lines))+"\n}\n"
		for i, l := range lines {
			lines[i] = strings.ReplaceAll(strings.ReplaceAll(l, `,"`, `, "`), `":`, `": `)
		}
	}
	doc := open + strings.Join(lines, sep) + closeArr
	if err := os.WriteFile(ts.MkAbs(args[1]), []byte(doc), 0o644); err != nil {
		ts.Fatalf("%v", err)
	}
}

// genesis STRATEGY DIFFICULTY OUT writes a one-block chain.
func genesis(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: genesis strategy difficulty out")
	}
	d, _ := strconv.Atoi(args[1])
	g, err := chain.Genesis(chain.Params{Version: chain.FormatVersion, Network: "bc", Strategy: args[0], Difficulty: uint32(d)})
	if err != nil {
		ts.Fatalf("%v", err)
	}
	if err := os.WriteFile(ts.MkAbs(args[2]), append(g.AppendJSON(nil), '\n'), 0o644); err != nil {
		ts.Fatalf("%v", err)
	}
}

// Every vector's verdict through the real binary, checked against the
// vector table of package validate (file name = rule name).
func TestEveryVectorByExitCode(t *testing.T) {
	files, _ := filepath.Glob("../validate/testdata/*.chain")
	if len(files) < 15 {
		t.Fatalf("only %d vectors", len(files))
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".chain")
		if name == "genesis-mismatch" {
			continue // needs --genesis; covered by the script
		}
		cmd := exec.Command(exe, "--json", f)
		cmd.Env = append(os.Environ(), "BC_PLUGIN_DIR="+pluginDir(t))
		cmd.Args[0] = "bc-verify"
		var out bytes.Buffer
		cmd.Stdout = &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		valid := strings.HasPrefix(name, "valid-")
		if valid && code != 0 || !valid && code != 1 {
			t.Errorf("%s: exit %d: %s", name, code, out.String())
		}
		if !valid && !strings.Contains(out.String(), `"rule":"`+name+`"`) {
			t.Errorf("%s: report does not name the rule: %s", name, out.String())
		}
	}
}

// pluginDir makes a directory of links to this binary named as plugins.
func pluginDir(t *testing.T) string {
	dir := t.TempDir()
	exe, _ := os.Executable()
	for _, n := range []string{"bc-pow-default", "bc-pow-classic", "bc-pow-scrypt"} {
		if err := os.Symlink(exe, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
