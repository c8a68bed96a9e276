package bindings

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pixels-dev/pixels/engine"
	"github.com/pixels-dev/pixels/internal/ssh"
	"github.com/pixels-dev/pixels/internal/truenas"
	lua "github.com/yuin/gopher-lua"
	"regexp"
	"strconv"
)

// maxCapture bounds what px.exec keeps of one stream, so a chatty command cannot exhaust
// memory; the rest is dropped with a warning.
const maxCapture = 64 << 20

// resolve finds a running container's SSH address. TrueNAS is asked first: the cache is
// only valid for this machine, and a container another machine destroyed or rebuilt must
// not send us to a stale address.
func (m *module) resolve(rt *engine.Runtime, L *lua.LState, op, name string) string {
	b := m.backend(rt, L, op)
	var c *truenas.Container
	var err error
	rt.Block(func() { c, err = b.Get(rt.Context(L), Prefix+name) })
	if errors.Is(err, truenas.ErrNotFound) {
		m.forgetCache(name)
		raise(L, engine.CodeNotFound, op, name, "container %q not found", name)
	}
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("looking up container %q", name), err)
	}
	if c.Status != "RUNNING" {
		m.forgetCache(name)
		raise(L, engine.CodeInvalid, op, name, "container %q is %s (start it with: pixels start %s)",
			name, strings.ToLower(c.Status), name)
	}
	if len(c.IPv4) == 0 {
		raise(L, engine.CodeInvalid, op, name, "container %q has no IPv4 address yet "+
			"(wait with: px.wait(%q, {until = \"network\"}))", name, name)
	}
	m.remember(c)
	return m.addr(c)
}

func (m *module) sshClient(L *lua.LState, op, name string) *ssh.Client {
	cl, err := m.d.SSH()
	if err != nil {
		raiseErr(L, op, name, "setting up ssh", err)
	}
	return cl
}

// execArgv reads px.exec's command: a list of words, or a string for sh -c.
func execArgv(L *lua.LState, op string, idx int) []string {
	switch v := L.Get(idx).(type) {
	case lua.LString:
		return []string{"sh", "-c", string(v)}
	case *lua.LTable:
		var argv []string
		for i := 1; i <= v.Len(); i++ {
			w := v.RawGetInt(i)
			if w.Type() != lua.LTString && w.Type() != lua.LTNumber {
				raise(L, engine.CodeInvalid, op, "", "%s: command word %d wants a string, got %s",
					op, i, w.Type())
			}
			argv = append(argv, w.String())
		}
		if len(argv) == 0 {
			raise(L, engine.CodeInvalid, op, "", "%s: the command is empty", op)
		}
		return argv
	default:
		raise(L, engine.CodeInvalid, op, "", "%s: command wants a list of words or a string, got %s",
			op, L.Get(idx).Type())
	}
	return nil
}

type line struct {
	text, stream string
}

// lineWriter turns a byte stream into lines sent on ch.
type lineWriter struct {
	stream string
	ch     chan<- line
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.ch <- line{text: string(w.buf[:i]), stream: w.stream}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.ch <- line{text: string(w.buf), stream: w.stream}
		w.buf = nil
	}
}

// capBuffer keeps at most maxCapture bytes.
type capBuffer struct {
	bytes.Buffer
	dropped bool
}

