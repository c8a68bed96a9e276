package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// fakeModule gives scripts a blocking host call and a line streamer, standing in for the
// container functions of bindings.
type fakeModule struct {
	inFlight, peak atomic.Int32
}

func (f *fakeModule) install(rt *Runtime, mod *lua.LTable) {
	rt.Register(mod, "nap", true, func(rt *Runtime, L *lua.LState) int {
		d := time.Duration(L.CheckNumber(1)) * time.Millisecond
		rt.Block(func() {
			n := f.inFlight.Add(1)
			for {
				p := f.peak.Load()
				if n <= p || f.peak.CompareAndSwap(p, n) {
					break
				}
			}
			select {
			case <-time.After(d):
			case <-rt.Context(L).Done():
			}
			f.inFlight.Add(-1)
		})
		if err := rt.Context(L).Err(); err != nil {
			Raise(L, &Error{Code: CodeInterrupted, Message: "nap interrupted"})
		}
		L.Push(lua.LString("rested"))
		return 1
	})
	rt.Register(mod, "boom", true, func(rt *Runtime, L *lua.LState) int {
		Raise(L, &Error{Code: CodeNotFound, Op: "px.boom", Target: L.CheckString(1),
			Message: "container \"" + L.CheckString(1) + "\" not found"})
		return 0
	})
}

type harness struct {
	stdout, stderr bytes.Buffer
	fake           *fakeModule
	eng            *Engine
	dir            string
}

func newHarness(t *testing.T, scripts map[string]string) *harness {
	t.Helper()
	dir := t.TempDir()
	for name, code := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{fake: &fakeModule{}, dir: dir}
	h.eng = New(Options{
		Name:       "pixels",
		Builtins:   fstest.MapFS{"lib/util.lua": {Data: []byte("return { twice = function(x) return x * 2 end }")}},
		ScriptsDir: dir,
		Module:     h.fake.install,
		Stdin:      strings.NewReader(""),
		Stdout:     &h.stdout,
		Stderr:     &h.stderr,
	})
	return h
}

func (h *harness) run(t *testing.T, args ...string) error {
	t.Helper()
	h.stdout.Reset()
	h.stderr.Reset()
	return h.eng.Run(context.Background(), args)
}

func TestParallelOverlapsBlockingCalls(t *testing.T) {
	h := newHarness(t, map[string]string{"fan.lua": `
local px = require("pixels")
return px.command { name = "fan", summary = "fan out", run = function()
  local items = {}
  for i = 1, 8 do items[i] = i end
  local res, errs = px.parallel(items, function(i)
    -- pcall around a blocking call inside parallel must not lose the item.
    local ok, v = pcall(px.nap, 50)
    assert(ok, v)
    if i == 3 then px.boom("c3") end
    return v .. i
  end, { limit = 4 })
  return { r1 = res[1], r8 = res[8], e3 = errs[3].code, n = #items, missing3 = res[3] == nil }
end }`})
	if err := h.run(t, "fan", "--json"); err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, h.stderr.String())
	}
	out := h.stdout.String()
	for _, want := range []string{`"r1": "rested1"`, `"r8": "rested8"`, `"e3": "not_found"`,
		`"missing3": true`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if p := h.fake.peak.Load(); p < 2 || p > 4 {
		t.Errorf("peak blocking calls in flight = %d, want 2..4 (limit 4)", p)
	}
}

