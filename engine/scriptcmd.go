package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/urfave/cli/v2"
)

// scriptCommand is `pixels script ...`: tools for people writing recipes.
func (e *Engine) scriptCommand() *cli.Command {
	return &cli.Command{
		Name:  "script",
		Usage: "check scripts, write editor stubs, list what is installed",
		Subcommands: []*cli.Command{
			{
				Name:  "check",
				Usage: "load every script as `pixels --help` does and report all problems at once",
				Description: "Never contacts TrueNAS. Exits 1 when any script has a problem " +
					"(unknown keys, wrong types, duplicate names, a built-in shadowed without " +
					"override, syntax and runtime errors while declaring), naming file:line.",
				Action: func(c *cli.Context) error {
					for _, w := range e.warnings {
						fmt.Fprintf(e.opts.Stderr, "pixels: %s\n", w)
					}
					e.warningsShown = true
					user := 0
					for _, s := range e.specs {
						if !s.Builtin {
							user++
						}
					}
					if len(e.warnings) > 0 {
						return &Error{Code: CodeScript, Message: fmt.Sprintf(
							"script check: %d problem(s) in %s", len(e.warnings), e.opts.ScriptsDir)}
					}
					if !e.out.Quiet {
						fmt.Fprintf(e.opts.Stderr, "pixels: %d user command(s) in %s, no problems\n",
							user, e.opts.ScriptsDir)
					}
					return nil
				},
			},
			{
				Name:  "list",
				Usage: "list every verb with where it comes from",
				Action: func(c *cli.Context) error {
					var rows []any
					for _, s := range e.specs {
						rows = append(rows, map[string]any{"name": s.Name, "summary": s.Summary,
							"source": s.Source})
					}
					sort.Slice(rows, func(i, j int) bool {
						return rows[i].(map[string]any)["name"].(string) <
							rows[j].(map[string]any)["name"].(string)
					})
					return Render(e.opts.Stdout, rows, e.out)
				},
			},
			{
				Name:      "test",
				Usage:     "run *_test.lua files, each test_* function against a fresh simulator",
				ArgsUsage: "[PATH...]",
				Description: "PATH is a file or a directory (default: the scripts dir). Each " +
					"test_* function gets t with t:eq(got, want), t:ok(v), t:fails(fn, code), " +
					"t:skip(reason) and t:log(...). Exits 1 when a test fails.",
				Action: func(c *cli.Context) error {
					if e.opts.TestWorld == nil {
						return &Error{Code: CodeInternal, Message: "script test: not available"}
					}
					paths := c.Args().Slice()
					if len(paths) == 0 {
						paths = []string{e.opts.ScriptsDir}
					}
					files, err := testFiles(paths)
					if err != nil {
						return err
					}
					res := e.RunTests(c.Context, files, e.opts.TestWorld, e.opts.Stdout)
					if res.Failed > 0 {
						return &Error{Code: CodeFailed, Message: fmt.Sprintf(
							"script test: %d failed", res.Failed)}
					}
					return nil
				},
			},
			{
				Name:  "types",
				Usage: "write LuaLS stubs (pixels.d.lua) and .luarc.json into the scripts dir",
				Description: "Editors with the Lua language server then complete and check the " +
					"pixels API in your scripts.",
				Action: func(c *cli.Context) error {
					if e.opts.Stubs == nil {
						return &Error{Code: CodeInternal, Message: "script types: no stubs available"}
					}
					dir := e.opts.ScriptsDir
					if err := os.MkdirAll(dir, 0o755); err != nil {
						return &Error{Code: CodeInvalid, Message: "script types: " + err.Error()}
					}
					stub := filepath.Join(dir, "pixels.d.lua")
					if err := os.WriteFile(stub, []byte(e.opts.Stubs()), 0o644); err != nil {
						return &Error{Code: CodeInvalid, Message: "script types: " + err.Error()}
					}
					rc := filepath.Join(dir, ".luarc.json")
					if err := os.WriteFile(rc, []byte(luarc), 0o644); err != nil {
						return &Error{Code: CodeInvalid, Message: "script types: " + err.Error()}
					}
					fmt.Fprintln(e.opts.Stdout, stub)
					fmt.Fprintln(e.opts.Stdout, rc)
					return nil
				},
			},
		},
	}
}

const luarc = `{
  "runtime.version": "Lua 5.1",
  "runtime.path": ["lib/?.lua", "lib/?/init.lua"],
  "diagnostics.globals": ["pixels", "px", "arg"],
  "workspace.library": ["pixels.d.lua"]
}
`
