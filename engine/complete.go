package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionCommand is `pixels completion SHELL`, and completeCommand the hidden
// `pixels __complete WORDS...` the printed scripts call. Completion never contacts TrueNAS:
// verbs and flags come from the declarations, container names from Options.Complete.
func (e *Engine) completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "SHELL",
		Description: "bash: source <(pixels completion bash)\n" +
			"   zsh:  source <(pixels completion zsh)\n" +
			"   fish: pixels completion fish | source",
		Action: func(c *cli.Context) error {
			script, ok := completionScripts[c.Args().First()]
			if !ok || c.NArg() != 1 {
				return &Error{Code: CodeUsage, Message: "completion: want one of bash, zsh, fish"}
			}
			fmt.Fprint(e.opts.Stdout, script)
			return nil
		},
	}
}

var completionScripts = map[string]string{
	"bash": `_pixels() {
  local IFS=$'\n'
  COMPREPLY=($(pixels __complete "${COMP_WORDS[@]:1:$COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _pixels pixels
`,
	"zsh": `#compdef pixels
_pixels() {
  local -a cands
  cands=("${(@f)$(pixels __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a cands
}
compdef _pixels pixels
`,
	"fish": `complete -c pixels -f -a '(pixels __complete (commandline -opc)[2..-1] (commandline -ct))'
`,
}

func (e *Engine) completeCommand() *cli.Command {
	return &cli.Command{
		Name:            "__complete",
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			for _, s := range e.complete(c.Args().Slice()) {
				fmt.Fprintln(e.opts.Stdout, s)
			}
			return nil
		},
	}
}

// complete returns the candidates for the last of words (the one being typed).
func (e *Engine) complete(words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	prev := words[:len(words)-1]
	node := e.tree
	npos := 0
	var positional []string
	var pendingFlag *FlagSpec
	for _, w := range prev {
		if pendingFlag != nil {
			pendingFlag = nil
			continue
		}
		if strings.HasPrefix(w, "-") {
			if node.spec != nil {
				if f, ok := node.spec.flag(strings.TrimLeft(w, "-")); ok && f.Type != "bool" &&
					!strings.Contains(w, "=") {
					pendingFlag = f
				}
			}
			continue
		}
		if next, ok := node.children[w]; ok && npos == 0 {
			node = next
			continue
		}
		positional = append(positional, w)
		npos++
	}
	var cands []string
	switch {
	case pendingFlag != nil:
		cands = pendingFlag.Enum
	case strings.HasPrefix(cur, "-"):
		if node.spec != nil {
			for _, f := range node.spec.Flags {
				cands = append(cands, "--"+f.Name)
			}
		}
		for _, f := range engineFlags() {
			cands = append(cands, "--"+f.Names()[0])
		}
	case node.spec == nil:
		cands = append(cands, node.order...)
		if node == e.tree {
			cands = append(cands, "completion", "script")
			for _, c := range e.opts.Commands {
				cands = append(cands, c.Name)
			}
		}
	default:
		if arg, ok := argAt(node.spec, npos); ok && e.opts.Complete != nil {
			switch arg.Name {
			case "name", "names":
				cands = e.opts.Complete("container", positional)
			case "checkpoint":
				cands = e.opts.Complete("checkpoint", positional)
			}
		}
	}
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, cur) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

func argAt(spec *CommandSpec, i int) (ArgSpec, bool) {
	for j, a := range spec.Args {
		if j == i || (a.Variadic && i >= j) {
			return a, true
		}
	}
	return ArgSpec{}, false
}
