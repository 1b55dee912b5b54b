package deploy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/cmdline"
)

// Describer is a grammar that says what its program does.
type Describer interface{ Description() string }

// Programs are bc's programs in the order a manual lists them.
var Programs = []string{"bc-mine", "bc-serve", "bc-gossip", "bc-backup", "bc-verify", "bc-add", "bc-get"}

// Man returns the manual page (roff, section 1) of the program name whose
// command line is grammar, derived from its model as --help is: synopsis,
// description, commands, options with their defaults and environment
// variables, and the suite's exit codes. Nothing in it depends on the
// machine or the date, so the committed pages can be compared with it.
func Man(name string, grammar Describer) (string, error) {
	vars := cli.Vars(name, grammar)
	// The real default depends on the environment; say how it is chosen.
	vars["default_dir"] = "$STATE_DIRECTORY, else $XDG_DATA_HOME/bc, else ~/.local/share/bc"
	k, err := kong.New(grammar, kong.Name(name), vars, kong.Exit(func(int) {}))
	if err != nil {
		return "", err
	}
	root := k.Model.Node
	var b strings.Builder
	fmt.Fprintf(&b, ".\\\" Generated from %s's command line by `go test ./pkg/deploy -run TestManPages -update`; do not edit.\n", name)
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"bc %s\" \"bc manual\"\n", strings.ToUpper(name), cmdline.Release())
	desc := grammar.Description()
	summary, _, _ := strings.Cut(desc, ". ")
	summary = strings.TrimSuffix(summary, ".")
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", name, roff(lowerFirst(summary)))

	b.WriteString(".SH SYNOPSIS\n")
	if len(root.Children) > 0 {
		for _, c := range visible(root.Children) {
			fmt.Fprintf(&b, ".B %s\n.RI [ options ]\n%s\n.br\n", name, strings.TrimSpace(roff(c.Name)+" "+roff(argsOf(c))))
		}
	} else {
		fmt.Fprintf(&b, ".B %s\n.RI [ options ]\n", name)
		if a := argsOf(root); a != "" {
			fmt.Fprintf(&b, "%s\n", roff(a))
		}
	}
	fmt.Fprintf(&b, ".SH DESCRIPTION\n%s\n", roff(desc))

	if cmds := visible(root.Children); len(cmds) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, c := range cmds {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", strings.TrimSpace(roff(c.Name)+" "+roff(argsOf(c))), roff(c.Help))
			for _, f := range visibleFlags(c.Flags) {
				writeFlag(&b, f)
			}
		}
	}
	b.WriteString(".SH OPTIONS\n")
	var envs []string
	for _, f := range visibleFlags(root.Flags) {
		writeFlag(&b, f)
		envs = append(envs, f.Envs...)
	}
	b.WriteString(".TP\n.B \\-\\-help\nPrint the usage and exit.\n")

	b.WriteString(".SH EXIT STATUS\n")
	for _, e := range [][2]string{{"0", "success"}, {"1", "the work failed: an invalid chain, a rejected block or message"},
		{"2", "usage or I/O error: unknown flag, missing file or plugin, held lock, unreachable node"}} {
		fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", e[0], roff(e[1]))
	}
	if len(envs) > 0 {
		sort.Strings(envs)
		b.WriteString(".SH ENVIRONMENT\nEvery option can be given in the environment variable named with it above:\n")
		for i, e := range envs {
			envs[i] = "\\fB" + roff(e) + "\\fR"
		}
		b.WriteString(strings.Join(envs, ",\n") + ".\n")
	}
	b.WriteString(".SH SEE ALSO\n")
	var see []string
	for _, p := range Programs {
		if p != name {
			see = append(see, fmt.Sprintf(".BR %s (1)", p))
		}
	}
	see = append(see, ".BR bc-chain (5)")
	b.WriteString(strings.Join(see, ",\n") + "\n")
	b.WriteString(".PP\nThe README of bc (the programs, the chain directory, the threat model).\n")
	return b.String(), nil
}

func writeFlag(b *strings.Builder, f *kong.Flag) {
	spec := "\\-\\-" + roff(f.Name)
	if !f.IsBool() && !f.IsCounter() {
		spec += "=\\fI" + roff(f.FormatPlaceHolder()) + "\\fR"
	}
	help := f.Help
	var notes []string
	if f.HasDefault && f.Default != "" && !f.IsBool() {
		notes = append(notes, "default: "+f.Default)
	}
	if f.Enum != "" {
		notes = append(notes, "one of: "+strings.ReplaceAll(f.Enum, ",", ", "))
	}
	if len(f.Envs) > 0 {
		notes = append(notes, "environment: "+strings.Join(f.Envs, ", "))
	}
	if len(notes) > 0 {
		help = strings.TrimSuffix(help, ".") + " (" + strings.Join(notes, "; ") + ")."
	}
	fmt.Fprintf(b, ".TP\n.B %s\n%s\n", spec, roff(help))
}

func visible(nodes []*kong.Node) []*kong.Node {
	var out []*kong.Node
	for _, n := range nodes {
		if !n.Hidden {
			out = append(out, n)
		}
	}
	return out
}

func visibleFlags(flags []*kong.Flag) []*kong.Flag {
	var out []*kong.Flag
	for _, f := range flags {
		if !f.Hidden && f.Name != "help" {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// argsOf is a node's positional arguments as a synopsis shows them.
func argsOf(n *kong.Node) string {
	var parts []string
	for _, p := range n.Positional {
		s := strings.ToUpper(p.Name)
		if p.IsSlice() {
			s += " ..."
		}
		if !p.Required {
			s = "[" + s + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// roff escapes text for a roff line: backslashes, and a leading dot or
// quote that roff would take for a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\e")
	s = strings.ReplaceAll(s, "-", "\\-")
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = "\\&" + s
	}
	return strings.ReplaceAll(s, "\n.", "\n\\&.")
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
