package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	lua "github.com/yuin/gopher-lua"
	luar "layeh.com/gopher-luar"
)

// Cmd is the `cmd` object a command's run function receives. Flags, Args and Rest are plain
// Lua tables; the methods are conveniences. Bound with gopher-luar, so every method is
// callable from Lua whatever its receiver.
type Cmd struct {
	Name  string      `luar:"name"`
	Flags *lua.LTable `luar:"flags"`
	Args  *lua.LTable `luar:"args"`
	Rest  *lua.LTable `luar:"rest"`
	JSON  bool        `luar:"json"` // --json was given: return data rather than print it
}

// Flag returns the value of flag name (dashes or underscores), or nil.
func (c *Cmd) Flag(name string) lua.LValue {
	return c.Flags.RawGetString(strings.ReplaceAll(name, "-", "_"))
}

// Arg returns positional argument name, or nil.
func (c Cmd) Arg(name string) lua.LValue { return c.Args.RawGetString(name) }

// execute runs a declared command: init.lua, then the script's run(cmd), then cleanups,
// then renders what run returned.
func (e *Engine) execute(ctx context.Context, spec *CommandSpec, src source, c *cli.Context,
	pos, rest []string) error {
	rt, done := e.commandRuntime(ctx)
	defer done()

	cmd, uerr := rt.buildCmd(spec, c, pos, rest)
	if uerr != nil {
		return uerr
	}
	if err := rt.runInit(); err != nil {
		return err
	}
	tbl, err := rt.loadFile(src)
	if err != nil {
		return err
	}
	if tbl == nil {
		return &Error{Code: CodeScript, Message: fmt.Sprintf(
			"%s no longer returns px.command{}", src.display)}
	}
	err = rt.call(tbl.RawGetString("run"), luar.New(rt.L, cmd))
	var ee *Error
	if spec.Passthrough && errors.As(err, &ee) && ee.Status == 0 && ee.Code == CodeTimeout {
		// A passthrough verb's status is the remote command's, and pixels' own failure is
		// 255, as with ssh. exec.lua says so itself, but a --timeout stops Lua at once.
		ee.Status = 255
	}
	return err
}

// commandRuntime makes the runtime a verb or recipe runs in: bounded by the global
// --timeout, watched for runaway memory, and locked for this goroutine. done undoes it all.
func (e *Engine) commandRuntime(ctx context.Context) (*Runtime, func()) {
	cancel := context.CancelFunc(func() {})
	if e.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
	}
	rt := e.newRuntime(ctx, false)
	unguard := rt.guard()
	rt.gil.Lock()
	return rt, func() {
		rt.gil.Unlock()
		unguard()
		rt.Close()
		cancel()
	}
}

// call runs fn(args...) protected, runs cleanups, and renders the result.
func (rt *Runtime) call(fn lua.LValue, args ...lua.LValue) error {
	result, err := rt.pcall(fn, args...)
	return rt.finish(result, err)
}

func (rt *Runtime) pcall(fn lua.LValue, args ...lua.LValue) (lua.LValue, *Error) {
	if err := rt.L.CallByParam(lua.P{Fn: fn, NRet: 2, Protect: true}, args...); err != nil {
		return lua.LNil, rt.wrapLuaErr(err)
	}
	result, status := rt.L.Get(-2), rt.L.Get(-1)
	rt.L.Pop(2)
	rt.status = 0
	if n, ok := status.(lua.LNumber); ok {
		rt.status = int(n) & 0xff
	}
	return result, nil
}

// finish runs the cleanups and renders result, or returns the run's error.
func (rt *Runtime) finish(result lua.LValue, runErr *Error) error {
	failed := runErr != nil && !(runErr.Code == codeExit && exitStatus(runErr) == 0)
	cleanupErr := rt.runCleanups(failed)
	for _, fn := range rt.atFinish {
		fn(failed || cleanupErr != nil)
	}
	if runErr != nil {
		if runErr.Code == codeExit {
			if st := exitStatus(runErr); st != 0 {
				return &ExitError{Status: st}
			}
			return cleanupErr
		}
		if cleanupErr != nil {
			rt.Warn("%v", cleanupErr)
		}
		return runErr
	}
	if cleanupErr != nil {
		return cleanupErr
	}
	if err := rt.render(result); err != nil {
		return err
	}
	if rt.status != 0 {
		// run returned (value, status): the value is shown, then the program exits status.
		return &ExitError{Status: rt.status}
	}
	return nil
}

// ExitError is os.exit(N) from a script: the program exits N after cleanups.
type ExitError struct{ Status int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Status) }

