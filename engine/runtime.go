package engine

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Runtime is one command's Lua world: the state, the lock that keeps Lua code on one
// goroutine at a time, cleanups, event handlers and output streams.
//
// Concurrency: px.parallel runs each item on its own Lua thread in its own goroutine, and
// every goroutine holds gil while it runs Lua. Host calls that block release gil through
// Block, so blocking work overlaps while Lua code never runs on two goroutines at once. This
// also keeps pcall working across blocking calls, which gopher-lua's coroutine yield cannot.
type Runtime struct {
	eng       *Engine
	L         *lua.LState
	ctx       context.Context
	gil       sync.Mutex
	declaring bool
	module    *lua.LTable

	defers   []deferred
	status   int // the exit status a run function returned beside its value
	atFinish []func(failed bool)
	handlers map[string][]handler
	nextID   int
	firing   map[string]bool

	Stdout io.Writer
	Stderr io.Writer
	Stdin  io.Reader
	Out    Output
}

// Output says how results and talk are shown.
type Output struct {
	JSON     bool // --json
	Debug    bool // --debug
	Quiet    bool // --quiet
	Trace    bool // --trace: print each host call
	Terminal bool // stdout is a terminal
	ErrTTY   bool // stderr is a terminal (progress and notices)
}

type deferred struct {
	fn      *lua.LFunction
	onError bool
}

type handler struct {
	id int
	fn *lua.LFunction
}

// Context returns the context a host call made from L must honour.
func (rt *Runtime) Context(L *lua.LState) context.Context {
	if ctx := L.Context(); ctx != nil {
		return ctx
	}
	return rt.ctx
}

// Declaring reports whether this runtime only collects declarations; side effects are
// refused then.
func (rt *Runtime) Declaring() bool { return rt.declaring }

// Block runs fn with the Lua lock released, so other Lua threads run while fn waits. The
// caller must be a host function running on a Lua thread of rt.
func (rt *Runtime) Block(fn func()) {
	rt.gil.Unlock()
	defer rt.gil.Lock()
	fn()
}

// Locked runs fn holding the Lua lock; for code that was released by Block and needs to
// call back into Lua (stream callbacks) on its own goroutine.
func (rt *Runtime) Locked(fn func()) {
	rt.gil.Lock()
	defer rt.gil.Unlock()
	fn()
}

// Notice prints a message for a person on stderr, only when nobody parses our output.
func (rt *Runtime) Notice(format string, args ...any) {
	if rt.Out.JSON || rt.Out.Quiet {
		return
	}
	fmt.Fprintf(rt.Stderr, "pixels: "+format+"\n", args...)
}

// Warn prints a warning on stderr; warnings show even under --json, since stderr is not
// parsed there except for its last line on failure.
func (rt *Runtime) Warn(format string, args ...any) {
	if rt.Out.Quiet {
		return
	}
	fmt.Fprintf(rt.Stderr, "pixels: warning: "+format+"\n", args...)
}

// Module returns the pixels table, for host functions that call each other.
func (rt *Runtime) Module() *lua.LTable { return rt.module }

// maxRegistry bounds a script's Lua data stack, in slots (16 bytes each): 1 Mi slots is
// 16 MiB, room for table.concat or unpack of about a million items. The stack grows by
// registryStep slots at a time, each time copied whole, so a small step would make a deep
// stack cost quadratic time.
const (
	maxRegistry  = 1 << 20
	registryStep = 16 << 10
)

// newRuntime makes a state with the standard libraries, the pixels module and the host's
// replacements for print, os.exit and package.path.
func (e *Engine) newRuntime(ctx context.Context, declaring bool) *Runtime {
	return e.newRuntimeWith(ctx, declaring, e.opts.Module)
}

// newRuntimeWith is newRuntime with another domain module (script tests bind their own).
func (e *Engine) newRuntimeWith(ctx context.Context, declaring bool,
	module func(rt *Runtime, mod *lua.LTable)) *Runtime {
	// The data stack starts at gopher-lua's default and grows on demand up to maxRegistry
	// slots: a fixed stack overflows on ordinary code such as table.concat of a few
	// thousand strings, while a bound keeps a runaway script from eating memory.
	L := lua.NewState(lua.Options{SkipOpenLibs: false, IncludeGoStackTrace: false,
		RegistryMaxSize: maxRegistry, RegistryGrowStep: registryStep})
	rt := &Runtime{eng: e, L: L, ctx: ctx, declaring: declaring,
		handlers: map[string][]handler{}, firing: map[string]bool{},
		Stdout: e.opts.Stdout, Stderr: e.opts.Stderr, Stdin: e.opts.Stdin, Out: e.out}
	L.SetContext(ctx)
	installErrorMeta(L)
	rt.installStdlib()
	rt.module = rt.buildModule(module)
	L.PreloadModule("pixels", func(L *lua.LState) int {
		L.Push(rt.module)
		return 1
	})
	L.SetGlobal("pixels", rt.module)
	rt.preloadLibs()
	return rt
}

