package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	lua "github.com/yuin/gopher-lua"
)

// engineFlags are the host's own global flags, accepted anywhere on the line.
func engineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "json", Usage: "print data as JSON; errors as a JSON object on stderr"},
		&cli.BoolFlag{Name: "debug", Usage: "log API calls and SSH steps to stderr " +
			"(also PIXELS_DEBUG=1)", EnvVars: []string{"PIXELS_DEBUG"}},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress or notices"},
		&cli.BoolFlag{Name: "trace", Usage: "print each pixels Lua call with its arguments and duration"},
		&cli.DurationFlag{Name: "timeout", Usage: "stop the command after this long (e.g. 10m)"},
	}
}

func globalsOf(flags []cli.Flag) []globalFlag {
	var out []globalFlag
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		out = append(out, globalFlag{names: f.Names(), value: !isBool})
	}
	return out
}

// Run declares the scripts, parses args (without the program name) and runs the verb.
func (e *Engine) Run(ctx context.Context, args []string) error {
	if err := e.declare(ctx); err != nil {
		return &Error{Code: CodeInternal, Message: err.Error()}
	}
	allFlags := append(engineFlags(), e.opts.GlobalFlags...)
	sp := splitArgs(args, globalsOf(allFlags), e.tree)
	app := e.app(allFlags, &sp)
	var unknown string
	app.CommandNotFound = func(c *cli.Context, name string) { unknown = name }
	err := app.RunContext(ctx, append([]string{e.opts.Name}, sp.argv...))
	if unknown != "" {
		return e.unknownVerb(unknown)
	}
	if err == nil {
		return nil
	}
	var ee *Error
	if errors.As(err, &ee) {
		return ee
	}
	// Anything urfave/cli itself reports is a usage problem.
	return &Error{Code: CodeUsage, Message: err.Error(), Err: err}
}

func (e *Engine) app(flags []cli.Flag, sp *split) *cli.App {
	app := &cli.App{
		Name:                   e.opts.Name,
		Usage:                  "disposable Linux containers on TrueNAS, scripted in Lua",
		Version:                e.opts.Version,
		Flags:                  flags,
		HideHelpCommand:        true,
		Suggest:                true,
		UseShortOptionHandling: false,
		Reader:                 e.opts.Stdin,
		Writer:                 e.opts.Stdout,
		ErrWriter:              e.opts.Stderr,
		ExitErrHandler:         func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return &Error{Code: CodeUsage, Message: err.Error()}
		},
		CustomAppHelpTemplate: appHelpTemplate,
		Before: func(c *cli.Context) error {
			e.out.JSON = c.Bool("json")
			e.out.Debug = c.Bool("debug")
			e.out.Quiet = c.Bool("quiet")
			e.out.Trace = c.Bool("trace")
			e.timeout = c.Duration("timeout")
			e.out.Terminal = e.opts.StdoutTTY
			e.out.ErrTTY = e.opts.StderrTTY
			if e.opts.Before != nil {
				return e.opts.Before(c, e.out)
			}
			return nil
		},
	}
	for _, w := range e.tree.order {
		app.Commands = append(app.Commands, e.cliCommand(e.tree.children[w], sp))
	}
	app.Commands = append(app.Commands, e.scriptCommand(), e.completionCommand(),
		e.completeCommand())
	app.Commands = append(app.Commands, e.opts.Commands...)
	sort.SliceStable(app.Commands, func(i, j int) bool {
		return app.Commands[i].Name < app.Commands[j].Name
	})
	return app
}

const appHelpTemplate = `NAME:
   {{.Name}} - {{.Usage}}

USAGE:
   {{.Name}} [global flags] VERB [flags] [arguments]

VERBS:{{range .VisibleCommands}}
   {{join .Names ", "}}{{"\t"}}{{.Usage}}{{end}}

GLOBAL FLAGS (accepted anywhere before --; for exec and console, before the container name):
   {{range $index, $option := .VisibleFlags}}{{if $index}}
   {{end}}{{$option}}{{end}}

EXIT STATUS:
   0 ok, 1 error, 2 usage, 3 partial (some targets failed), 4 TrueNAS unreachable or login
   rejected, 130 interrupted; exec passes the remote status through (255: pixels failed).

Run '{{.Name}} VERB --help' for a verb's flags and arguments.
`