func TestErrorsCarryCodeAndWhere(t *testing.T) {
	h := newHarness(t, map[string]string{
		"codes.lua": `
local px = require("pixels")
return px.command { name = "codes", summary = "x", run = function()
  local ok, err = pcall(px.boom, "dev")
  assert(not ok)
  print(err.code, err.target, err.op, tostring(err))
  px.boom("again")
end }`,
	})
	err := h.run(t, "codes")
	if got := h.stdout.String(); !strings.HasPrefix(got, "not_found\tdev\tpx.boom\t") ||
		!strings.Contains(got, "codes.lua:4:") {
		t.Errorf("pcall saw %q", got)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNotFound || !strings.Contains(e.Where, "codes.lua:7") {
		t.Fatalf("error = %#v, want not_found at codes.lua:7", err)
	}
}

func TestDeclarationRefusesSideEffects(t *testing.T) {
	h := newHarness(t, map[string]string{
		"eager.lua": `pixels.nap(10)
return pixels.command { name = "eager", summary = "x", run = function() end }`,
		"ok.lua": `return pixels.command { name = "fine", summary = "fine one", run = function() print("ran") end }`,
	})
	if err := h.run(t, "fine"); err != nil {
		t.Fatalf("run: %v", err)
	}
	if h.stdout.String() != "ran\n" {
		t.Errorf("stdout = %q", h.stdout.String())
	}
	warn := strings.Join(h.eng.Warnings(), "\n")
	if !strings.Contains(warn, "eager.lua:1:") || !strings.Contains(warn, "not allowed while declaring") {
		t.Errorf("warnings = %q", warn)
	}
	if h.fake.peak.Load() != 0 {
		t.Error("a host call ran while declaring")
	}
}

func TestSpecRefusals(t *testing.T) {
	cases := []struct {
		name, code, want string
	}{
		{"unknown key", `{ name = "a", summery = "x", run = function() end }`,
			`unknown key "summery" (did you mean "summary"?)`},
		{"bad flag type", `{ name = "a", flags = { { name = "n", type = "float" } }, run = function() end }`,
			`type "float" is not one of`},
		{"duplicate flag", `{ name = "a", flags = { { name = "n" }, { name = "n" } }, run = function() end }`,
			`declared twice`},
		{"no run", `{ name = "a" }`, `"run" must be a function`},
		{"bad default", `{ name = "a", flags = { { name = "n", type = "int", default = "x" } }, run = function() end }`,
			`default wants a number`},
		{"variadic not last", `{ name = "a", args = { { name = "x", variadic = true }, { name = "y" } }, run = function() end }`,
			`only the last argument`},
		{"requires newer", `{ name = "a", requires = "9.0", run = function() end }`,
			`needs pixels API 9.0`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, map[string]string{"s.lua": "return pixels.command " + tc.code})
			_ = h.run(t, "--help")
			warn := strings.Join(h.eng.Warnings(), "\n")
			if !strings.Contains(warn, tc.want) || !strings.Contains(warn, "s.lua") {
				t.Errorf("warnings = %q, want %q", warn, tc.want)
			}
		})
	}
}

func TestCmdMethodsAllCallable(t *testing.T) {
	// B25: every documented method of the bound cmd object works, on the object and on a
	// copy taken out of a list.
	h := newHarness(t, map[string]string{"m.lua": `
return pixels.command { name = "m", summary = "x",
  args = { { name = "who" } }, flags = { { name = "dry-run", type = "bool" } },
  run = function(cmd)
    local list = { cmd }
    local c = list[1]
    print(cmd:flag("dry-run"), cmd:arg("who"), c:flag("dry_run"), c:arg("who"), cmd.name, cmd.json)
    local ok, err = pcall(function() return cmd:nosuch() end)
    print(ok, tostring(err):match("m.lua:%d+") ~= nil)
  end }`})
	if err := h.run(t, "m", "bob", "--dry-run"); err != nil {
		t.Fatalf("run: %v %s", err, h.stderr.String())
	}
	want := "true\tbob\ttrue\tbob\tm\tfalse\nfalse\ttrue\n"
	if h.stdout.String() != want {
		t.Errorf("stdout = %q, want %q", h.stdout.String(), want)
	}
}

func TestCancelStopsBusyScript(t *testing.T) {
	h := newHarness(t, map[string]string{"spin.lua": `
return pixels.command { name = "spin", summary = "x", run = function()
  pixels.defer(function() print("cleanup ran") end)
  while true do end
end }`})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := h.eng.Run(ctx, []string{"spin"})
	if CodeOf(err) != CodeTimeout && CodeOf(err) != CodeInterrupted {
		t.Fatalf("err = %v (code %s), want timeout or interrupted", err, CodeOf(err))
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s to stop", time.Since(start))
	}
	if !strings.Contains(h.stdout.String(), "cleanup ran") {
		t.Errorf("cleanup did not run after cancel; stdout %q", h.stdout.String())
	}
}

