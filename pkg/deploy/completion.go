package deploy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/bc-chain/bc/pkg/cli"
)

// Bash returns a Bash completion script for the binary name whose command
// line is grammar (a kong grammar), derived from its model: flags, their
// enum values, directory and file arguments, subcommands and the words a
// positional argument takes (tag completion:"a,b,c").
func Bash(name string, grammar any) (string, error) {
	k, err := kong.New(grammar, kong.Name(name), cli.Vars(name, grammar), kong.Exit(func(int) {}))
	if err != nil {
		return "", err
	}
	fn := "_" + strings.NewReplacer("-", "_").Replace(name)
	var b strings.Builder
	fmt.Fprintf(&b, "# Bash completion for %s. Generated from its command line by\n# `go test ./pkg/deploy -run TestCompletions -update`; do not edit.\n", name)
	fmt.Fprintf(&b, "%s() {\n", fn)
	b.WriteString("\tlocal cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n")

	root := k.Model.Node
	flags := collectFlags(root)
	// Values of the flag just typed.
	b.WriteString("\tcase \"$prev\" in\n")
	for _, f := range flags {
		if f.IsBool() || f.IsCounter() {
			continue
		}
		names := "--" + f.Name
		if f.Short != 0 {
			names += "|-" + string(f.Short)
		}
		switch {
		case f.Enum != "":
			fmt.Fprintf(&b, "\t%s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", names, strings.ReplaceAll(f.Enum, ",", " "))
		case isDir(f):
			fmt.Fprintf(&b, "\t%s) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n", names)
		case isFile(f):
			fmt.Fprintf(&b, "\t%s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", names)
		default:
			fmt.Fprintf(&b, "\t%s) return ;;\n", names)
		}
	}
	b.WriteString("\tesac\n")

	var words []string
	for _, f := range flags {
		words = append(words, "--"+f.Name)
		for _, a := range f.Aliases {
			words = append(words, "--"+a)
		}
	}
	var subs []string
	for _, c := range root.Children {
		if !c.Hidden {
			subs = append(subs, c.Name)
		}
	}
	sort.Strings(words)
	var positional []string
	for _, p := range root.Positional {
		if c := p.Tag.Get("completion"); c != "" {
			positional = strings.Split(c, ",")
		}
	}
	b.WriteString("\tif [[ \"$cur\" == -* ]]; then\n")
	fmt.Fprintf(&b, "\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\"))\n\t\treturn\n\tfi\n", strings.Join(words, " "))
	switch {
	case len(subs) > 0:
		fmt.Fprintf(&b, "\tif [[ $COMP_CWORD -eq 1 ]]; then\n\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\"))\n\t\treturn\n\tfi\n", strings.Join(subs, " "))
		b.WriteString("\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n")
	case len(positional) > 0:
		fmt.Fprintf(&b, "\tCOMPREPLY=($(compgen -W %q -- \"$cur\"))\n", strings.Join(positional, " "))
	case len(root.Positional) > 0:
		b.WriteString("\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n")
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "complete -F %s %s\n", fn, name)
	return b.String(), nil
}

// collectFlags returns the flags of the application and of its commands,
// each name once, sorted.
func collectFlags(n *kong.Node) []*kong.Flag {
	seen := map[string]bool{}
	var out []*kong.Flag
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			if f.Hidden || seen[f.Name] {
				continue
			}
			seen[f.Name] = true
			out = append(out, f)
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(n)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func isDir(f *kong.Flag) bool {
	return f.Tag.Type == "path" || strings.HasSuffix(f.Name, "-dir") || f.Name == "dir"
}

func isFile(f *kong.Flag) bool {
	return strings.HasSuffix(f.Name, "-file")
}