// cliCommand turns one node of the command tree into a urfave/cli command.
func (e *Engine) cliCommand(n *node, sp *split) *cli.Command {
	cmd := &cli.Command{Name: n.word, HideHelpCommand: true}
	cmd.OnUsageError = func(c *cli.Context, err error, _ bool) error {
		return &Error{Code: CodeUsage, Message: fmt.Sprintf("%s: %v", n.word, err)}
	}
	if n.spec == nil {
		cmd.Usage = n.word + " verbs"
		for _, w := range n.order {
			cmd.Subcommands = append(cmd.Subcommands, e.cliCommand(n.children[w], sp))
		}
		return cmd
	}
	spec := n.spec
	cmd.Usage = spec.Summary
	cmd.ArgsUsage = argsUsage(spec)
	cmd.Description = spec.Usage
	if !spec.Builtin {
		cmd.Category = "" // user verbs list alongside built-ins
	}
	for _, f := range spec.Flags {
		cmd.Flags = append(cmd.Flags, cliFlag(f))
	}
	cmd.Action = func(c *cli.Context) error {
		if spec == runSpec {
			if len(sp.pos) == 0 {
				return &Error{Code: CodeUsage, Message: "run: missing FILE (pixels run FILE [-- ARGS])"}
			}
			return e.runFile(c.Context, sp.pos[0], sp.rest)
		}
		return e.execute(c.Context, spec, spec.file, c, sp.pos, sp.rest)
	}
	for _, w := range n.order {
		cmd.Subcommands = append(cmd.Subcommands, e.cliCommand(n.children[w], sp))
	}
	return cmd
}

func argsUsage(spec *CommandSpec) string {
	var parts []string
	for _, a := range spec.Args {
		w := strings.ToUpper(a.Name)
		if a.Variadic {
			w += "..."
		}
		if a.Optional {
			w = "[" + w + "]"
		}
		parts = append(parts, w)
	}
	if spec.Passthrough {
		parts = append(parts, "[ARG...]")
	}
	return strings.Join(parts, " ")
}

func cliFlag(f FlagSpec) cli.Flag {
	var aliases, env []string
	if f.Short != "" {
		aliases = []string{f.Short}
	}
	if f.Env != "" {
		env = []string{f.Env}
	}
	usage := f.Help
	if len(f.Enum) > 0 {
		usage += " (one of: " + strings.Join(f.Enum, ", ") + ")"
	}
	if f.Default == lua.LNil && (f.Type == "int" || f.Type == "number" || f.Type == "duration") {
		// No default: parsed by the host, so help does not claim a default of 0.
		return &cli.StringFlag{Name: f.Name, Aliases: aliases, EnvVars: env, Usage: usage}
	}
	switch f.Type {
	case "bool":
		d, _ := f.Default.(lua.LBool)
		return &cli.BoolFlag{Name: f.Name, Aliases: aliases, EnvVars: env, Usage: usage, Value: bool(d)}
	case "int":
		d, _ := f.Default.(lua.LNumber)
		return &cli.IntFlag{Name: f.Name, Aliases: aliases, EnvVars: env, Usage: usage, Value: int(d)}
	case "number":
		d, _ := f.Default.(lua.LNumber)
		return &cli.Float64Flag{Name: f.Name, Aliases: aliases, EnvVars: env, Usage: usage,
			Value: float64(d)}
	case "duration":
		var d time.Duration
		if s, ok := f.Default.(lua.LString); ok {
			d, _ = time.ParseDuration(string(s))
		}
		return &cli.DurationFlag{Name: f.Name, Aliases: aliases, EnvVars: env, Usage: usage, Value: d}
	case "strings":
		return &cli.StringSliceFlag{Name: f.Name, Aliases: aliases, EnvVars: env, Usage: usage}
	default:
		d, _ := f.Default.(lua.LString)
		return &cli.StringFlag{Name: f.Name, Aliases: aliases, EnvVars: env, Usage: usage,
			Value: string(d)}
	}
}

// runSpec declares `pixels run FILE [ARGS...]`: its flags come before FILE, and every word
// after FILE belongs to the recipe (a leading -- is dropped).
var runSpec = &CommandSpec{
	Name:    "run",
	Summary: "run a recipe file once (a path, a name in the scripts dir, or an example)",
	Usage: "A plain file runs top to bottom with its arguments in the global `arg`; a file " +
		"that returns px.command{} gets its flags parsed from ARGS.",
	Args:        []ArgSpec{{Name: "file", Help: "the recipe"}},
	Passthrough: true,
	Builtin:     true,
	Source:      "(pixels)",
}

// unknownVerb explains a word that is not a verb, pointing at a script that failed to load
// when one may have meant to declare it.
func (e *Engine) unknownVerb(name string) error {
	var names []string
	for _, w := range e.tree.order {
		names = append(names, w)
	}
	names = append(names, "completion", "script")
	for _, c := range e.opts.Commands {
		names = append(names, c.Name)
	}
	msg := fmt.Sprintf("unknown verb %q%s (see pixels --help)", name, suggest(name, names))
	if n := len(e.warnings); n > 0 {
		msg += fmt.Sprintf("; %d user script(s) failed to load: see pixels script check", n)
	}
	return &Error{Code: CodeUsage, Message: msg}
}
