package sim

// The sandboxed shell: scripts run in mvdan.cc/sh/v3/interp with every file handler
// (open, stat, lstat, readdir, access) and every program (exec) resolved through the box's
// os.Root. Nothing here starts a host process; the interpreter's few direct host look-ups
// (PATH searches of type/command -v, pwd -P, fifos for process substitution) are rerouted or
// refused before they happen.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// RunIO is what a script reads and writes. Stdin may be nil (empty input); Env entries are
// "K=V" and override the box's defaults; TTY turns "\n" into "\r\n" on output, as a terminal's
// line discipline would.
type RunIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Env            []string
	TTY            bool
}

// defaultPath is the PATH a root login on a Debian-like container starts with.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// internalName marks a command the call handler rerouted to one of our tools; no shell word
// can contain a NUL byte, so a script cannot name these directly.
const internalName = "\x00"

// runState is shared by one Run and every nested sh it starts.
type runState struct {
	box *Box

	mu         sync.Mutex
	lastSignal string // signal that ended the most recent nested sh, cleared by each command
}

// Run runs a POSIX sh script, as an SSH exec request carries it, inside the box. status is
// 0..255; signal names the signal ("KILL") when the script killed itself, in which case
// status is 128+N; a client's SSH "signal" request (which the server turns into the ctx's
// cancel cause) ends the script that way too. err reports only sandbox failures and
// cancellation, never a non-zero exit.
// Run does not wait for rio.Stdin to be drained.
func (b *Box) Run(ctx context.Context, script string, rio RunIO) (int, string, error) {
	if err := b.record(script); err != nil {
		return 0, "", fmt.Errorf("running script: %w", err)
	}

	return b.runUnrecorded(ctx, script, rio)
}

// runUnrecorded is Run without the command log entry, for callers that log their own.
func (b *Box) runUnrecorded(ctx context.Context, script string, rio RunIO) (int, string, error) {
	stdout, stderr := orDiscard(rio.Stdout), orDiscard(rio.Stderr)
	if rio.TTY {
		stdout, stderr = &crlfWriter{w: stdout}, &crlfWriter{w: stderr}
	}

	file, err := parseScript(script, "sh")
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 2, "", nil
	}

	stdin, release, err := stdinFile(rio.Stdin)
	if err != nil {
		return 0, "", fmt.Errorf("running script: %w", err)
	}
	defer release()

	dir := "/root"
	if _, err := b.statAt("/", "/root", true); err != nil {
		dir = "/"
	}
	st := &runState{box: b}
	env := append(b.defaultEnv(), rio.Env...)
	status, err := st.run(ctx, file, env, dir, nil, stdin, stdout, stderr)

	var killed *killedError
	switch {
	case errors.As(err, &killed), errors.As(context.Cause(ctx), &killed):
		return 128 + killed.num, killed.name, nil
	case err != nil:
		return status, "", fmt.Errorf("running script: %w", err)
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	if num, ok := signalNumber(st.lastSignal); ok && status == 128+num {
		return status, st.lastSignal, nil
	}

	return status, "", nil
}

// defaultEnv is the environment of a root login in the box.
func (b *Box) defaultEnv() []string {
	return []string{
		"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/bash",
		"PATH=" + defaultPath, "HOSTNAME=" + b.hostname, "LANG=C.UTF-8",
		"UID=0", "EUID=0", "GID=0", // else the interpreter fills in the host's ids
	}
}

// parseScript parses src as bash (a superset of what recipes send as sh) and refuses the
// constructs the sandbox cannot honour without touching the host.
func parseScript(src, name string) (*syntax.File, error) {
	parser := syntax.NewParser(syntax.Variant(syntax.LangBash))
	file, err := parser.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}

	var bad error
	syntax.Walk(file, func(n syntax.Node) bool {
		if _, ok := n.(*syntax.ProcSubst); ok && bad == nil {
			// The interpreter makes and opens a host fifo for these, outside every handler;
			// a sandboxed program could never open its path, and the writer would hang.
			bad = fmt.Errorf("%s: %s: process substitution is not supported in the simulator",
				name, n.Pos())
		}
		return bad == nil
	})

	return file, bad
}

// run runs one parsed script in a fresh interpreter, returning its exit status. A
// *killedError, cancellation or sandbox failure comes back as err.
func (st *runState) run(ctx context.Context, file *syntax.File, env []string, dir string,
	params []string, stdin *os.File, stdout, stderr io.Writer) (int, error) {
	r, err := st.newRunner(env, dir, params, stdin, stdout, stderr)
	if err != nil {
		return 0, err
	}

	ctx, lvl := newLevel(ctx)
	defer lvl.cancel()
	status, err := statusOf(ctx, r.Run(ctx, file))
	if killed := lvl.killedBy(); killed != nil {
		return 128 + killed.num, killed
	}

	return status, err
}

// level is one shell process as the script sees it: everything sharing one $$, subshells
// and command substitutions included. kill $$ cancels the level, like a signal ending that
// process and everything it was running.
type level struct {
	cancel context.CancelFunc

	mu     sync.Mutex
	killed *killedError
}

// levelKey finds the innermost level in a context.
type levelKey struct{}

// newLevel starts a level below ctx.
func newLevel(ctx context.Context) (context.Context, *level) {
	ctx, cancel := context.WithCancel(ctx)
	lvl := &level{cancel: cancel}

	return context.WithValue(ctx, levelKey{}, lvl), lvl
}

