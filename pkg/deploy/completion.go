package deploy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/bc-chain/bc/pkg/cli"
)

// The completion scripts come from each program's kong model: flags with
// their values (enums; directories for paths; files for files; dynamic
// lists for a `completion:"@name"` tag), subcommands with their own
// flags, and the words a positional argument takes (`completion:"a,b"`,
// offered only in its own position). Hidden flags, commands and aliases
// are never offered.

// dynamic are the shell commands that list the values of a
// `completion:"@name"` tag; "$dirflag" holds the --dir given, if any.
var dynamic = map[string]string{
	// The strategies bc-mine finds (plugins are not on PATH once installed).
	"@strategies": `bc-mine $dirflag --list-strategies 2>/dev/null | awk '/^[a-z]/ {print $1}'`,
	// The backups of the chain directory.
	"@backups": `bc-backup $dirflag list 2>/dev/null | awk '$1 ~ /^node_/ {print $1}'`,
}

// completion is what one model offers, independent of the shell.
type completion struct {
	name  string
	root  *kong.Node
	flags []*kong.Flag            // the root's
	cmds  []*kong.Node            // visible subcommands
	sub   map[string][]*kong.Flag // each subcommand's own flags
}

func model(name string, grammar any) (*completion, error) {
	k, err := kong.New(grammar, kong.Name(name), cli.Vars(name, grammar), kong.Exit(func(int) {}))
	if err != nil {
		return nil, err
	}
	c := &completion{name: name, root: k.Model.Node, sub: map[string][]*kong.Flag{}}
	c.flags = offered(c.root.Flags)
	for _, n := range visible(c.root.Children) {
		c.cmds = append(c.cmds, n)
		c.sub[n.Name] = offered(n.Flags)
	}
	return c, nil
}