func exitStatus(e *Error) int {
	var st int
	fmt.Sscanf(e.Message, "script exited with status %d", &st)
	return st
}

// runInit runs init.lua when it exists; its failures name the file and line.
func (rt *Runtime) runInit() error {
	path := rt.eng.opts.InitFile
	if path == "" || !fileExists(path) {
		return nil
	}
	if _, err := rt.loadFile(diskSource(path)); err != nil {
		return err
	}
	return nil
}

// buildCmd converts parsed flags and positionals into the cmd object.
func (rt *Runtime) buildCmd(spec *CommandSpec, c *cli.Context, pos, rest []string) (*Cmd, *Error) {
	L := rt.L
	cmd := &Cmd{Name: spec.Name, Flags: L.NewTable(), Args: L.NewTable(), Rest: L.NewTable(),
		JSON: rt.Out.JSON}
	for _, f := range spec.Flags {
		key := strings.ReplaceAll(f.Name, "-", "_")
		var v lua.LValue = lua.LNil
		set := c.IsSet(f.Name)
		switch f.Type {
		case "bool":
			v = lua.LBool(c.Bool(f.Name))
		case "int", "number", "duration":
			if f.Default == lua.LNil {
				if !set {
					break
				}
				pv, perr := parseFlagValue(f, c.String(f.Name))
				if perr != nil {
					return nil, &Error{Code: CodeUsage, Message: fmt.Sprintf("%s: --%s %v",
						spec.Name, f.Name, perr)}
				}
				v = pv
				break
			}
			switch f.Type {
			case "int":
				v = lua.LNumber(c.Int(f.Name))
			case "number":
				v = lua.LNumber(c.Float64(f.Name))
			default:
				v = lua.LString(c.Duration(f.Name).String())
			}
		case "strings":
			t := L.NewTable()
			vals := c.StringSlice(f.Name)
			if !set {
				vals = f.DefaultStrings
			}
			for _, s := range vals {
				t.Append(lua.LString(s))
			}
			v = t
		default:
			if set || f.Default != lua.LNil {
				v = lua.LString(c.String(f.Name))
			}
		}
		if len(f.Enum) > 0 {
			if s, ok := v.(lua.LString); ok && !contains(f.Enum, string(s)) {
				return nil, &Error{Code: CodeUsage, Message: fmt.Sprintf(
					"%s: --%s wants one of %s, got %q", spec.Name, f.Name,
					strings.Join(f.Enum, ", "), string(s))}
			}
		}
		cmd.Flags.RawSetString(key, v)
	}
	if err := bindArgs(L, spec, cmd.Args, pos); err != nil {
		return nil, err
	}
	for _, r := range rest {
		cmd.Rest.Append(lua.LString(r))
	}
	return cmd, nil
}

func bindArgs(L *lua.LState, spec *CommandSpec, out *lua.LTable, pos []string) *Error {
	i := 0
	for _, a := range spec.Args {
		key := strings.ReplaceAll(a.Name, "-", "_")
		if a.Variadic {
			t := L.NewTable()
			for ; i < len(pos); i++ {
				t.Append(lua.LString(pos[i]))
			}
			if t.Len() == 0 && !a.Optional {
				return usageErr(spec, "missing %s", strings.ToUpper(a.Name))
			}
			out.RawSetString(key, t)
			continue
		}
		if i >= len(pos) {
			if !a.Optional {
				return usageErr(spec, "missing %s", strings.ToUpper(a.Name))
			}
			continue
		}
		out.RawSetString(key, lua.LString(pos[i]))
		i++
	}
	if i < len(pos) {
		return usageErr(spec, "unexpected argument %q", pos[i])
	}
	return nil
}

func usageErr(spec *CommandSpec, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	call := spec.Name
	if spec.invocation != "" {
		call = spec.invocation
	}
	usage := strings.TrimSpace(call + " " + argsUsage(spec))
	return &Error{Code: CodeUsage, Message: fmt.Sprintf("%s: %s (usage: pixels %s)",
		call, msg, usage)}
}

// parseFlagValue reads the value of a typed flag that has no default.
func parseFlagValue(f FlagSpec, s string) (lua.LValue, error) {
	switch f.Type {
	case "int":
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("wants a whole number, got %q", s)
		}
		return lua.LNumber(n), nil
	case "number":
		n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("wants a number, got %q", s)
		}
		return lua.LNumber(n), nil
	default:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("wants a duration like 90s or 5m, got %q", s)
		}
		return lua.LString(d.String()), nil
	}
}
