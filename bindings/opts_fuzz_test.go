package bindings

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// optSeeds are option tables as recipes write them, good and bad, for the functions that
// take options. Each is a Lua expression evaluated in a real state.
var optSeeds = []struct{ fn, src string }{
	{"create", `{name = "dev", image = "debian/12", cpu = 2, memory = "2GiB", wait = "ssh"}`},
	{"create", `{memory = "512MiB", disk = "10G", env = {FOO = "bar", N = 3}, dns = {"1.1.1.1"}}`},
	{"create", `{timeout = "90s", from = "dev@base"}`},
	{"create", `{memory = "16MiB"}`},
	{"create", `{memory = 2048}`},
	{"create", `{cpu = 1.5}`},
	{"create", `{cpu = 0/0}`},
	{"create", `{cpu = 1e308 * 10}`},
	{"create", `{wait = "soon"}`},
	{"create", `{imgae = "debian/12"}`},
	{"create", `{[1] = "dev"}`},
	{"create", `{env = {[1] = "x"}}`},
	{"create", `{env = {A = {}}}`},
	{"create", `{dns = {"a", 2}}`},
	{"create", `{timeout = "forever"}`},
	{"create", `setmetatable({}, {__index = function() error("boom") end})`},
	{"list", `{status = "RUNNING", prefix = "px"}`},
	{"start", `{wait = "network", timeout = "1m"}`},
	{"stop", `{force = true, timeout = "10s"}`},
	{"stop", `{force = "yes"}`},
	{"destroy", `{force = true, missing_ok = true}`},
	{"exec", `{env = {PATH = "/bin"}, cwd = "/tmp", user = "nobody", stdin = "hi", check = true}`},
	{"exec", `{stream = function(line, which) end, tty = false, timeout = "5s"}`},
	{"exec", `{stdin = true, stream = true}`},
	{"exec", `{stdin = 4, stream = "yes"}`},
	{"write_file", `{mode = "0600", owner = "1000:1000"}`},
	{"console", `{shell = "/bin/sh"}`},
	{"checkpoint", `{label = "base"}`},
	{"restore", `{force = true}`},
	{"create", `"dev"`},
	{"create", `nil`},
	{"create", `42`},
}

// FuzzDecodeOptions builds option tables from fuzz input in a real gopher-lua state and
// hands them to decode, then to every accessor: the host must never panic; each table is
// either accepted or refused with a pixels error raised in Lua.
func FuzzDecodeOptions(f *testing.F) {
	for _, s := range optSeeds {
		f.Add(s.fn, s.src, []byte(nil))
	}
	f.Add("exec", "", []byte{1, 'e', 'n', 'v', 6, 3, 'x', 2, 7})
	f.Add("create", "", []byte{1, 'm', 'e', 'm', 'o', 'r', 'y', 3, '1', 'e', '9'})
	f.Fuzz(func(t *testing.T, fn, src string, shape []byte) {
		if lookup(fn) == nil {
			fn = API[len(fn)%len(API)].Name
		}
		L := fuzzState()
		defer L.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		L.SetContext(ctx)

		arg := lua.LValue(lua.LNil)
		if src != "" {
			fnc, err := L.LoadString("return " + src)
			if err != nil {
				return // not an expression: nothing reaches decode
			}
			L.Push(fnc)
			if L.PCall(0, 1, nil) != nil {
				return // the expression itself failed or ran too long
			}
			arg = L.Get(-1)
			L.Pop(1)
		} else {
			arg = tableFromBytes(L, shape, 0)
		}
		L.SetContext(context.Background())

		L.Push(L.NewFunction(func(L *lua.LState) int {
			o := decode(L, fn, 1)
			useAll(o, lookup(fn))
			return 0
		}))
		L.Push(arg)
		err := L.PCall(1, 0, nil)
		if err == nil {
			return
		}
		var ae *lua.ApiError
		if !errors.As(err, &ae) || ae.Type != lua.ApiErrorRun {
			t.Fatalf("px.%s options %q: not a Lua error: %v", fn, src, err)
		}
		et, ok := ae.Object.(*lua.LTable)
		if !ok {
			t.Fatalf("px.%s options %q: raised %s, want a pixels error table", fn, src,
				ae.Object.Type())
		}
		if msg := et.RawGetString("message").String(); !strings.Contains(msg, "px."+fn) {
			t.Errorf("px.%s options %q: message %q does not name the function", fn, src, msg)
		}
	})
}

