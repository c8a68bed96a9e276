package sim

// The shell cron jobs run in: what TrueNAS does with `sudo -H -u root sh -c LINE`, played by
// mvdan.cc/sh/v3/interp with dash's dialect (POSIX) and wording. It stands for the NAS
// itself, so it must touch nothing on the real host:
//
//   - redirections open /dev/null only; any other path fails with "Permission denied";
//   - stat, access and directory reads fail, so tests, globs and cd see nothing, and cd,
//     ".", type and command -v are answered here instead of by the interpreter, which
//     would consult the host's file system;
//   - the only programs are zfs (zfs_cli.go) and sleep; any other name is "not found"
//     (127), as are bash-only builtins, which dash lacks;
//   - the environment is fixed (HOME=/root, PATH as cron sets it), never the simulator's;
//   - eval and trap strings must parse as POSIX sh, so they cannot bring in bash's process
//     substitution, whose fifos the interpreter would make on the host. As a second guard,
//     the interpreter's temporary directory is a path that cannot exist.
//
// Builtins of the interpreter work as usual: echo (without dash's backslash escapes),
// printf, read, test/[, set, trap, exit, variables, functions, pipes, $(...), &&, ||.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// cronPath is the PATH TrueNAS gives cron tasks.
const cronPath = "/bin:/sbin:/usr/bin:/usr/sbin:/usr/local/bin:/usr/local/sbin:/root/bin"

// cronPrograms are the programs of the host shell and the directories holding them.
var cronPrograms = map[string][]string{
	"zfs":   {"/sbin", "/usr/sbin"},
	"sleep": {"/bin", "/usr/bin"},
}

// dashBuiltins are dash's builtins; the interpreter's others are bash's and not found here.
var dashBuiltins = map[string]bool{
	"alias": true, "bg": true, "break": true, "cd": true, "chdir": true, "command": true,
	"continue": true, "echo": true, "eval": true, "exec": true, "exit": true, "export": true,
	"false": true, "fg": true, "getopts": true, "hash": true, "jobs": true, "kill": true,
	"local": true, "printf": true, "pwd": true, "read": true, "readonly": true,
	"return": true, "set": true, "shift": true, "test": true, "[": true, "times": true,
	"trap": true, "true": true, "type": true, "ulimit": true, "umask": true, "unalias": true,
	"unset": true, "wait": true, ":": true, ".": true,
}

// errDenied is what every host path gets, in dash's wording.
var errDenied = errors.New("Permission denied")

// cronShell is one run of a cron task's command line.
type cronShell struct {
	s *Server
}

// runCron runs a command line as TrueNAS runs a cron task, writing stdout and stderr to out.
// status is the exit status; err reports only cancellation and interpreter failures.
func (s *Server) runCron(ctx context.Context, line string, out io.Writer) (int, error) {
	file, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(
		strings.NewReader(line), "sh")
	if err != nil {
		fmt.Fprintf(out, "sh: 1: %s\n", syntaxMessage(err))
		return 2, nil
	}
	stdin, release, err := stdinFile(nil)
	if err != nil {
		return 0, fmt.Errorf("starting cron shell: %w", err)
	}
	defer release()

	cs := &cronShell{s: s}
	r, err := interp.New(
		// A temporary directory below a regular file can never exist, so the fifos of a
		// process substitution, should one get past the checks, cannot be made at all.
		interp.Env(expand.ListEnviron("TMPDIR="+filepath.Join(s.opts.Dir, stateFile, "tmp"))),
		func(r *interp.Runner) error { r.Dir = "/"; return nil }, // never stat the host
		interp.StdIO(stdin, out, out),
		interp.Params("--"),
		interp.OpenHandler(cs.open),
		interp.StatHandler(cs.stat),
		interp.ReadDirHandler2(cs.readDir),
		interp.AccessHandler(cs.access),
		interp.CallHandler(cs.call),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return cs.exec }),
	)
	if err != nil {
		return 0, fmt.Errorf("starting cron shell: %w", err)
	}
	r.Reset() // fixes the temporary directory; the real environment comes next
	env := []string{"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh",
		"PATH=" + cronPath, "PWD=/", "LANG=C.UTF-8", "UID=0", "EUID=0", "GID=0"}
	if err := interp.Env(expand.ListEnviron(env...))(r); err != nil {
		return 0, fmt.Errorf("starting cron shell: %w", err)
	}
	r.Reset()

	err = r.Run(ctx, file)
	if status, ok := interp.IsExitStatus(err); ok {
		return int(status), nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, err
	}
	return 0, nil
}

// syntaxMessage words a parse error roughly as dash does.
func syntaxMessage(err error) string {
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return "Syntax error: " + pe.Text
	}
	var le syntax.LangError
	if errors.As(err, &le) {
		return "Syntax error: " + le.Feature + " is not supported by sh"
	}
	return "Syntax error: " + err.Error()
}

