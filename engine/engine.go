// Package engine is the Lua host of pixels: it discovers scripts (the built-in verbs and the
// user's), declares their commands without side effects, turns those declarations into
// command-line verbs, and runs a verb's Lua with its flags, cleanups, events, parallelism and
// rendered result. It knows nothing about containers: the pixels module's domain functions
// come from Options.Module.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	lua "github.com/yuin/gopher-lua"
)

// Options configure an Engine.
type Options struct {
	Name        string // program name, "pixels"
	Version     string
	Builtins    fs.FS  // the shipped verbs, *.lua at its root
	Examples    fs.FS  // example recipes `pixels run NAME` finds, *.lua at its root
	ScriptsDir  string // the user's scripts, with lib/ for modules
	InitFile    string // run before every command when it exists
	Module      func(rt *Runtime, mod *lua.LTable)
	Features    []string       // what px.has answers true for
	GlobalFlags []cli.Flag     // the embedding program's flags (connection, config)
	Commands    []*cli.Command // verbs written in Go
	// Before sees the parsed global flags before any verb runs.
	Before    func(c *cli.Context, out Output) error
	Stdin     io.Reader
	Stdout    io.Writer
	Stderr    io.Writer
	StdoutTTY bool
	StderrTTY bool
	// Complete lists candidates of a kind ("container") for shell completion; it must be
	// fast and must not contact TrueNAS.
	Complete func(kind string, positional []string) []string
	// TestWorld makes the fresh simulator world of each script test.
	TestWorld TestWorld
	// Stubs returns the LuaLS stubs of the pixels module, for `pixels script types`.
	Stubs func() string
	// CacheDir keeps the declaration cache; "" disables it.
	CacheDir string
	// DeclareTimeout bounds loading one script for its declaration.
	DeclareTimeout time.Duration
}

// Engine hosts the scripts of one program run.
type Engine struct {
	opts          Options
	out           Output
	specs         []*CommandSpec
	tree          *node
	warnings      []string
	warningsShown bool
	timeout       time.Duration // the global --timeout, bounding the whole verb
}

// source is one Lua file: embedded or on disk.
type source struct {
	display string // what messages show, e.g. "builtin/create.lua" or a path
	read    func() ([]byte, error)
	builtin bool
}