// kill ends the level with a signal; the first signal wins.
func (l *level) kill(k *killedError) {
	l.mu.Lock()
	if l.killed == nil {
		l.killed = k
	}
	l.mu.Unlock()
	l.cancel()
}

// killedBy returns the signal that ended the level, or nil.
func (l *level) killedBy() *killedError {
	l.mu.Lock()
	defer l.mu.Unlock()

	return l.killed
}

// newRunner builds an interpreter whose every handler goes through the box.
func (st *runState) newRunner(env []string, dir string, params []string, stdin *os.File,
	stdout, stderr io.Writer) (*interp.Runner, error) {
	fifos := filepath.Join(st.box.dir, "fifo")
	if err := os.MkdirAll(fifos, 0o700); err != nil {
		return nil, fmt.Errorf("starting interpreter: %w", err)
	}
	r, err := interp.New(
		interp.Env(expand.ListEnviron("TMPDIR="+fifos)),
		func(r *interp.Runner) error { r.Dir = dir; return nil }, // never stat the host
		interp.StdIO(stdin, stdout, stderr),
		interp.Params(append([]string{"--"}, params...)...),
		interp.OpenHandler(st.open),
		interp.StatHandler(st.statHandler),
		interp.ReadDirHandler2(st.readDir),
		interp.AccessHandler(st.access),
		interp.CallHandler(st.call),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return st.exec }),
	)
	if err != nil {
		return nil, fmt.Errorf("starting interpreter: %w", err)
	}

	// The interpreter creates the fifos of process substitution itself, with os calls, in
	// $TMPDIR as it was at its first reset. Pinning that to the box's own state directory
	// keeps a script's eval or source (which the parse-time check cannot see) from choosing
	// a host directory; the script's real environment comes in with the second reset.
	r.Reset()
	if err := interp.Env(expand.ListEnviron(env...))(r); err != nil {
		return nil, fmt.Errorf("starting interpreter: %w", err)
	}
	r.Reset()

	return r, nil
}

// statusOf turns what interp.Runner.Run returned into an exit status, passing on a
// *killedError, cancellation or sandbox failure as err.
func statusOf(ctx context.Context, err error) (int, error) {
	if status, ok := interp.IsExitStatus(err); ok {
		return int(status), nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return 130, ctx.Err()
		}
		return 1, err
	}

	return 0, nil
}

// call runs before every simple command, builtins included. It reroutes the builtins that
// would consult the host's PATH or file system to sandboxed versions, and refuses eval and
// source of code the parse-time check would have refused.
func (st *runState) call(ctx context.Context, args []string) ([]string, error) {
	st.mu.Lock()
	st.lastSignal = ""
	st.mu.Unlock()

	switch args[0] {
	case "pwd":
		return []string{"pwd"}, nil // -P would resolve symlinks on the host
	case "type", "kill", "which", "umask":
		return append([]string{internalName + args[0]}, args[1:]...), nil
	case "command":
		if len(args) > 1 && strings.HasPrefix(args[1], "-") {
			return append([]string{internalName + "command"}, args[1:]...), nil
		}
	case "eval":
		if _, err := parseScript(strings.Join(args[1:], " "), "eval"); err != nil {
			return []string{internalName + "refuse", err.Error()}, nil
		}
	case "source", ".":
		if len(args) > 1 && !strings.Contains(args[1], "/") {
			args = append([]string{args[0], "./" + args[1]}, args[2:]...) // no host PATH search
		}
		if len(args) > 1 {
			data, err := st.box.ReadFile(joinRaw(interp.HandlerCtx(ctx).Dir, args[1]))
			if _, perr := parseScript(string(data), args[1]); err == nil && perr != nil {
				return []string{internalName + "refuse", perr.Error()}, nil
			}
		}
	}

	return args, nil
}

// exec runs every command that is not a function or builtin, always as a built-in tool.
func (st *runState) exec(ctx context.Context, args []string) error {
	hc := interp.HandlerCtx(ctx)
	tc := &toolCtx{
		ctx: ctx, st: st, hc: &hc, dir: hc.Dir, env: exported(hc.Env),
		stdin: hc.Stdin, stdout: hc.Stdout, stderr: hc.Stderr,
	}

	return tc.dispatch(args)
}

// exported lists the exported variables of env as "K=V".
func exported(env expand.Environ) []string {
	var out []string
	env.Each(func(name string, vr expand.Variable) bool {
		if vr.Exported && vr.Set {
			out = append(out, name+"="+vr.String())
		}
		return true
	})

	return out
}

// stdinFile gives the interpreter an *os.File for in: in itself when it is one, else a pipe
// fed by a goroutine (an empty one for nil). release closes our read end, which ends the
// feeding goroutine at its next write.
func stdinFile(in io.Reader) (*os.File, func(), error) {
	if f, ok := in.(*os.File); ok {
		return f, func() {}, nil
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("creating stdin pipe: %w", err)
	}
	if in == nil {
		pw.Close()
		return pr, func() { pr.Close() }, nil
	}
	go func() {
		io.Copy(pw, in)
		pw.Close()
	}()

	return pr, func() { pr.Close() }, nil
}

// orDiscard replaces a nil writer by io.Discard.
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}

	return w
}

// crlfWriter turns "\n" into "\r\n", as a terminal in cooked mode shows output.
type crlfWriter struct {
	w io.Writer
}

// Write implements io.Writer, reporting len(p) when all of p went out.
func (c *crlfWriter) Write(p []byte) (int, error) {
	if _, err := c.w.Write([]byte(strings.ReplaceAll(string(p), "\n", "\r\n"))); err != nil {
		return 0, err
	}

	return len(p), nil
}
