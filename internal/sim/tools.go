package sim

// The programs a sandboxed script can run. Each is a Go function over the box's tree and the
// command's streams; no host process is ever started. Names the box does not know are
// recorded in the command log and succeed, so installs and service set-up "work".

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// toolCtx is one program invocation: its streams, environment and working directory.
type toolCtx struct {
	ctx    context.Context
	st     *runState
	hc     *interp.HandlerContext
	dir    string
	env    []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	name   string // program name for messages
}

// toolFunc is a built-in program; it returns nil, an interp exit status, or a fatal error.
type toolFunc func(tc *toolCtx, args []string) error

// lookupTool returns the built-in program called name, or nil.
func lookupTool(name string) toolFunc {
	switch name {
	case "sh", "bash", "dash":
		return toolSh
	case "cat":
		return toolCat
	case "ls":
		return toolLs
	case "mkdir":
		return toolMkdir
	case "rm":
		return toolRm
	case "cp":
		return toolCp
	case "mv":
		return toolMv
	case "touch":
		return toolTouch
	case "chmod":
		return toolChmod
	case "chown":
		return toolChown
	case "head":
		return toolHead
	case "tail":
		return toolTail
	case "wc":
		return toolWc
	case "tee":
		return toolTee
	case "grep":
		return toolGrep
	case "tar":
		return toolTar
	case "env":
		return toolEnv
	case "id":
		return toolID
	case "hostname":
		return toolHostname
	case "ip":
		return toolIP
	case "uname":
		return toolUname
	case "sleep":
		return toolSleep
	case "kill":
		return toolKill
	case "systemctl":
		return toolSystemctl
	case "sudo", "nohup":
		return toolWrapper
	case "type", "command", "which":
		return toolWhich
	case "umask":
		return toolUmask
	case "ln":
		return toolLn
	case "mktemp":
		return toolMktemp
	case "basename":
		return toolBasename
	case "dirname":
		return toolDirname
	}

	return nil
}

// dispatch runs args[0] as a program: a built-in tool, an interpreter builtin called by path
// (/bin/echo), a script file in the tree, or an unknown program that is recorded.
func (tc *toolCtx) dispatch(args []string) error {
	name, internal := strings.CutPrefix(args[0], internalName)
	base := path.Base(name)
	tc.name = base
	if internal && base == "refuse" {
		fmt.Fprintln(tc.stderr, args[1])
		return exitCode(2)
	}
	if internal {
		return lookupTool(base)(tc, args)
	}

	if strings.Contains(name, "/") {
		info, err := tc.st.box.statAt(tc.dir, name, true)
		if err != nil && !(binDir(name) && (lookupTool(base) != nil || interp.IsBuiltin(base))) {
			tc.name = "sh"
			return tc.failCode(127, "%s: not found", name)
		}
		if err == nil && lookupTool(base) == nil && !interp.IsBuiltin(base) &&
			info.Mode().IsRegular() {
			return tc.runScriptFile(name, args[1:])
		}
	}

	if tool := lookupTool(base); tool != nil {
		return tool(tc, args)
	}
	if interp.IsBuiltin(base) && tc.hc != nil {
		return tc.hc.Builtin(tc.ctx, append([]string{base}, args[1:]...))
	}
	if !strings.Contains(name, "/") {
		if found := tc.searchPath(name); found != "" {
			return tc.runScriptFile(found, args[1:])
		}
	}

	if err := tc.st.box.record("+ " + quoteArgs(args)); err != nil {
		return err
	}

	return nil
}

// binDir reports whether name sits in one of the standard program directories, where the
// built-in tools count as installed even though the tree holds no file for them.
func binDir(name string) bool {
	switch path.Dir(path.Clean(name)) {
	case "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin":
		return true
	}

	return false
}

// runScriptFile runs a file from the tree as a script, as the kernel would run an
// executable starting with "#!/bin/sh". Other files are treated as unknown programs.
func (tc *toolCtx) runScriptFile(name string, params []string) error {
	data, err := tc.st.box.ReadFile(joinRaw(tc.dir, name))
	if err != nil {
		return tc.failCode(126, "%s: cannot read", name)
	}
	text := string(data)
	if strings.HasPrefix(text, "\x7fELF") {
		// A real program the box cannot run: recorded and successful, like unknown names.
		return tc.st.box.record("+ " + quoteArgs(append([]string{name}, params...)))
	}
	if first, _, _ := strings.Cut(text, "\n"); strings.HasPrefix(first, "#!") {
		words := strings.Fields(first[2:] + " sh")
		if path.Base(words[0]) == "env" && len(words) > 2 {
			words = words[1:]
		}
		if !slices.Contains([]string{"sh", "bash", "dash"}, path.Base(words[0])) {
			return tc.st.box.record("+ " + quoteArgs(append([]string{name}, params...)))
		}
	}

	return tc.runNested(text, name, params)
}

// runNested runs src in a nested interpreter with positional parameters params, the way a
// child sh process would. A nested script that killed itself ends with 128+N here, and the
// signal is remembered so that Run can report it when that status ends the whole script.
func (tc *toolCtx) runNested(src, name string, params []string) error {
	file, err := parseScript(src, name)
	if err != nil {
		return tc.failCode(2, "%v", err)
	}

	stdin, release, err := stdinFile(tc.stdin)
	if err != nil {
		return err
	}
	defer release()

	status, err := tc.st.run(tc.ctx, file, tc.env, tc.dir, params, stdin, tc.stdout, tc.stderr)
	if killed, ok := err.(*killedError); ok {
		tc.st.mu.Lock()
		tc.st.lastSignal = killed.name
		tc.st.mu.Unlock()
		return interp.NewExitStatus(uint8(128 + killed.num))
	}
	if err != nil {
		return err
	}

	return exitCode(status)
}