// New makes an engine. It does not load anything yet.
func New(opts Options) *Engine {
	if opts.DeclareTimeout == 0 {
		opts.DeclareTimeout = 2 * time.Second
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	return &Engine{opts: opts, tree: newNode("")}
}

func (e *Engine) features() []string { return e.opts.Features }

// builtinSources lists the embedded verbs.
func (e *Engine) builtinSources() []source {
	var out []source
	if e.opts.Builtins == nil {
		return nil
	}
	names, _ := fs.Glob(e.opts.Builtins, "*.lua")
	sort.Strings(names)
	for _, n := range names {
		if strings.HasSuffix(n, "_test.lua") {
			continue
		}
		n := n
		out = append(out, source{display: "builtin/" + n, builtin: true,
			read: func() ([]byte, error) { return fs.ReadFile(e.opts.Builtins, n) }})
	}
	return out
}

// userSources lists the top-level *.lua files of the scripts dir, except init.lua and tests.
func (e *Engine) userSources() []source {
	if e.opts.ScriptsDir == "" {
		return nil
	}
	entries, err := os.ReadDir(e.opts.ScriptsDir)
	if err != nil {
		return nil
	}
	var out []source
	for _, ent := range entries {
		n := ent.Name()
		if ent.IsDir() || !strings.HasSuffix(n, ".lua") || n == "init.lua" ||
			strings.HasSuffix(n, "_test.lua") {
			continue
		}
		p := filepath.Join(e.opts.ScriptsDir, n)
		out = append(out, source{display: p,
			read: func() ([]byte, error) { return os.ReadFile(p) }})
	}
	return out
}

// declare loads every script in a fresh, side-effect-free state and collects its command.
// Problems with user scripts become warnings (one broken script must not break pixels);
// problems with built-ins are errors.
func (e *Engine) declare(ctx context.Context) error {
	taken := map[string]*CommandSpec{"run": runSpec}
	cache := openDeclCache(e.opts.CacheDir)
	seen := map[string]bool{}
	defer func() { cache.save(seen) }()
	for _, src := range append(e.builtinSources(), e.userSources()...) {
		spec, err := e.declareCached(ctx, src, cache, seen)
		if err == nil && spec == nil {
			continue
		}
		if err == nil {
			if prev, ok := taken[spec.Name]; ok {
				switch {
				case prev.Builtin && !spec.Builtin && !spec.Override:
					err = fmt.Errorf("%s: command %q is a built-in verb (set override = true "+
						"to replace it)", src.display, spec.Name)
				case prev.Builtin == spec.Builtin:
					err = fmt.Errorf("%s: command %q is already declared by %s", src.display,
						spec.Name, prev.Source)
				}
			}
		}
		if err != nil {
			if src.builtin {
				return fmt.Errorf("declaring %s: %w", src.display, err)
			}
			e.warnings = append(e.warnings, err.Error())
			continue
		}
		taken[spec.Name] = spec
	}
	e.specs = e.specs[:0]
	for _, s := range taken {
		e.specs = append(e.specs, s)
	}
	sort.Slice(e.specs, func(i, j int) bool { return e.specs[i].Name < e.specs[j].Name })
	for _, s := range e.specs {
		e.tree.add(s)
	}
	return nil
}

// declareCached is declareOne through the declaration cache.
func (e *Engine) declareCached(ctx context.Context, src source, cache *declCache,
	seen map[string]bool) (*CommandSpec, error) {
	code, err := src.read()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", src.display, err)
	}
	key := declKey(src.display, code)
	seen[key] = true
	if d, ok := cache.get(key); ok {
		if d.Problem != "" {
			return nil, errors.New(d.Problem)
		}
		if d.Spec == nil {
			return nil, nil
		}
		spec := fromCached(d.Spec)
		spec.Source, spec.Builtin, spec.file = src.display, src.builtin, src
		return spec, nil
	}
	spec, err := e.declareOne(ctx, src)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			cache.put(key, cachedDecl{Problem: err.Error()})
		}
	case spec == nil:
		cache.put(key, cachedDecl{})
	default:
		cache.put(key, cachedDecl{Spec: toCached(spec)})
	}
	return spec, err
}

// declareOne runs one file in declaration mode and returns its spec, or nil when the file
// declares no command.
func (e *Engine) declareOne(ctx context.Context, src source) (*CommandSpec, error) {
	dctx, cancel := context.WithTimeout(ctx, e.opts.DeclareTimeout)
	defer cancel()
	rt := e.newRuntime(dctx, true)
	defer rt.Close()
	rt.gil.Lock()
	defer rt.gil.Unlock()
	tbl, err := rt.loadFile(src)
	if err != nil {
		return nil, err
	}
	if tbl == nil {
		return nil, nil
	}
	spec, _, err := parseSpec(tbl)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.display, err)
	}
	spec.Source = src.display
	spec.Builtin = src.builtin
	spec.file = src
	if spec.Requires != "" && !versionRe.MatchString(spec.Requires) {
		return nil, fmt.Errorf("%s: requires %q is not a version like \"1.0\"", src.display,
			spec.Requires)
	}
	if spec.Requires != "" && !versionAtLeast(APIVersion, spec.Requires) {
		return nil, fmt.Errorf("%s: needs pixels API %s, this pixels has %s (upgrade pixels)",
			src.display, spec.Requires, APIVersion)
	}
	return spec, nil
}

// loadFile runs src and returns the command table it returned, or nil.
func (rt *Runtime) loadFile(src source) (*lua.LTable, error) {
	code, err := src.read()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", src.display, err)
	}
	fn, err := rt.L.Load(strings.NewReader(string(code)), src.display)
	if err != nil {
		return nil, &Error{Code: CodeScript, Message: syntaxMessage(src.display, err)}
	}
	rt.L.Push(fn)
	if err := rt.L.PCall(0, 1, nil); err != nil {
		return nil, rt.wrapLuaErr(err)
	}
	ret := rt.L.Get(-1)
	rt.L.Pop(1)
	t, ok := ret.(*lua.LTable)
	if !ok || rt.L.GetMetatable(t) != rt.L.GetTypeMetatable(commandMetaKey) {
		return nil, nil
	}
	return t, nil
}