// offered are the flags a completion offers: every visible one, sorted.
func offered(flags []*kong.Flag) []*kong.Flag {
	var out []*kong.Flag
	for _, f := range flags {
		if !f.Hidden {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// positionalWords returns what the first positional argument of n takes:
// fixed words, or a dynamic list ("@name"), or nothing.
func positionalWords(n *kong.Node) (words []string, dyn string) {
	for _, p := range n.Positional {
		if c := p.Tag.Get("completion"); c != "" {
			if strings.HasPrefix(c, "@") {
				return nil, c
			}
			return strings.Split(c, ","), ""
		}
	}
	return nil, ""
}

// takesValue reports whether a flag consumes the next word.
func takesValue(f *kong.Flag) bool { return !f.IsBool() && !f.IsCounter() }

// Bash returns the Bash completion script of the program name whose
// command line is grammar.
func Bash(name string, grammar any) (string, error) {
	c, err := model(name, grammar)
	if err != nil {
		return "", err
	}
	fn := "_" + strings.NewReplacer("-", "_").Replace(name)
	all := append([]*kong.Flag(nil), c.flags...)
	for _, cmd := range c.cmds {
		all = append(all, c.sub[cmd.Name]...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Bash completion for %s. Generated from its command line by\n# `go test ./pkg/deploy -run TestCompletions -update`; do not edit.\n", name)
	fmt.Fprintf(&b, "%s() {\n", fn)
	b.WriteString("\tlocal cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n")
	b.WriteString("\tlocal IFS=$'\\n' cmd='' npos=0 dirflag='' i w\n")
	// Walk the words before the cursor: the subcommand, how many
	// positional words, and --dir (for the dynamic lists).
	b.WriteString("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n\t\tw=\"${COMP_WORDS[i]}\"\n\t\tcase \"$w\" in\n")
	b.WriteString("\t\t--dir=*) dirflag=\"--dir=${w#--dir=}\" ;;\n")
	b.WriteString("\t\t--dir) dirflag=\"--dir=${COMP_WORDS[i+1]}\"; ((i++)) ;;\n")
	if v := valueFlagNames(all); v != "" {
		fmt.Fprintf(&b, "\t\t%s) ((i++)) ;;\n", v)
	}
	b.WriteString("\t\t-*) ;;\n")
	if len(c.cmds) > 0 {
		b.WriteString("\t\t*) if [[ -z $cmd ]]; then cmd=\"$w\"; else ((npos++)); fi ;;\n")
	} else {
		b.WriteString("\t\t*) ((npos++)) ;;\n")
	}
	b.WriteString("\t\tesac\n\tdone\n")
	// Values of the flag just typed.
	b.WriteString("\tcase \"$prev\" in\n")
	seen := map[string]bool{}
	for _, f := range all {
		if !takesValue(f) || seen[f.Name] {
			continue
		}
		seen[f.Name] = true
		fmt.Fprintf(&b, "\t--%s) %s; return ;;\n", f.Name, bashValues(f))
	}
	b.WriteString("\tesac\n")
	// Flags: the root's, and the subcommand's once it is typed (the
	// daemon's, tagged completion:"daemon", only without one).
	common, daemon := splitDaemon(c.flags)
	b.WriteString("\tif [[ \"$cur\" == -* ]]; then\n\t\tlocal words=" + bashQuote(flagWords(common)) + "\n")
	if len(c.cmds) > 0 {
		b.WriteString("\t\tcase \"$cmd\" in\n")
		if len(daemon) > 0 {
			fmt.Fprintf(&b, "\t\t'') words+=%s ;;\n", bashQuote(" "+flagWords(daemon)))
		}
		for _, cmd := range c.cmds {
			if fw := flagWords(c.sub[cmd.Name]); fw != "" {
				fmt.Fprintf(&b, "\t\t%s) words+=%s ;;\n", cmd.Name, bashQuote(" "+fw))
			}
		}
		b.WriteString("\t\tesac\n")
	}
	b.WriteString("\t\tIFS=' ' COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n\t\treturn\n\tfi\n")
	if len(c.cmds) > 0 {
		var names []string
		for _, cmd := range c.cmds {
			names = append(names, cmd.Name)
		}
		fmt.Fprintf(&b, "\tif [[ -z $cmd ]]; then\n\t\tIFS=' ' COMPREPLY=($(compgen -W %q -- \"$cur\"))\n\t\treturn\n\tfi\n", strings.Join(names, " "))
		b.WriteString("\tcase \"$cmd\" in\n")
		for _, cmd := range c.cmds {
			if len(cmd.Positional) == 0 {
				fmt.Fprintf(&b, "\t%s) return ;;\n", cmd.Name)
				continue
			}
			fmt.Fprintf(&b, "\t%s) %s ;;\n", cmd.Name, bashPositional(cmd))
		}
		b.WriteString("\tesac\n")
	} else if len(c.root.Positional) > 0 {
		fmt.Fprintf(&b, "\t%s\n", bashPositional(c.root))
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "complete -F %s %s\n", fn, name)
	return b.String(), nil
}

// bashPositional completes a node's positional argument: its words in the
// first position only (bc-get block <TAB> offers no subcommand again),
// files otherwise.
func bashPositional(n *kong.Node) string {
	words, dyn := positionalWords(n)
	switch {
	case dyn != "":
		return fmt.Sprintf("if ((npos == 0)); then COMPREPLY=($(compgen -W \"$(%s)\" -- \"$cur\")); fi", dynamic[dyn])
	case len(words) > 0:
		return fmt.Sprintf("if ((npos == 0)); then IFS=' ' COMPREPLY=($(compgen -W %q -- \"$cur\")); fi", strings.Join(words, " "))
	}
	return "compopt -o filenames; COMPREPLY=($(compgen -f -- \"$cur\"))"
}

// bashValues completes the value of f.
func bashValues(f *kong.Flag) string {
	switch {
	case f.Enum != "":
		return fmt.Sprintf("IFS=' ' COMPREPLY=($(compgen -W %q -- \"$cur\"))", strings.ReplaceAll(f.Enum, ",", " "))
	case dynamic[f.Tag.Get("completion")] != "":
		return fmt.Sprintf("COMPREPLY=($(compgen -W \"$(%s)\" -- \"$cur\"))", dynamic[f.Tag.Get("completion")])
	case isDir(f):
		// One word per line (IFS): a directory with spaces stays one word.
		return "compopt -o filenames; COMPREPLY=($(compgen -d -- \"$cur\"))"
	case isFile(f):
		return "compopt -o filenames; COMPREPLY=($(compgen -f -- \"$cur\"))"
	}
	return "COMPREPLY=()"
}

// splitDaemon separates the flags only a program's default (daemon) mode
// takes.
func splitDaemon(flags []*kong.Flag) (common, daemon []*kong.Flag) {
	for _, f := range flags {
		if f.Tag.Get("completion") == "daemon" {
			daemon = append(daemon, f)
		} else {
			common = append(common, f)
		}
	}
	return common, daemon
}

// valueFlagNames is a case pattern of the flags that take a value.
func valueFlagNames(flags []*kong.Flag) string {
	seen := map[string]bool{}
	var names []string
	for _, f := range flags {
		if takesValue(f) && f.Name != "dir" && !seen[f.Name] {
			seen[f.Name] = true
			names = append(names, "--"+f.Name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, "|")
}

// flagWords are the flags offered, --help included.
func flagWords(flags []*kong.Flag) string {
	var words []string
	for _, f := range flags {
		words = append(words, "--"+f.Name)
	}
	sort.Strings(words)
	return strings.Join(words, " ")
}

func bashQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Fish returns the fish completion script of the program.
func Fish(name string, grammar any) (string, error) {
	c, err := model(name, grammar)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# fish completion for %s. Generated from its command line by\n# `go test ./pkg/deploy -run TestCompletions -update`; do not edit.\n", name)
	fmt.Fprintf(&b, "complete -c %s -f\n", name)
	var names []string
	for _, cmd := range c.cmds {
		names = append(names, cmd.Name)
	}
	noCmd := ""
	if len(names) > 0 {
		noCmd = fmt.Sprintf(" -n 'not __fish_seen_subcommand_from %s'", strings.Join(names, " "))
	}
	common, daemon := splitDaemon(c.flags)
	for _, f := range common {
		fmt.Fprintf(&b, "complete -c %s%s\n", name, fishFlag(f))
	}
	for _, f := range daemon {
		fmt.Fprintf(&b, "complete -c %s%s%s\n", name, noCmd, fishFlag(f))
	}
	for _, cmd := range c.cmds {
		fmt.Fprintf(&b, "complete -c %s%s -a %s -d %s\n", name, noCmd, cmd.Name, fishQuote(cmd.Help))
		for _, f := range c.sub[cmd.Name] {
			fmt.Fprintf(&b, "complete -c %s -n '__fish_seen_subcommand_from %s'%s\n", name, cmd.Name, fishFlag(f))
		}
		if words, dyn := positionalWords(cmd); dyn != "" {
			fmt.Fprintf(&b, "complete -c %s -n '__fish_seen_subcommand_from %s' -a %s\n", name, cmd.Name, fishQuote("("+fishDynamic(dyn)+")"))
		} else if len(words) > 0 {
			fmt.Fprintf(&b, "complete -c %s -n '__fish_seen_subcommand_from %s' -a %s\n", name, cmd.Name, fishQuote(strings.Join(words, " ")))
		}
	}
	if len(c.cmds) == 0 {
		if words, _ := positionalWords(c.root); len(words) > 0 {
			// Only as the first word that is not a flag.
			fmt.Fprintf(&b, "complete -c %s -n 'test (count (commandline -opc | string match -v -- \"-*\")) -eq 1' -a %s\n", name, fishQuote(strings.Join(words, " ")))
		} else if len(c.root.Positional) > 0 {
			fmt.Fprintf(&b, "complete -c %s -F\n", name)
		}
	}
	return b.String(), nil
}

func fishFlag(f *kong.Flag) string {
	s := " -l " + f.Name
	if f.Short != 0 {
		s += " -s " + string(f.Short)
	}
	if takesValue(f) {
		switch {
		case f.Enum != "":
			s += " -x -a " + fishQuote(strings.ReplaceAll(f.Enum, ",", " "))
		case dynamic[f.Tag.Get("completion")] != "":
			s += " -x -a " + fishQuote("("+fishDynamic(f.Tag.Get("completion"))+")")
		case isDir(f):
			s += " -x -a '(__fish_complete_directories)'"
		case isFile(f):
			s += " -r -F"
		default:
			s += " -x"
		}
	}
	return s + " -d " + fishQuote(firstSentence(f.Help))
}

// fishDynamic is a dynamic list's command for fish (no --dir tracking).
func fishDynamic(dyn string) string {
	return strings.ReplaceAll(dynamic[dyn], "$dirflag ", "")
}

func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

// Zsh returns the zsh completion script (a #compdef function) of the
// program.
func Zsh(name string, grammar any) (string, error) {
	c, err := model(name, grammar)
	if err != nil {
		return "", err
	}
	fn := "_" + strings.NewReplacer("-", "_").Replace(name)
	var b strings.Builder
	fmt.Fprintf(&b, "#compdef %s\n# zsh completion for %s. Generated from its command line by\n# `go test ./pkg/deploy -run TestCompletions -update`; do not edit.\n", name, name)
	fmt.Fprintf(&b, "%s() {\n\tlocal curcontext=\"$curcontext\" state line\n\ttypeset -A opt_args\n", fn)
	b.WriteString("\t_arguments -C -s \\\n")
	for _, f := range c.flags {
		fmt.Fprintf(&b, "\t\t%s \\\n", zshFlag(f))
	}
	switch {
	case len(c.cmds) > 0:
		b.WriteString("\t\t'1:command:->command' \\\n\t\t'*::argument:->argument'\n")
		b.WriteString("\tcase $state in\n\tcommand)\n\t\tlocal -a cmds\n\t\tcmds=(\n")
		for _, cmd := range c.cmds {
			fmt.Fprintf(&b, "\t\t\t%s\n", zshQuote(cmd.Name+":"+firstSentence(cmd.Help)))
		}
		b.WriteString("\t\t)\n\t\t_describe command cmds ;;\n\targument)\n\t\tcase $line[1] in\n")
		for _, cmd := range c.cmds {
			fmt.Fprintf(&b, "\t\t%s)\n\t\t\t_arguments -s \\\n", cmd.Name)
			for _, f := range c.sub[cmd.Name] {
				fmt.Fprintf(&b, "\t\t\t\t%s \\\n", zshFlag(f))
			}
			words, dyn := positionalWords(cmd)
			switch {
			case dyn != "":
				fmt.Fprintf(&b, "\t\t\t\t%s ;;\n", zshQuote("1:"+strings.ToLower(cmd.Positional[0].Name)+":{compadd -- ${(f)\"$("+zshDynamic(dyn)+")\"}}"))
			case len(words) > 0:
				fmt.Fprintf(&b, "\t\t\t\t%s ;;\n", zshQuote("1:value:("+strings.Join(words, " ")+")"))
			default:
				b.WriteString("\t\t\t\t'*:file:_files' ;;\n")
			}
		}
		b.WriteString("\t\tesac ;;\n\tesac\n")
	default:
		words, _ := positionalWords(c.root)
		switch {
		case len(words) > 0:
			fmt.Fprintf(&b, "\t\t%s \\\n\t\t'*:argument:_files'\n", zshQuote("1:what:("+strings.Join(words, " ")+")"))
		case len(c.root.Positional) > 0:
			b.WriteString("\t\t'*:file:_files'\n")
		default:
			b.WriteString("\t\t&& return\n")
		}
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "%s \"$@\"\n", fn)
	return b.String(), nil
}

func zshFlag(f *kong.Flag) string {
	spec := "--" + f.Name
	desc := "[" + zshEscape(firstSentence(f.Help)) + "]"
	if !takesValue(f) {
		return zshQuote(spec + desc)
	}
	action := ""
	switch {
	case f.Enum != "":
		action = ":" + f.Name + ":(" + strings.ReplaceAll(f.Enum, ",", " ") + ")"
	case dynamic[f.Tag.Get("completion")] != "":
		action = ":" + f.Name + ":{compadd -- ${(f)\"$(" + zshDynamic(f.Tag.Get("completion")) + ")\"}}"
	case isDir(f):
		action = ":directory:_files -/"
	case isFile(f):
		action = ":file:_files"
	default:
		action = ":" + strings.ToLower(f.FormatPlaceHolder()) + ": "
	}
	return zshQuote(spec + "=" + desc + action)
}

// zshDynamic is a dynamic list's command for zsh (no --dir tracking).
func zshDynamic(dyn string) string { return strings.ReplaceAll(dynamic[dyn], "$dirflag ", "") }

func zshEscape(s string) string {
	return strings.NewReplacer("[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
}

func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

func isDir(f *kong.Flag) bool {
	return f.Tag.Type == "path" || strings.HasSuffix(f.Name, "-dir") || f.Name == "dir"
}

func isFile(f *kong.Flag) bool {
	return strings.HasSuffix(f.Name, "-file")
}