func (b *capBuffer) Write(p []byte) (int, error) {
	room := maxCapture - b.Len()
	if room < len(p) {
		b.dropped = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// syncWriter serialises writes to a shared stream.
type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

var outMu sync.Mutex

func (m *module) exec(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.exec"
	name := argName(L, op, 1)
	argv := execArgv(L, op, 2)
	o := decode(L, "exec", 3)
	addr := m.resolve(rt, L, op, name)
	cl := m.sshClient(L, op, name)

	req := ssh.ExecRequest{Argv: argv, Env: o.stringMap("env"), Cwd: o.str("cwd", ""),
		TTY: o.boolean("tty")}
	if user := o.str("user", ""); user != "" && user != "root" {
		inner := argv
		if len(req.Env) > 0 {
			inner = append([]string{"env"}, envWords(req.Env)...)
			inner = append(inner, argv...)
			req.Env = nil
		}
		req.Argv = []string{"su", user, "-s", "/bin/sh", "-c", ssh.Quote(inner)}
	}
	switch v := o.vals["stdin"].(type) {
	case lua.LString:
		req.Stdin = strings.NewReader(string(v))
	case lua.LBool:
		if v {
			req.Stdin = rt.Stdin
		}
	}
	var stdout, stderr capBuffer
	req.Stdout, req.Stderr = &stdout, &stderr
	var lines chan line
	var outW, errW *lineWriter
	switch s := o.vals["stream"].(type) {
	case lua.LBool:
		if s {
			req.Stdout = io.MultiWriter(&stdout, syncWriter{&outMu, rt.Stdout})
			req.Stderr = io.MultiWriter(&stderr, syncWriter{&outMu, rt.Stderr})
		}
	case *lua.LFunction:
		lines = make(chan line, 256)
		outW, errW = &lineWriter{stream: "stdout", ch: lines}, &lineWriter{stream: "stderr", ch: lines}
		req.Stdout = io.MultiWriter(&stdout, outW)
		req.Stderr = io.MultiWriter(&stderr, errW)
	}

	ctx := rt.Context(L)
	if o.has("timeout") {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration("timeout", 0))
		defer cancel()
	}
	start := time.Now()
	var code int
	var err error
	if lines == nil {
		rt.Block(func() { code, err = cl.Exec(ctx, addr, req) })
	} else {
		done := make(chan struct{})
		go func() {
			defer close(done)
			code, err = cl.Exec(ctx, addr, req)
			outW.flush()
			errW.flush()
			close(lines)
		}()
		fn := o.vals["stream"].(*lua.LFunction)
		var cbErr error
		for {
			var ln line
			var ok bool
			rt.Block(func() { ln, ok = <-lines })
			if !ok {
				break
			}
			if cbErr != nil {
				continue // keep draining so the command is not blocked
			}
			cbErr = L.CallByParam(lua.P{Fn: fn, NRet: 0, Protect: true},
				lua.LString(ln.text), lua.LString(ln.stream))
		}
		rt.Block(func() { <-done })
		if cbErr != nil {
			e := engine.FromLua(cbErr)
			e.Message = "exec stream callback: " + e.Message
			engine.Raise(L, e)
		}
	}
	dur := time.Since(start)
	if err != nil && !errors.Is(err, ssh.ErrNoExitStatus) {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", truenas.ErrTimeout, err)
		}
		raiseErr(L, op, name, fmt.Sprintf("running %s in %q", argv[0], name), err)
	}
	if errors.Is(err, ssh.ErrNoExitStatus) {
		rt.Warn("%s in %q: %v", argv[0], name, err)
	}
	if stdout.dropped || stderr.dropped {
		rt.Warn("%s in %q: output past %d MiB was dropped", argv[0], name, maxCapture>>20)
	}
	res := L.NewTable()
	res.RawSetString("code", lua.LNumber(code))
	res.RawSetString("stdout", lua.LString(stdout.String()))
	res.RawSetString("stderr", lua.LString(stderr.String()))
	res.RawSetString("duration", lua.LNumber(dur.Seconds()))
	ev := L.NewTable()
	ev.RawSetString("name", lua.LString(name))
	ev.RawSetString("result", res)
	m.emitTable(rt, L, "exec", ev)
	if code != 0 && o.boolean("check") {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 200 {
			msg = "..." + msg[len(msg)-200:]
		}
		if msg != "" {
			msg = ": " + msg
		}
		raise(L, engine.CodeRemote, op, name, "running %s in %q: exit status %d%s", argv[0], name,
			code, msg)
	}
	L.Push(res)
	return 1
}

