package engine

import (
	"context"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	lua "github.com/yuin/gopher-lua"
	luar "layeh.com/gopher-luar"
)

func diskSource(p string) source {
	return source{display: p, read: func() ([]byte, error) { return os.ReadFile(p) }}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// runFile is `pixels run FILE [ARGS]`: a plain recipe runs top to bottom with `arg`; one
// that returns px.command{} is run as that command with ARGS parsed by its flags.
func (e *Engine) runFile(ctx context.Context, file string, args []string) error {
	src, err := e.findScript(file)
	if err != nil {
		return err
	}
	rt, done := e.commandRuntime(ctx)
	defer done()
	L := rt.L
	L.SetGlobal("px", rt.module)
	argT := L.NewTable()
	argT.RawSetInt(0, lua.LString(file))
	for _, a := range args {
		argT.Append(lua.LString(a))
	}
	L.SetGlobal("arg", argT)
	if err := rt.runInit(); err != nil {
		return err
	}

	code, rerr := src.read()
	if rerr != nil {
		return &Error{Code: CodeNotFound, Target: file, Message: rerr.Error()}
	}
	chunk, lerr := L.Load(strings.NewReader(string(code)), src.display)
	if lerr != nil {
		return &Error{Code: CodeScript, Message: syntaxMessage(src.display, lerr)}
	}
	result, runErr := rt.pcall(chunk)
	tbl, isCmd := result.(*lua.LTable)
	if runErr != nil || !isCmd || L.GetMetatable(tbl) != L.GetTypeMetatable(commandMetaKey) {
		return rt.finish(result, runErr)
	}

	spec, run, perr := parseSpec(tbl)
	if perr != nil {
		return &Error{Code: CodeScript, Message: src.display + ": " + perr.Error()}
	}
	spec.file = src
	spec.Name = strings.ReplaceAll(spec.Name, " ", "-")
	tree := newNode("")
	tree.add(spec)
	sp := splitArgs(append(strings.Fields(spec.Name), args...), nil, tree)
	app := &cli.App{
		Name: e.opts.Name + " run", HideHelpCommand: true,
		Writer: e.opts.Stdout, ErrWriter: e.opts.Stderr, ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return &Error{Code: CodeUsage, Message: "run " + file + ": " + err.Error()}
		},
	}
	// A recipe is called as "pixels run FILE", not by its declared name: help and usage
	// errors say so.
	spec.invocation = "run " + file
	// urfave/cli puts the app's name before HelpName.
	leaf := &cli.Command{Name: spec.Name, HelpName: file, Usage: spec.Summary,
		ArgsUsage: argsUsage(spec), OnUsageError: app.OnUsageError}
	for _, f := range spec.Flags {
		leaf.Flags = append(leaf.Flags, cliFlag(f))
	}
	var outErr error
	ran := false
	leaf.Action = func(c *cli.Context) error {
		ran = true
		cmd, uerr := rt.buildCmd(spec, c, sp.pos, sp.rest)
		if uerr != nil {
			return uerr
		}
		outErr = rt.call(run, luar.New(L, cmd))
		return nil
	}
	app.Commands = []*cli.Command{leaf}
	argv := append([]string{app.Name}, sp.argv...)
	if err := app.RunContext(ctx, argv); err != nil {
		if ee, ok := err.(*Error); ok {
			return ee
		}
		return &Error{Code: CodeUsage, Message: err.Error()}
	}
	if !ran {
		return nil // --help was shown
	}
	return outErr
}