// open is the OpenHandler: /dev/null, and nothing else.
func (cs *cronShell) open(ctx context.Context, p string, flag int, _ os.FileMode) (
	io.ReadWriteCloser, error) {
	if path.Clean(p) == "/dev/null" {
		return devNull{}, nil
	}
	op := "cannot open"
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_APPEND) != 0 {
		op = "cannot create"
	}
	return nil, &os.PathError{Op: "sh: 1: " + op, Path: p, Err: errDenied}
}

// stat is the StatHandler: no host path exists for the script.
func (cs *cronShell) stat(_ context.Context, p string, _ bool) (os.FileInfo, error) {
	return nil, &os.PathError{Op: "stat", Path: p, Err: errDenied}
}

// readDir is the ReadDirHandler2: every directory looks empty, so globs stay as written.
func (cs *cronShell) readDir(context.Context, string) ([]os.DirEntry, error) {
	return nil, nil
}

// access is the AccessHandler.
func (cs *cronShell) access(_ context.Context, p string, _ interp.AccessMode) error {
	return &os.PathError{Op: "access", Path: p, Err: errDenied}
}

// call runs before every simple command. It sends the builtins that would consult the
// host, and those dash does not have, to exec as internal commands, and checks the code
// eval and trap will parse.
func (cs *cronShell) call(ctx context.Context, args []string) ([]string, error) {
	name := args[0]
	switch {
	case name == "pwd":
		return []string{"pwd"}, nil // -P would resolve symlinks on the host
	case name == "cd" || name == "chdir" || name == "." || name == "type" ||
		name == "command" && len(args) > 1 && strings.HasPrefix(args[1], "-") ||
		interp.IsBuiltin(name) && !dashBuiltins[name]:
		return append([]string{internalName + name}, args[1:]...), nil
	case name == "local":
		// dash has local, but the interpreter knows it only in bash's syntax.
		return []string{internalName + "refuse",
			"local: not supported by the simulator's shell (use plain variables)"}, nil
	case name == "eval":
		if msg := posixOnly(strings.Join(args[1:], " ")); msg != "" {
			return []string{internalName + "refuse", "eval: " + msg}, nil
		}
	case name == "trap" && len(args) > 2:
		if msg := posixOnly(args[1]); msg != "" {
			return []string{internalName + "refuse", "trap: " + msg}, nil
		}
	}
	return args, nil
}

// posixOnly returns why code is not plain POSIX sh, or "".
func posixOnly(code string) string {
	if _, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(
		strings.NewReader(code), "sh"); err != nil {
		return syntaxMessage(err)
	}
	return ""
}

// exec runs every command that is not a builtin or function.
func (cs *cronShell) exec(ctx context.Context, args []string) error {
	hc := interp.HandlerCtx(ctx)
	stderr := orDiscard(hc.Stderr)
	if name, internal := strings.CutPrefix(args[0], internalName); internal {
		return cs.internal(hc, name, args[1:])
	}
	prog, ok := cs.lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "sh: 1: %s: not found\n", args[0])
		return interp.NewExitStatus(127)
	}
	switch prog {
	case "zfs":
		return exitCode(cs.s.zfs(args[1:], hc.Stdin, orDiscard(hc.Stdout), stderr))
	case "sleep":
		return cronSleep(ctx, args[1:], stderr)
	}
	return interp.NewExitStatus(127)
}

// lookup finds a program by name or path as dash would with cron's PATH.
func (cs *cronShell) lookup(name string) (string, bool) {
	if strings.Contains(name, "/") {
		base := path.Base(name)
		for _, dir := range cronPrograms[base] {
			if path.Clean(name) == dir+"/"+base {
				return base, true
			}
		}
		return "", false
	}
	_, ok := cronPrograms[name]
	return name, ok
}

// where returns the path dash's command -v prints for a program, or "".
func where(name string) string {
	dirs := cronPrograms[name]
	for _, dir := range strings.Split(cronPath, ":") {
		for _, d := range dirs {
			if d == dir {
				return dir + "/" + name
			}
		}
	}
	return ""
}