func TestEventsVetoAndLibs(t *testing.T) {
	h := newHarness(t, map[string]string{"ev.lua": `
local util = require("pixels.util")
return pixels.command { name = "ev", summary = "x", run = function()
  pixels.on("pre_create", function(ev) return false, "not on fridays" end)
  print(util.twice(21))
end }`})
	if err := h.run(t, "ev"); err != nil {
		t.Fatalf("run: %v", err)
	}
	if h.stdout.String() != "42\n" {
		t.Errorf("stdout = %q", h.stdout.String())
	}
	rt := h.eng.newRuntime(context.Background(), false)
	defer rt.Close()
	rt.gil.Lock()
	defer rt.gil.Unlock()
	if err := rt.L.DoString(`pixels.on("pre_create", function(ev) return false, "nope" end)`); err != nil {
		t.Fatal(err)
	}
	e := rt.Emit(rt.L, "pre_create", rt.L.NewTable())
	if e == nil || !strings.Contains(e.Message, "nope") {
		t.Errorf("veto = %v", e)
	}
	err := rt.L.DoString(`pixels.on("pre_craete", function() end)`)
	if err == nil || !strings.Contains(FromLua(err).Message, `did you mean "pre_create"`) {
		t.Errorf("unknown event error = %v", err)
	}
}

func TestRunawayScriptsStop(t *testing.T) {
	cases := []struct {
		name, code, env string
		want            []string
		deadline        time.Duration // 0 = 3 s
	}{
		// B21: a long gsub with a Lua callback still honours the deadline.
		{"gsub past the deadline", `local s = string.rep("x", 2000000)
  while true do s:gsub("x", function(c) return c .. c end) end`, "",
			[]string{CodeTimeout}, 0},
		// The memory limit must stop it, however slowly a loaded machine (or the race
		// detector) lets it allocate: the deadline is only a backstop.
		{"runaway allocation", `local t = {}
  for i = 1, 1e9 do t[i] = string.rep("x", 100) .. i end`, "64",
			[]string{CodeInvalid}, 2 * time.Minute},
		{"deep recursion", `local function f(n) return f(n + 1) + 1 end
  f(1)`, "", []string{CodeScript}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("PIXELS_LUA_MEMORY_LIMIT", tc.env)
			}
			h := newHarness(t, map[string]string{"r.lua": "return pixels.command { name = " +
				"\"r\", summary = \"x\", run = function()\n  " + tc.code + "\nend }"})
			deadline := tc.deadline
			if deadline == 0 {
				deadline = 3 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			err := h.eng.Run(ctx, []string{"r"})
			if err == nil {
				t.Fatal("runaway script returned no error")
			}
			code := CodeOf(err)
			ok := false
			for _, w := range tc.want {
				ok = ok || code == w
			}
			t.Logf("stopped with %s: %v", code, err)
			if !ok {
				t.Errorf("code %s (%v), want one of %v", code, err, tc.want)
			}
			// A script that ignored its deadline would run on well past it.
			if d := time.Since(start); d > deadline+3*time.Second {
				t.Errorf("took %s to stop, past its %s deadline", d, deadline)
			}
		})
	}
}

// TestLargeStackUse runs ordinary code that needs more Lua stack than gopher-lua's fixed
// default: it must work, and going past the bound must be a script error, not a crash.
func TestLargeStackUse(t *testing.T) {
	h := newHarness(t, map[string]string{
		"ok.lua": `return pixels.command { name = "ok", summary = "x", run = function()
  local t = {}
  for i = 1, 50000 do t[i] = "x" end
  assert(#table.concat(t) == 50000)
  assert(select("#", unpack(t)) == 50000)
end }`,
		"over.lua": `return pixels.command { name = "over", summary = "x", run = function()
  local t = {}
  for i = 1, 2000000 do t[i] = i end
  return select("#", unpack(t))
end }`})
	if err := h.eng.Run(context.Background(), []string{"ok"}); err != nil {
		t.Errorf("concat and unpack of 50000 items = %v", err)
	}
	err := h.eng.Run(context.Background(), []string{"over"})
	if err == nil || CodeOf(err) != CodeScript {
		t.Errorf("unpack of 2e6 items = %v (code %s), want a script error", err, CodeOf(err))
	}
}
