package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// APIVersion is the version of the pixels Lua API this host implements; scripts compare it
// with `requires`.
const APIVersion = "1.0"

// HostFunc is a host function of the pixels module. It receives the runtime so it can
// release the Lua lock while it blocks.
type HostFunc func(rt *Runtime, L *lua.LState) int

// Register adds fn to mod as name. An effectful function is refused while declaring, so
// `pixels --help` never touches TrueNAS.
func (rt *Runtime) Register(mod *lua.LTable, name string, effect bool, fn HostFunc) {
	mod.RawSetString(name, rt.L.NewFunction(func(L *lua.LState) int {
		if effect && rt.declaring {
			Raise(L, &Error{Code: CodeInvalid, Op: "px." + name,
				Message: fmt.Sprintf("px.%s: not allowed while declaring a command "+
					"(call it inside run)", name)})
		}
		if !rt.Out.Trace {
			return fn(rt, L)
		}
		return rt.traced(L, name, fn)
	}))
}

const commandMetaKey = "pixels.command"

func (rt *Runtime) buildModule(domain func(rt *Runtime, mod *lua.LTable)) *lua.LTable {
	L := rt.L
	mod := L.NewTable()
	mod.RawSetString("api_version", lua.LString(APIVersion))
	L.NewTypeMetatable(commandMetaKey)

	rt.Register(mod, "command", false, func(rt *Runtime, L *lua.LState) int {
		t := L.CheckTable(1)
		if _, _, err := parseSpec(t); err != nil {
			Raise(L, &Error{Code: CodeScript, Op: "px.command", Message: err.Error()})
		}
		L.SetMetatable(t, L.GetTypeMetatable(commandMetaKey))
		L.Push(t)
		return 1
	})
	rt.Register(mod, "fail", false, func(rt *Runtime, L *lua.LState) int {
		msg := L.CheckString(1)
		code := CodeFailed
		status := 0
		if opts := L.OptTable(2, nil); opts != nil {
			if err := CheckOptions(opts, "px.fail", []string{"code", "status"}); err != nil {
				Raise(L, err)
			}
			if c, ok := opts.RawGetString("code").(lua.LString); ok {
				code = string(c)
			}
			if n, ok := opts.RawGetString("status").(lua.LNumber); ok && n > 0 && n < 256 {
				status = int(n)
			}
		}
		Raise(L, &Error{Code: code, Message: msg, Op: "px.fail", Status: status})
		return 0
	})
	rt.Register(mod, "has", false, func(rt *Runtime, L *lua.LState) int {
		name := L.CheckString(1)
		L.Push(lua.LBool(contains(rt.eng.features(), name)))
		return 1
	})
	rt.Register(mod, "on", false, rt.luaOn)
	rt.Register(mod, "defer", false, rt.luaDefer)
	rt.Register(mod, "parallel", true, rt.luaParallel)
	mod.RawSetString("log", rt.logTable())
	if domain != nil {
		domain(rt, mod)
	}
	return mod
}

// CheckOptions refuses keys of opts that are not in allowed, naming the key and
// suggesting the closest allowed one.
func CheckOptions(opts *lua.LTable, op string, allowed []string) *Error {
	var bad *Error
	opts.ForEach(func(k, _ lua.LValue) {
		if bad != nil {
			return
		}
		ks, ok := k.(lua.LString)
		if !ok {
			bad = &Error{Code: CodeInvalid, Op: op,
				Message: fmt.Sprintf("%s: options want names, got %s key", op, k.Type())}
			return
		}
		if !contains(allowed, string(ks)) {
			bad = &Error{Code: CodeInvalid, Op: op, Message: fmt.Sprintf(
				"%s: unknown option %q%s", op, string(ks), suggest(string(ks), allowed))}
		}
	})
	return bad
}

var events = []string{"pre_create", "create", "pre_start", "start", "pre_stop", "stop",
	"pre_destroy", "destroy", "checkpoint", "restore", "exec"}

func (rt *Runtime) luaOn(_ *Runtime, L *lua.LState) int {
	name := L.CheckString(1)
	fn := L.CheckFunction(2)
	if !contains(events, name) {
		Raise(L, &Error{Code: CodeInvalid, Op: "px.on", Message: fmt.Sprintf(
			"px.on: unknown event %q%s", name, suggest(name, events))})
	}
	rt.nextID++
	rt.handlers[name] = append(rt.handlers[name], handler{id: rt.nextID, fn: fn})
	L.Push(lua.LNumber(rt.nextID))
	return 1
}

// Emit calls the handlers of event with ev. A pre_* handler that returns false vetoes the
// operation: Emit then returns an error with the handler's reason. A handler's own calls do
// not fire the event it is handling.
func (rt *Runtime) Emit(L *lua.LState, event string, ev *lua.LTable) *Error {
	if rt.firing[event] || len(rt.handlers[event]) == 0 {
		return nil
	}
	rt.firing[event] = true
	defer delete(rt.firing, event)
	for _, h := range rt.handlers[event] {
		if err := L.CallByParam(lua.P{Fn: h.fn, NRet: 2, Protect: true}, ev); err != nil {
			e := FromLua(err)
			e.Message = fmt.Sprintf("%s handler: %s", event, e.Message)
			if e.Code == CodeScript {
				e.Code = CodeFailed // the handler's own file:line is in the message
			}
			return e
		}
		ok, reason := L.Get(-2), L.Get(-1)
		L.Pop(2)
		if strings.HasPrefix(event, "pre_") && ok == lua.LFalse {
			msg := fmt.Sprintf("%s vetoed by a handler", event)
			if r, isStr := reason.(lua.LString); isStr {
				msg += ": " + string(r)
			}
			return &Error{Code: CodeFailed, Op: event, Message: msg}
		}
	}
	return nil
}