// internal runs a builtin the call handler rerouted.
func (cs *cronShell) internal(hc interp.HandlerContext, name string, args []string) error {
	stdout, stderr := orDiscard(hc.Stdout), orDiscard(hc.Stderr)
	switch name {
	case "refuse":
		fmt.Fprintf(stderr, "sh: 1: %s\n", args[0])
		return interp.NewExitStatus(2)
	case "cd", "chdir":
		dir := "/root"
		if len(args) > 0 {
			dir = args[len(args)-1]
		}
		fmt.Fprintf(stderr, "sh: 1: %s: can't cd to %s\n", name, dir)
		return interp.NewExitStatus(2)
	case ".":
		if len(args) == 0 {
			return nil
		}
		fmt.Fprintf(stderr, "sh: 1: .: cannot open %s: %s\n", args[0], errDenied)
		return interp.NewExitStatus(2)
	case "type", "command":
		status := 0
		for _, a := range args {
			if name == "command" && strings.HasPrefix(a, "-") {
				continue
			}
			p := where(a)
			switch {
			case dashBuiltins[a] && name == "type":
				fmt.Fprintf(stdout, "%s is a shell builtin\n", a)
			case dashBuiltins[a]:
				fmt.Fprintf(stdout, "%s\n", a)
			case p != "" && name == "type":
				fmt.Fprintf(stdout, "%s is %s\n", a, p)
			case p != "":
				fmt.Fprintf(stdout, "%s\n", p)
			case name == "type":
				fmt.Fprintf(stdout, "%s: not found\n", a)
				status = 127
			default:
				status = 127
			}
		}
		return exitCode(status)
	}
	fmt.Fprintf(stderr, "sh: 1: %s: not found\n", name)
	return interp.NewExitStatus(127)
}

// cronSleep is sleep: it ends early, with the script, when the job is cancelled.
func cronSleep(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "sleep: missing operand")
		return interp.NewExitStatus(1)
	}
	var total time.Duration
	for _, a := range args {
		d, err := parseSleep(a)
		if err != nil {
			fmt.Fprintf(stderr, "sleep: invalid time interval '%s'\n", a)
			return interp.NewExitStatus(1)
		}
		total += d
	}
	t := time.NewTimer(total)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Bounds of what cronOutput keeps.
const (
	cronKeepAll    = 256 << 10 // output up to this size is kept whole
	cronLineMax    = 64 << 10  // longer lines are cut
	cronExcerptEnd = 10        // lines kept from each end, as TrueNAS's excerpt has
)

// cronOutput keeps what a cron task printed: all of it while small, else its first and last
// lines, which is all logs_excerpt needs. It is safe for concurrent writes.
type cronOutput struct {
	mu    sync.Mutex
	full  []byte   // everything, until it passes cronKeepAll
	over  bool     // full was given up
	head  []string // the first complete lines
	tail  []string // the last complete lines
	cur   []byte   // the line being written
	lines int      // complete lines
	n     int64    // bytes
}

// Write implements io.Writer.
func (o *cronOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n += int64(len(p))
	if !o.over && len(o.full)+len(p) <= cronKeepAll {
		o.full = append(o.full, p...)
	} else {
		o.over, o.full = true, nil
	}
	for _, b := range p {
		if b != '\n' {
			if len(o.cur) < cronLineMax {
				o.cur = append(o.cur, b)
			}
			continue
		}
		line := string(o.cur) + "\n"
		o.cur = o.cur[:0]
		o.lines++
		if len(o.head) < cronExcerptEnd {
			o.head = append(o.head, line)
		}
		o.tail = append(o.tail, line)
		if len(o.tail) > cronExcerptEnd {
			o.tail = o.tail[1:]
		}
	}
	return len(p), nil
}

// empty reports whether nothing was printed.
func (o *cronOutput) empty() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n == 0
}

// excerpt builds logs_excerpt as TrueNAS does for a cron task run as line: its log holds
// the output, then, when there was any, "Executed CronTask - LINE: " and the output again;
// the excerpt is the first and last ten lines of that log, with the number of lines left
// out between them.
func (o *cronOutput) excerpt(line string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == 0 {
		return ""
	}
	if !o.over || o.lines < 2*cronExcerptEnd {
		out := string(o.full)
		if o.over { // few, very long lines: put them back together from both ends
			kept := append([]string{}, o.head...)
			if o.lines > cronExcerptEnd {
				kept = append(kept, o.tail[2*cronExcerptEnd-o.lines:]...)
			}
			out = strings.Join(kept, "") + string(o.cur)
		}
		return excerptOf(splitLines(out + "Executed CronTask - " + line + ": " + out))
	}
	last := append([]string{}, o.tail...)
	if len(o.cur) > 0 {
		last = append(last[1:], string(o.cur))
	}
	total := 2 * o.lines
	if len(o.cur) > 0 {
		total++
	}
	return strings.Join(o.head, "") + fmt.Sprintf("... %d more lines ...\n",
		total-2*cronExcerptEnd) + strings.Join(last, "")
}

// splitLines splits text into lines that keep their "\n", as reading a file line by line
// does.
func splitLines(text string) []string {
	var out []string
	for text != "" {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			out = append(out, text)
			break
		}
		out = append(out, text[:i+1])
		text = text[i+1:]
	}
	return out
}

// excerptOf is TrueNAS's excerpt of a log's lines.
func excerptOf(lines []string) string {
	if len(lines) <= 2*cronExcerptEnd {
		return strings.Join(lines, "")
	}
	return strings.Join(lines[:cronExcerptEnd], "") + fmt.Sprintf("... %d more lines ...\n",
		len(lines)-2*cronExcerptEnd) + strings.Join(lines[len(lines)-cronExcerptEnd:], "")
}
