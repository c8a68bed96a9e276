package engine

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/pm"
)

// gsub replaces gopher-lua's string.gsub, whose result building copies the whole string once
// per match: a gsub over a few megabytes runs for many minutes inside one Go call, deaf to
// Ctrl-C and --timeout (B21). This one builds the result in one pass and checks the state's
// context between matches and before every replacement function call.
func gsub(L *lua.LState) int {
	src := L.CheckString(1)
	pat := L.CheckString(2)
	L.CheckTypes(3, lua.LTString, lua.LTTable, lua.LTFunction)
	repl := L.Get(3)
	limit := L.OptInt(4, -1)

	matches, err := pm.Find(pat, []byte(src), 0, limit)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	var out strings.Builder
	out.Grow(len(src))
	prev := 0
	for i, m := range matches {
		if i%256 == 0 {
			checkContext(L)
		}
		start, end := m.Capture(0), m.Capture(1)
		out.WriteString(src[prev:start])
		prev = end
		whole := src[start:end]
		caps := captures(src, m)
		switch r := repl.(type) {
		case lua.LString:
			expand(L, &out, string(r), whole, caps)
		case *lua.LTable:
			key := lua.LValue(lua.LString(whole))
			if len(caps) > 0 {
				key = caps[0]
			}
			replaceWith(L, &out, L.GetTable(r, key), whole)
		case *lua.LFunction:
			checkContext(L)
			args := caps
			if len(args) == 0 {
				args = []lua.LValue{lua.LString(whole)}
			}
			L.Push(r)
			for _, a := range args {
				L.Push(a)
			}
			L.Call(len(args), 1)
			v := L.Get(-1)
			L.Pop(1)
			replaceWith(L, &out, v, whole)
		}
	}
	out.WriteString(src[prev:])
	L.Push(lua.LString(out.String()))
	L.Push(lua.LNumber(len(matches)))
	return 2
}

func checkContext(L *lua.LState) {
	if ctx := L.Context(); ctx != nil && ctx.Err() != nil {
		L.RaiseError("%s", ctx.Err().Error())
	}
}

// captures returns a match's captures: strings, or numbers for position captures.
func captures(src string, m *pm.MatchData) []lua.LValue {
	var out []lua.LValue
	for i := 2; i+1 < m.CaptureLength(); i += 2 {
		if m.IsPosCapture(i) {
			out = append(out, lua.LNumber(m.Capture(i)))
			continue
		}
		out = append(out, lua.LString(src[m.Capture(i):m.Capture(i+1)]))
	}
	return out
}

// expand writes a replacement string: %0 is the whole match, %1..%9 the captures, %% a
// percent sign, and % before any other character that character.
func expand(L *lua.LState, out *strings.Builder, repl, whole string, caps []lua.LValue) {
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '%' || i+1 == len(repl) {
			out.WriteByte(c)
			continue
		}
		i++
		d := repl[i]
		switch {
		case d == '0':
			out.WriteString(whole)
		case d >= '1' && d <= '9':
			n := int(d - '0')
			switch {
			case n <= len(caps):
				out.WriteString(lua.LVAsString(caps[n-1]))
			case n == 1 && len(caps) == 0:
				out.WriteString(whole)
			default:
				L.RaiseError("invalid capture index")
			}
		default:
			out.WriteByte(d)
		}
	}
}

func replaceWith(L *lua.LState, out *strings.Builder, v lua.LValue, whole string) {
	switch x := v.(type) {
	case *lua.LNilType:
		out.WriteString(whole)
	case lua.LBool:
		if !x {
			out.WriteString(whole)
			return
		}
		L.RaiseError("invalid replacement value (a boolean)")
	case lua.LString, lua.LNumber:
		out.WriteString(x.String())
	default:
		L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	}
}