func (rt *Runtime) installStdlib() {
	L := rt.L
	L.SetGlobal("print", L.NewFunction(func(L *lua.LState) int {
		// Under --json stdout carries the JSON result alone, so print talks on stderr.
		w := rt.Stdout
		if rt.Out.JSON {
			w = rt.Stderr
		}
		n := L.GetTop()
		for i := 1; i <= n; i++ {
			if i > 1 {
				io.WriteString(w, "\t")
			}
			io.WriteString(w, luaToString(L, L.Get(i)))
		}
		io.WriteString(w, "\n")
		return 0
	}))
	if strTable, ok := L.GetGlobal("string").(*lua.LTable); ok {
		strTable.RawSetString("gsub", L.NewFunction(gsub))
	}
	if ioTable, ok := L.GetGlobal("io").(*lua.LTable); ok {
		// io.write is data too: it goes where print goes.
		ioTable.RawSetString("write", L.NewFunction(func(L *lua.LState) int {
			w := rt.Stdout
			if rt.Out.JSON {
				w = rt.Stderr
			}
			for i := 1; i <= L.GetTop(); i++ {
				io.WriteString(w, L.CheckString(i))
			}
			return 0
		}))
	}
	if osTable, ok := L.GetGlobal("os").(*lua.LTable); ok {
		osTable.RawSetString("exit", L.NewFunction(func(L *lua.LState) int {
			status := 0
			switch v := L.Get(1).(type) {
			case lua.LNumber:
				status = int(v)
			case lua.LBool:
				if !v {
					status = 1
				}
			}
			e := &Error{Code: codeExit, Message: fmt.Sprintf("script exited with status %d", status)}
			t := errorTable(L, e)
			t.RawSetString("status", lua.LNumber(status))
			L.Error(t, 0)
			return 0
		}))
	}
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		lib := filepath.Join(rt.eng.opts.ScriptsDir, "lib")
		pkg.RawSetString("path", lua.LString(filepath.Join(lib, "?.lua")+";"+
			filepath.Join(lib, "?", "init.lua")))
		pkg.RawSetString("cpath", lua.LString(""))
	}
}

const codeExit = "exit"

// luaToString is tostring() honouring __tostring.
func luaToString(L *lua.LState, v lua.LValue) string {
	if mt, ok := L.GetMetatable(v).(*lua.LTable); ok {
		if fn, ok := mt.RawGetString("__tostring").(*lua.LFunction); ok {
			if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, v); err == nil {
				s := L.Get(-1)
				L.Pop(1)
				return lua.LVAsString(s)
			}
		}
	}
	return v.String()
}

// runCleanups runs px.defer functions last-in first-out with a fresh short deadline, so
// they work after a Ctrl-C cancelled the command's context. failed says whether the
// command failed, for cleanups registered with on = "error".
func (rt *Runtime) runCleanups(failed bool) error {
	var errs []error
	for i := len(rt.defers) - 1; i >= 0; i-- {
		d := rt.defers[i]
		if d.onError && !failed {
			continue
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(rt.ctx), 30*time.Second)
		rt.L.SetContext(cctx)
		err := rt.L.CallByParam(lua.P{Fn: d.fn, NRet: 0, Protect: true})
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %w", FromLua(err)))
		}
	}
	rt.defers = nil
	rt.L.SetContext(rt.ctx)
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// AtFinish registers fn to run once the command has ended and its cleanups have run; failed
// says whether it failed. Host modules use it to report what a failed run left behind.
func (rt *Runtime) AtFinish(fn func(failed bool)) { rt.atFinish = append(rt.atFinish, fn) }

// Close releases the state.
func (rt *Runtime) Close() { rt.L.Close() }

// preloadLibs makes the built-in helper modules (Builtins' lib/*.lua) requirable as
// "pixels.NAME".
func (rt *Runtime) preloadLibs() {
	if rt.eng.opts.Builtins == nil {
		return
	}
	names, _ := fs.Glob(rt.eng.opts.Builtins, "lib/*.lua")
	for _, n := range names {
		n := n
		mod := "pixels." + strings.TrimSuffix(path.Base(n), ".lua")
		rt.L.PreloadModule(mod, func(L *lua.LState) int {
			code, err := fs.ReadFile(rt.eng.opts.Builtins, n)
			if err != nil {
				L.RaiseError("loading %s: %v", mod, err)
			}
			fn, err := L.Load(strings.NewReader(string(code)), "builtin/"+n)
			if err != nil {
				L.RaiseError("%v", err)
			}
			L.Push(fn)
			L.Call(0, 1)
			return 1
		})
	}
}