func envWords(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func (m *module) readFile(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.read_file"
	name := argName(L, op, 1)
	path := L.CheckString(2)
	addr := m.resolve(rt, L, op, name)
	cl := m.sshClient(L, op, name)
	var out, errb capBuffer
	var code int
	var err error
	rt.Block(func() {
		code, err = cl.Exec(rt.Context(L), addr, ssh.ExecRequest{Argv: []string{"cat", "--", path},
			Stdout: &out, Stderr: &errb})
	})
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("reading %s in %q", path, name), err)
	}
	if code != 0 {
		raise(L, engine.CodeNotFound, op, name, "reading %s in %q: %s", path, name,
			strings.TrimSpace(errb.String()))
	}
	L.Push(lua.LString(out.String()))
	return 1
}

func (m *module) writeFile(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.write_file"
	name := argName(L, op, 1)
	path := L.CheckString(2)
	content := L.CheckString(3)
	o := decode(L, "write_file", 4)
	if !strings.HasPrefix(path, "/") {
		raise(L, engine.CodeInvalid, op, name, "%s: path %q must be absolute", op, path)
	}
	mode, ok := parseMode(o.str("mode", "0644"))
	if !ok {
		raise(L, engine.CodeInvalid, op, name, `%s: option "mode" wants octal like "0600", got %q`,
			op, o.str("mode", ""))
	}
	uid, gid, ok := parseOwner(o.str("owner", "root"))
	if !ok {
		raise(L, engine.CodeInvalid, op, name, `%s: option "owner" wants "root" or numeric `+
			`"UID:GID" like "1000:1000", got %q`, op, o.str("owner", ""))
	}
	// Over SSH, like read_file: the write happens inside the container, where its own
	// symlinks resolve, rather than through the NAS's file API on the host side.
	addr := m.resolve(rt, L, op, name)
	cl := m.sshClient(L, op, name)
	var err error
	rt.Block(func() {
		err = cl.WriteFile(rt.Context(L), addr, path, []byte(content), mode, uid, gid)
	})
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("writing in %q", name), err)
	}
	return 0
}

func (m *module) console(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.console"
	name := argName(L, op, 1)
	o := decode(L, "console", 2)
	addr := m.resolve(rt, L, op, name)
	cl := m.sshClient(L, op, name)
	in, _ := rt.Stdin.(*os.File)
	var code int
	var err error
	rt.Block(func() {
		code, err = cl.Console(rt.Context(L), addr, ssh.ConsoleOptions{Shell: o.str("shell", ""),
			Stdin: in, Stdout: rt.Stdout, Stderr: rt.Stderr})
	})
	if errors.Is(err, ssh.ErrNoTerminal) {
		raise(L, engine.CodeInvalid, op, name, "console needs a terminal; for a command use: "+
			"pixels exec %s -- COMMAND", name)
	}
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("opening a console on %q", name), err)
	}
	L.Push(lua.LNumber(code))
	return 1
}

// modePattern is an octal permission mode as chmod takes it: three or four digits, with an
// optional leading 0 before three.
var modePattern = regexp.MustCompile(`^0?[0-7]{3,4}$`)

// parseMode reads a file mode option such as "0600" or "755".
func parseMode(s string) (uint32, bool) {
	if !modePattern.MatchString(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 8, 32)
	return uint32(n), err == nil && n <= 0o7777
}

// parseOwner reads an owner option: "root", or "UID:GID" in decimal, each below 2^32-1
// (the value that means "no change" to chown(2)).
func parseOwner(s string) (uid, gid int, ok bool) {
	if s == "root" {
		return 0, 0, true
	}
	u, g, found := strings.Cut(s, ":")
	if !found {
		return 0, 0, false
	}
	id := func(v string) (int, bool) {
		if v == "" || strings.TrimLeft(v, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseUint(v, 10, 32)
		return int(n), err == nil && n < 1<<32-1
	}
	uid, ok1 := id(u)
	gid, ok2 := id(g)
	return uid, gid, ok1 && ok2
}