func (rt *Runtime) luaDefer(_ *Runtime, L *lua.LState) int {
	fn := L.CheckFunction(1)
	d := deferred{fn: fn}
	if opts := L.OptTable(2, nil); opts != nil {
		if err := CheckOptions(opts, "px.defer", []string{"on"}); err != nil {
			Raise(L, err)
		}
		switch v := opts.RawGetString("on"); v {
		case lua.LNil, lua.LString("always"):
		case lua.LString("error"):
			d.onError = true
		default:
			Raise(L, &Error{Code: CodeInvalid, Op: "px.defer", Message: fmt.Sprintf(
				"px.defer: option \"on\" wants \"always\" or \"error\", got %s", v.String())})
		}
	}
	rt.defers = append(rt.defers, d)
	return 0
}

// luaParallel runs fn(item, index) for every item, each on its own Lua thread, at most limit
// at a time. It returns the results and, when any item failed, the errors, both indexed like
// the items.
func (rt *Runtime) luaParallel(_ *Runtime, L *lua.LState) int {
	items := L.CheckTable(1)
	fn := L.CheckFunction(2)
	n := items.Len()
	limit := n
	if opts := L.OptTable(3, nil); opts != nil {
		if err := CheckOptions(opts, "px.parallel", []string{"limit"}); err != nil {
			Raise(L, err)
		}
		if v, ok := opts.RawGetString("limit").(lua.LNumber); ok && int(v) > 0 {
			limit = int(v)
		}
	}
	if limit < 1 {
		limit = 1
	}
	results := make([]lua.LValue, n)
	errs := make([]*Error, n)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		item := items.RawGetInt(i)
		wg.Add(1)
		go func(i int, item lua.LValue) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rt.gil.Lock()
			defer rt.gil.Unlock()
			th, cancel := L.NewThread()
			if cancel != nil {
				defer cancel()
			}
			err := th.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, item, lua.LNumber(i))
			if err != nil {
				errs[i-1] = FromLua(err)
				return
			}
			results[i-1] = th.Get(-1)
			th.Pop(1)
		}(i, item)
	}
	rt.Block(wg.Wait)

	res := L.NewTable()
	errT := L.NewTable()
	failed := false
	for i := 0; i < n; i++ {
		if results[i] != nil {
			res.RawSetInt(i+1, results[i])
		}
		if errs[i] != nil {
			failed = true
			errT.RawSetInt(i+1, errorTable(L, errs[i]))
		}
	}
	L.Push(res)
	if failed {
		L.Push(errT)
	} else {
		L.Push(lua.LNil)
	}
	return 2
}

func (rt *Runtime) logTable() *lua.LTable {
	L := rt.L
	t := L.NewTable()
	for _, level := range []string{"debug", "info", "warn", "error"} {
		level := level
		t.RawSetString(level, L.NewFunction(func(L *lua.LState) int {
			msg := formatArgs(L)
			switch {
			case level == "debug" && !rt.Out.Debug:
			case level == "warn":
				rt.Warn("%s", msg)
			case level == "error":
				fmt.Fprintf(rt.Stderr, "pixels: %s\n", msg)
			case level == "info" && (rt.Out.Quiet || rt.Out.JSON || !rt.Out.ErrTTY && !rt.Out.Debug):
			default:
				fmt.Fprintf(rt.Stderr, "pixels: %s\n", msg)
			}
			return 0
		}))
	}
	return t
}

// formatArgs applies string.format to the call's arguments.
func formatArgs(L *lua.LState) string {
	n := L.GetTop()
	if n == 0 {
		return ""
	}
	if n == 1 {
		return luaToString(L, L.Get(1))
	}
	format := L.GetField(L.GetGlobal("string"), "format")
	args := make([]lua.LValue, n)
	for i := 1; i <= n; i++ {
		args[i-1] = L.Get(i)
	}
	if err := L.CallByParam(lua.P{Fn: format, NRet: 1, Protect: true}, args...); err != nil {
		return luaToString(L, L.Get(1))
	}
	s := L.Get(-1).String()
	L.Pop(1)
	return s
}

// traced runs a host call and prints it with its arguments and duration (--trace).
// Secrets never reach Lua, so arguments print as given.
func (rt *Runtime) traced(L *lua.LState, name string, fn HostFunc) int {
	args := make([]string, 0, L.GetTop())
	for i := 1; i <= L.GetTop(); i++ {
		v := L.Get(i)
		if _, isFn := v.(*lua.LFunction); isFn {
			args = append(args, "function")
			continue
		}
		b, _ := json.Marshal(redact(ToGo(v), false))
		args = append(args, string(b))
	}
	start := time.Now()
	failed := true
	defer func() {
		status := "ok"
		if failed {
			status = "raised"
		}
		fmt.Fprintf(rt.Stderr, "pixels: trace: %s px.%s(%s) %s %s\n", callerWhere(L), name,
			strings.Join(args, ", "), time.Since(start).Round(time.Microsecond), status)
	}()
	n := fn(rt, L)
	failed = false
	return n
}

// redact hides values that may be secrets in traced arguments: everything under an env
// table, and keys that name a secret.
func redact(v any, hide bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			lk := strings.ToLower(k)
			secret := hide || lk == "env" || strings.Contains(lk, "password") ||
				strings.Contains(lk, "secret") || strings.Contains(lk, "token") ||
				strings.Contains(lk, "api_key")
			out[k] = redact(e, secret)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redact(e, hide)
		}
		return out
	default:
		if hide && v != nil {
			return "***"
		}
		return v
	}
}