// path returns the root-relative name of in-container path p, resolved from the working
// directory; see Box.name.
func (tc *toolCtx) path(p string, follow bool) string {
	return tc.st.box.name(tc.dir, p, follow)
}

// joinRaw makes p absolute against cwd without cleaning it, so ".." after a symlink is
// resolved against the link's target, as the kernel does.
func joinRaw(cwd, p string) string {
	if path.IsAbs(p) {
		return p
	}

	return cwd + "/" + p
}

// exitCode turns a status into what an ExecHandler returns.
func exitCode(status int) error {
	if status == 0 {
		return nil
	}

	return interp.NewExitStatus(uint8(status))
}

// fail prints "name: message" on stderr and ends the program with status 1.
func (tc *toolCtx) fail(format string, a ...any) error {
	return tc.failCode(1, format, a...)
}

// failCode prints "name: message" on stderr and ends the program with status code.
func (tc *toolCtx) failCode(code int, format string, a ...any) error {
	fmt.Fprintf(tc.stderr, tc.name+": "+format+"\n", a...)

	return interp.NewExitStatus(uint8(code))
}

// quoteArgs joins args as a shell would need to read them back.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		q, err := syntax.Quote(a, syntax.LangBash)
		if err != nil {
			q = strconv.Quote(a)
		}
		out[i] = q
	}

	return strings.Join(out, " ")
}

// toolSh runs sh -c 'script' [arg0 [args...]], sh file [args...], or a script on stdin.
// Single-letter options are accepted; -e, -u, -x and -o name are applied to the script.
func toolSh(tc *toolCtx, args []string) error {
	var opts []string
	command := false
	rest := args[1:]
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") && rest[0] != "-" {
		flag := rest[0]
		rest = rest[1:]
		if flag == "--" {
			break
		}
		for _, c := range flag[1:] {
			switch c {
			case 'c':
				command = true
			case 'e', 'u', 'x', 'f', 'v':
				opts = append(opts, "-"+string(c))
			case 'o':
				if len(rest) > 0 {
					opts = append(opts, "-o", rest[0])
					rest = rest[1:]
				}
			}
		}
	}

	var src, name string
	var params []string
	switch {
	case command:
		if len(rest) == 0 {
			return tc.failCode(2, "-c: option requires an argument")
		}
		src, name = rest[0], tc.name
		if len(rest) > 1 {
			name, params = rest[1], rest[2:]
		}
	case len(rest) > 0 && rest[0] != "-":
		data, err := tc.st.box.ReadFile(joinRaw(tc.dir, rest[0]))
		if err != nil {
			return tc.failCode(127, "%s: No such file", rest[0])
		}
		src, name, params = string(data), rest[0], rest[1:]
	default:
		data, err := io.ReadAll(tc.input())
		if err != nil {
			return tc.fail("reading script: %v", err)
		}
		src, name = string(data), tc.name
	}
	if len(opts) > 0 {
		src = "set " + strings.Join(opts, " ") + "\n" + src
	}

	return tc.runNested(src, name, params)
}

// input returns stdin, made to stop blocking when the command's context ends.
func (tc *toolCtx) input() io.Reader {
	if tc.stdin == nil {
		return strings.NewReader("")
	}
	f, ok := tc.stdin.(*os.File)
	if !ok {
		return tc.stdin
	}

	return &ctxFile{ctx: tc.ctx, f: f}
}

// ctxFile reads from f until ctx ends.
type ctxFile struct {
	ctx context.Context
	f   *os.File
}

// Read implements io.Reader, using a read deadline so a cancel unblocks a pending read.
func (c *ctxFile) Read(p []byte) (int, error) {
	stop := context.AfterFunc(c.ctx, func() { c.f.SetReadDeadline(time.Now()) })
	defer stop()

	n, err := c.f.Read(p)
	if err != nil && c.ctx.Err() != nil {
		// Clear the deadline: an outer shell level sharing this stdin may read on.
		c.f.SetReadDeadline(time.Time{})
		return n, c.ctx.Err()
	}

	return n, err
}

// toolSleep waits for the sum of its durations ("1", "0.5", "2s", "1m"), honouring the
// context.
func toolSleep(tc *toolCtx, args []string) error {
	var total time.Duration
	for _, a := range args[1:] {
		d, err := parseSleep(a)
		if err != nil {
			return tc.fail("invalid time interval %q", a)
		}
		total += d
	}

	t := time.NewTimer(total)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-tc.ctx.Done():
		return tc.ctx.Err()
	}
}

// parseSleep reads one sleep argument: a number with an optional s, m, h or d suffix.
func parseSleep(a string) (time.Duration, error) {
	unit := time.Second
	switch {
	case strings.HasSuffix(a, "s"):
		a = strings.TrimSuffix(a, "s")
	case strings.HasSuffix(a, "m"):
		a, unit = strings.TrimSuffix(a, "m"), time.Minute
	case strings.HasSuffix(a, "h"):
		a, unit = strings.TrimSuffix(a, "h"), time.Hour
	case strings.HasSuffix(a, "d"):
		a, unit = strings.TrimSuffix(a, "d"), 24*time.Hour
	}
	f, err := strconv.ParseFloat(a, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("parsing interval %q: invalid", a)
	}

	return time.Duration(f * float64(unit)), nil
}

// machine is what uname -m reports for the host architecture.
func machine() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}

	return runtime.GOARCH
}