// fuzzState is a Lua state with the libraries that cannot touch the machine.
func fuzzState() *lua.LState {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 64,
		RegistrySize: 1024, RegistryMaxSize: 64 * 1024})
	for name, open := range map[string]lua.LGFunction{lua.BaseLibName: lua.OpenBase,
		lua.TabLibName: lua.OpenTable, lua.MathLibName: lua.OpenMath} {
		L.Push(L.NewFunction(open))
		L.Push(lua.LString(name))
		L.Call(1, 0)
	}
	for _, g := range []string{"dofile", "loadfile", "require", "module", "collectgarbage"} {
		L.SetGlobal(g, lua.LNil)
	}
	return L
}

// tableFromBytes reads a table from a compact byte shape: a count of entries, then per
// entry a key and a value, each a tag byte and its payload. Tags: 0 nil, 1 string (length
// byte, bytes), 2 small integer, 3 number parsed from a string, 4 true, 5 false, 6 nested
// table, 7 function, 8 NaN, 9 infinity. Running out of bytes ends the table early.
func tableFromBytes(L *lua.LState, b []byte, depth int) lua.LValue {
	r := &byteReader{b: b}
	return readTable(L, r, depth)
}

type byteReader struct {
	b []byte
	i int
}

func (r *byteReader) next() (byte, bool) {
	if r.i >= len(r.b) {
		return 0, false
	}
	r.i++
	return r.b[r.i-1], true
}

func readTable(L *lua.LState, r *byteReader, depth int) lua.LValue {
	t := L.NewTable()
	n, ok := r.next()
	for range int(n % 16) {
		if !ok {
			break
		}
		k := readValue(L, r, depth)
		v := readValue(L, r, depth)
		if k == lua.LNil {
			continue
		}
		if kn, isNum := k.(lua.LNumber); isNum && math.IsNaN(float64(kn)) {
			continue // Lua refuses NaN keys
		}
		t.RawSet(k, v)
	}
	return t
}

func readValue(L *lua.LState, r *byteReader, depth int) lua.LValue {
	tag, ok := r.next()
	if !ok {
		return lua.LNil
	}
	switch tag % 10 {
	case 1, 3:
		n, _ := r.next()
		end := min(r.i+int(n%32), len(r.b))
		s := string(r.b[r.i:end])
		r.i = end
		if tag%10 == 3 {
			if num, err := parseNumber(s); err == nil {
				return num
			}
		}
		return lua.LString(s)
	case 2:
		n, _ := r.next()
		return lua.LNumber(int8(n))
	case 4:
		return lua.LTrue
	case 5:
		return lua.LFalse
	case 6:
		if depth > 3 {
			return L.NewTable()
		}
		return readTable(L, r, depth+1)
	case 7:
		return L.NewFunction(func(*lua.LState) int { return 0 })
	case 8:
		return lua.LNumber(math.NaN())
	case 9:
		return lua.LNumber(math.Inf(1))
	}
	return lua.LNil
}

func parseNumber(s string) (lua.LNumber, error) {
	f, err := strconv.ParseFloat(s, 64)
	return lua.LNumber(f), err
}

// useAll reads every decoded option through the accessor its type uses.
func useAll(o *opts, spec *Function) {
	for _, opt := range spec.Options {
		switch opt.Type {
		case "string", "stdin":
			_ = o.str(opt.Name, "")
		case "int":
			_ = o.integer(opt.Name, 0)
		case "bool", "stream":
			_ = o.boolean(opt.Name)
		case "duration":
			_ = o.duration(opt.Name, 0)
		case "size":
			if s := o.str(opt.Name, ""); s != "" {
				_, _ = ParseSize(s)
			}
		case "map":
			_ = o.stringMap(opt.Name)
		case "strings":
			_ = o.strings(opt.Name)
		}
		_ = o.has(opt.Name)
	}
}