// wrapLuaErr converts a Lua failure, recognising cancellation.
func (rt *Runtime) wrapLuaErr(err error) *Error {
	e := FromLua(err)
	if ctxErr := rt.ctx.Err(); ctxErr != nil && e.Code != codeExit {
		if cause := context.Cause(rt.ctx); errors.Is(cause, errHeapLimit) {
			e.Code = CodeInvalid
			e.Message = "script stopped: " + cause.Error()
		} else if errors.Is(ctxErr, context.DeadlineExceeded) {
			e.Code = CodeTimeout
			if rest, ok := strings.CutSuffix(e.Message, "context deadline exceeded"); ok {
				// The VM stopped at the deadline. A built-in's line means nothing to
				// users; a script's says where it was.
				if strings.HasPrefix(rest, "builtin/") {
					rest = ""
				}
				e.Message = rest + "the --timeout deadline passed"
			}
			if !strings.Contains(e.Message, "timed out") {
				e.Message = "timed out: " + e.Message
			}
		} else {
			e.Code = CodeInterrupted
			e.Message = "interrupted"
		}
	}
	return e
}

func versionAtLeast(have, want string) bool {
	hp := strings.Split(have, ".")
	wp := strings.Split(want, ".")
	for i := 0; i < len(wp); i++ {
		var h, w int
		if i < len(hp) {
			fmt.Sscan(hp[i], &h)
		}
		fmt.Sscan(wp[i], &w)
		if h != w {
			return h > w
		}
	}
	return true
}

// Warnings are the problems found with user scripts while declaring, unless a verb already
// reported them (script check).
func (e *Engine) Warnings() []string {
	if e.warningsShown {
		return nil
	}
	return e.warnings
}

var versionRe = regexp.MustCompile(`^\d+(\.\d+)*$`)

var eofRe = regexp.MustCompile(`at EOF:\s*(.*)`)

var syntaxRe = regexp.MustCompile(`line:(\d+)\(column:(\d+)\) near '(.*)':\s*(.*)`)

// syntaxMessage turns gopher-lua's compile error into "file:line: message near 'x'".
func syntaxMessage(file string, err error) string {
	msg := strings.TrimSpace(err.Error())
	if m := syntaxRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s:%s: %s near '%s'", file, m[1], strings.TrimSpace(m[4]), m[3])
	}
	if m := eofRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s: %s at the end of the file (an unclosed block or string?)",
			file, strings.TrimSpace(m[1]))
	}
	return msg
}

// Specs returns the declared commands, sorted by name.
func (e *Engine) Specs() []*CommandSpec { return e.specs }

// findScript resolves the FILE of `pixels run FILE`: a path, then the scripts dir, then
// the embedded examples.
func (e *Engine) findScript(name string) (source, error) {
	if st, err := os.Stat(name); err == nil && !st.IsDir() {
		return source{display: name, read: func() ([]byte, error) { return os.ReadFile(name) }}, nil
	}
	if !strings.ContainsRune(name, os.PathSeparator) && e.opts.ScriptsDir != "" {
		// As with the examples, the .lua may be left out.
		for _, n := range []string{name, name + ".lua"} {
			p := filepath.Join(e.opts.ScriptsDir, n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return source{display: p, read: func() ([]byte, error) { return os.ReadFile(p) }},
					nil
			}
		}
	}
	if e.opts.Examples != nil && path.Base(name) == name {
		for _, n := range []string{name, name + ".lua"} {
			if _, err := fs.Stat(e.opts.Examples, n); err == nil {
				n := n
				return source{display: "scripts/" + n, read: func() ([]byte, error) {
					return fs.ReadFile(e.opts.Examples, n)
				}}, nil
			}
		}
	}
	return source{}, &Error{Code: CodeNotFound, Target: name, Message: fmt.Sprintf(
		"running %s: no such file here, in %s, or among the examples", name, e.opts.ScriptsDir)}
}
