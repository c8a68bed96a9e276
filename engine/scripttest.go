package engine

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	luar "layeh.com/gopher-luar"
)

// TestWorld makes a fresh world for one script test: a module hook bound to its own
// simulator, and the cleanup that removes it.
type TestWorld func(ctx context.Context) (module func(rt *Runtime, mod *lua.LTable),
	cleanup func(), err error)

// T is the `t` a test_* function receives. Bound with gopher-luar: every method is callable
// from Lua as t:eq(...), t:ok(...) and so on.
type T struct {
	Name     string `luar:"name"`
	failures []string
	logs     []string
	skipped  string
	run      func(ctx context.Context, args []string) (string, string, error)
}

// Run runs a pixels verb in-process against the test's simulator, e.g.
// t:run("create", "dev", "--image", "debian/12"), and returns {ok, error, stdout, stderr}
// where error is the error code when the verb failed.
func (t *T) Run(L *luar.LState) int {
	var args []string
	for i := 1; i <= L.GetTop(); i++ {
		args = append(args, L.CheckString(i))
	}
	stdout, stderr, err := t.run(L.Context(), args)
	res := L.NewTable()
	res.RawSetString("ok", lua.LBool(err == nil))
	if err != nil {
		res.RawSetString("error", lua.LString(CodeOf(err)))
		stderr += err.Error() + "\n"
	}
	res.RawSetString("stdout", lua.LString(stdout))
	res.RawSetString("stderr", lua.LString(stderr))
	L.Push(res)
	return 1
}

type skipSignal struct{}

func (t *T) where(L *luar.LState) string {
	return callerWhere(L.LState)
}

// Eq records a failure unless got equals want (tables compare by content).
func (t *T) Eq(L *luar.LState) int {
	got, want := L.Get(1), L.Get(2)
	if !reflect.DeepEqual(ToGo(got), ToGo(want)) {
		t.failures = append(t.failures, fmt.Sprintf("%s %sgot %s, want %s", t.where(L),
			msgPrefix(L, 3), show(got), show(want)))
	}
	return 0
}

// Ok records a failure unless v is truthy.
func (t *T) Ok(L *luar.LState) int {
	if !lua.LVAsBool(L.Get(1)) {
		t.failures = append(t.failures, fmt.Sprintf("%s %snot ok: %s", t.where(L),
			msgPrefix(L, 2), show(L.Get(1))))
	}
	return 0
}

// Fails calls fn and records a failure unless it raises (with code, when given). It returns
// the error raised.
func (t *T) Fails(L *luar.LState) int {
	fn := L.CheckFunction(1)
	code := L.OptString(2, "")
	err := L.CallByParam(lua.P{Fn: fn, NRet: 0, Protect: true})
	if err == nil {
		t.failures = append(t.failures, fmt.Sprintf("%s expected an error, got none", t.where(L)))
		L.Push(lua.LNil)
		return 1
	}
	e := FromLua(err)
	if code != "" && e.Code != code {
		t.failures = append(t.failures, fmt.Sprintf("%s expected error code %q, got %q (%s)",
			t.where(L), code, e.Code, e.Message))
	}
	L.Push(errorTable(L.LState, e))
	return 1
}

// Skip ends the test as skipped.
func (t *T) Skip(L *luar.LState) int {
	t.skipped = L.OptString(1, "skipped")
	L.Error(lua.LString(skipMarker), 0)
	return 0
}

// Log records a line shown when the test fails.
func (t *T) Log(L *luar.LState) int {
	t.logs = append(t.logs, formatArgs(L.LState))
	return 0
}

const skipMarker = "\x00pixels-skip"

func msgPrefix(L *luar.LState, idx int) string {
	if s, ok := L.Get(idx).(lua.LString); ok && s != "" {
		return string(s) + ": "
	}
	return ""
}

func show(v lua.LValue) string {
	if s, ok := v.(lua.LString); ok {
		return fmt.Sprintf("%q", string(s))
	}
	if t, ok := v.(*lua.LTable); ok {
		b := &strings.Builder{}
		_ = Render(b, ToGo(t), Output{JSON: true})
		return strings.Join(strings.Fields(b.String()), " ")
	}
	return v.String()
}

// TestResult counts a test run.
type TestResult struct{ Passed, Failed, Skipped int }

