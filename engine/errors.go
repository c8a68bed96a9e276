package engine

import (
	"errors"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Error codes shared by Go, Lua (err.code) and the JSON error object. main maps them to exit
// statuses in one table.
const (
	CodeUsage       = "usage"
	CodePartial     = "partial"
	CodeUnreachable = "unreachable"
	CodeAuth        = "auth"
	CodeInterrupted = "interrupted"
	CodeNotFound    = "not_found"
	CodeExists      = "exists"
	CodeBusy        = "busy"
	CodeTimeout     = "timeout"
	CodeInvalid     = "invalid"
	CodeRemote      = "remote"
	CodeInternal    = "internal"
	CodeScript      = "script"
	CodeFailed      = "failed"
)

// Error is a failure that stops a plan. It crosses into Lua as a table with the same fields
// and a __tostring, and comes back out of Lua unchanged, so `pcall` users and main see the
// same code.
type Error struct {
	Code      string // symbolic code, one of the Code constants
	Message   string // one line, lowercase, "verb-ing object: cause"
	Op        string // the operation, e.g. "px.create"
	Target    string // the container or file concerned, if any
	Where     string // script file:line, when raised from Lua
	Traceback string // Lua traceback, shown with --debug
	Err       error  // the Go cause, when there is one
	Status    int    // exit status to use instead of the code's, when not 0
}

func (e *Error) Error() string {
	msg := e.Message
	// A built-in verb's own line means nothing to users; a script's line does.
	builtinLine := strings.HasPrefix(e.Where, "builtin/") && e.Code != CodeScript
	if e.Where != "" && !builtinLine && !strings.HasPrefix(msg, e.Where) {
		msg = e.Where + " " + msg
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an Error with a code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// CodeOf returns the symbolic code of err: its own when it is (or wraps) an *Error, else
// "internal".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return CodeInternal
}

const errorMetaKey = "pixels.error"

// errorTable turns e into the Lua table scripts see.
func errorTable(L *lua.LState, e *Error) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("code", lua.LString(e.Code))
	t.RawSetString("message", lua.LString(e.Message))
	if e.Op != "" {
		t.RawSetString("op", lua.LString(e.Op))
	}
	if e.Target != "" {
		t.RawSetString("target", lua.LString(e.Target))
	}
	if e.Where != "" {
		t.RawSetString("where", lua.LString(e.Where))
	}
	if e.Status != 0 {
		t.RawSetString("status", lua.LNumber(e.Status))
	}
	L.SetMetatable(t, L.GetTypeMetatable(errorMetaKey))
	return t
}

func installErrorMeta(L *lua.LState) {
	mt := L.NewTypeMetatable(errorMetaKey)
	L.SetField(mt, "__tostring", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		e := errorFromTable(t)
		L.Push(lua.LString(e.Error()))
		return 1
	}))
}

func errorFromTable(t *lua.LTable) *Error {
	get := func(k string) string {
		if v, ok := t.RawGetString(k).(lua.LString); ok {
			return string(v)
		}
		return ""
	}
	e := &Error{Code: get("code"), Message: get("message"), Op: get("op"),
		Target: get("target"), Where: get("where")}
	if n, ok := t.RawGetString("status").(lua.LNumber); ok {
		e.Status = int(n)
	}
	if e.Code == "" {
		e.Code = CodeScript
	}
	if e.Message == "" {
		e.Message = "error object without a message"
	}
	return e
}

// Raise raises e in L as a Lua error table, filling Where from the calling script line.
// It does not return.
func Raise(L *lua.LState, e *Error) {
	if e.Where == "" {
		e.Where = callerWhere(L)
	}
	L.Error(errorTable(L, e), 0)
}

// callerWhere finds the innermost Lua (not Go) frame's "file:line:".
func callerWhere(L *lua.LState) string {
	for level := 1; level < 8; level++ {
		w := strings.TrimSpace(L.Where(level))
		if w != "" && !strings.HasPrefix(w, "[G]") {
			return strings.TrimSuffix(strings.TrimSpace(w), ":") + ":"
		}
	}
	return ""
}

// FromLua converts what a protected Lua call raised into an *Error.
func FromLua(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var api *lua.ApiError
	if !errors.As(err, &api) {
		return &Error{Code: CodeInternal, Message: err.Error(), Err: err}
	}
	var out *Error
	switch v := api.Object.(type) {
	case *lua.LTable:
		out = errorFromTable(v)
	case lua.LString:
		out = &Error{Code: CodeScript, Message: string(v)}
	case nil:
		out = &Error{Code: CodeScript, Message: api.Error()}
	default:
		out = &Error{Code: CodeScript, Message: api.Object.String()}
	}
	if api.Type == lua.ApiErrorSyntax {
		out.Code = CodeScript
	}
	if api.Type == lua.ApiErrorPanic {
		out.Code = CodeInternal
	}
	out.Traceback = api.StackTrace
	return out
}