// testFiles lists *_test.lua files under paths (files or directories).
func testFiles(paths []string) ([]source, error) {
	var out []source
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, &Error{Code: CodeNotFound, Message: fmt.Sprintf("script test: %v", err)}
		}
		if !st.IsDir() {
			out = append(out, diskSource(p))
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(p, "*_test.lua"))
		sort.Strings(matches)
		for _, m := range matches {
			out = append(out, diskSource(m))
		}
	}
	return out, nil
}

// FSTestFiles lists the *_test.lua files of an embedded tree, for go test to run the
// built-in and example scripts' tests.
func FSTestFiles(fsys fs.FS, prefix string) []source {
	names, _ := fs.Glob(fsys, "*_test.lua")
	sort.Strings(names)
	var out []source
	for _, n := range names {
		n := n
		out = append(out, source{display: prefix + n, read: func() ([]byte, error) {
			return fs.ReadFile(fsys, n)
		}})
	}
	return out
}

// RunTests runs every test_* function of files, each in a fresh world, printing one line a
// test and a closing "N passed, N failed" line to w.
func (e *Engine) RunTests(ctx context.Context, files []source, world TestWorld,
	w io.Writer) TestResult {
	var res TestResult
	for _, src := range files {
		names, err := e.testNames(ctx, src)
		if err != nil {
			res.Failed++
			fmt.Fprintf(w, "FAIL %s: %v\n", src.display, err)
			continue
		}
		for _, name := range names {
			start := time.Now()
			t, err := e.runTest(ctx, src, name, world)
			d := time.Since(start).Round(time.Millisecond)
			switch {
			case err != nil:
				res.Failed++
				fmt.Fprintf(w, "FAIL %s %s (%s)\n    %v\n", src.display, name, d, err)
			case t.skipped != "":
				res.Skipped++
				fmt.Fprintf(w, "skip %s %s: %s\n", src.display, name, t.skipped)
			case len(t.failures) > 0:
				res.Failed++
				fmt.Fprintf(w, "FAIL %s %s (%s)\n", src.display, name, d)
				for _, f := range append(t.failures, t.logs...) {
					fmt.Fprintf(w, "    %s\n", f)
				}
			default:
				res.Passed++
				fmt.Fprintf(w, "ok   %s %s (%s)\n", src.display, name, d)
			}
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", res.Passed, res.Failed, res.Skipped)
	return res
}

// testNames loads src without side effects and lists its test_* functions.
func (e *Engine) testNames(ctx context.Context, src source) ([]string, error) {
	rt := e.newRuntimeWith(ctx, true, nil)
	defer rt.Close()
	rt.gil.Lock()
	defer rt.gil.Unlock()
	rt.L.SetGlobal("px", rt.module)
	if _, err := rt.loadFile(src); err != nil {
		return nil, err
	}
	var names []string
	rt.L.G.Global.ForEach(func(k, v lua.LValue) {
		if s, ok := k.(lua.LString); ok && strings.HasPrefix(string(s), "test_") &&
			v.Type() == lua.LTFunction {
			names = append(names, string(s))
		}
	})
	sort.Strings(names)
	return names, nil
}

func (e *Engine) runTest(ctx context.Context, src source, name string,
	world TestWorld) (*T, error) {
	module, cleanup, err := world(ctx)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rt := e.newRuntimeWith(ctx, false, module)
	defer rt.Close()
	rt.gil.Lock()
	defer rt.gil.Unlock()
	rt.L.SetGlobal("px", rt.module)
	if _, err := rt.loadFile(src); err != nil {
		return nil, err
	}
	t := &T{Name: name, run: func(ctx context.Context, args []string) (string, string, error) {
		var out, errb strings.Builder
		sub := New(e.opts)
		sub.opts.Module = module
		sub.opts.Stdout, sub.opts.Stderr = &out, &errb
		sub.opts.Stdin = strings.NewReader("")
		var err error
		rt.Block(func() { err = sub.Run(ctx, args) })
		return out.String(), errb.String(), err
	}}
	_, runErr := rt.pcall(rt.L.GetGlobal(name), luar.New(rt.L, t))
	cleanupErr := rt.runCleanups(runErr != nil)
	if runErr != nil && !strings.Contains(runErr.Message, skipMarker) {
		return t, runErr
	}
	return t, cleanupErr
}
