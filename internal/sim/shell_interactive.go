package sim

// The interactive shell of an SSH "shell" request: a prompt, a small line editor (echo and
// erase when the client asked for a terminal), and one interpreter kept across lines so cd
// and variables persist as in a login shell. The session's input goes to the line editor at
// the prompt and to the running statement's stdin otherwise; shell_input.go holds that
// plumbing, the rule for bytes typed ahead and the terminal modes.
//
// The line editor plays the shell's own editor (bash's readline), not the terminal's: like
// readline it takes the control characters and the echo setting from the terminal modes but
// edits lines whatever icanon and icrnl say, so CR, LF and CRLF always end a command line.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// interactive runs the shell of interactiveTerm, on a terminal with the default modes when
// tty is set.
func (b *Box) interactive(ctx context.Context, in io.Reader, out io.Writer, env []string,
	tty bool) (int, string, error) {
	var term *termModes
	if tty {
		m := defaultModes()
		term = &m
	}

	return b.interactiveTerm(ctx, in, out, env, term)
}

// interactiveTerm reads command lines from in until "exit" or EOF, returning the last status,
// or the signal when the shell was killed. With a terminal (term not nil) input is echoed,
// output uses "\r\n" line ends and Ctrl-C interrupts the running statement, as far as the
// terminal's modes say so. It returns when the session ends (input EOF, "exit" or ctx); its
// input reader goroutine then stops at the next return from in.Read, which the caller brings
// about by closing in.
func (b *Box) interactiveTerm(ctx context.Context, in io.Reader, out io.Writer, env []string,
	term *termModes) (int, string, error) {
	w := out
	if term != nil && term.crlf() {
		w = &crlfWriter{w: out}
	}

	// Between statements the interpreter holds an empty stdin; each statement gets its own.
	idle, release, err := stdinFile(nil)
	if err != nil {
		return 0, "", fmt.Errorf("starting shell: %w", err)
	}
	defer release()

	dir := "/root"
	if _, err := b.statAt("/", dir, true); err != nil {
		dir = "/"
	}
	st := &runState{box: b}
	r, err := st.newRunner(append(b.defaultEnv(), env...), dir, nil, idle, w, w)
	if err != nil {
		return 0, "", fmt.Errorf("starting shell: %w", err)
	}

	ctx, lvl := newLevel(ctx)
	defer lvl.cancel()
	input := newSessionInput(in)
	defer input.close()
	lr := &lineReader{in: input, echo: out, tty: term != nil, modes: defaultModes()}
	if term != nil {
		lr.modes = *term
	} else {
		lr.modes.kill = noChar // without a terminal Ctrl-U stays data, as it always was
	}
	status := 0
	for {
		fmt.Fprint(out, b.prompt(r.Dir))
		line, err := lr.readLine(ctx)
		if errors.Is(err, io.EOF) {
			return status, "", nil
		}
		if err != nil {
			return ended(ctx, status, fmt.Errorf("reading command line: %w", err))
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := b.record(line); err != nil {
			return status, "", err
		}

		file, err := parseScript(line, "sh")
		if err != nil {
			fmt.Fprintln(w, err)
			status = 2
			continue
		}
		for _, stmt := range file.Stmts {
			var interrupted bool
			status, interrupted, err = lr.runStmt(ctx, r, stmt, w)
			if killed := lvl.killedBy(); killed != nil {
				return 128 + killed.num, killed.name, nil
			}
			if err != nil {
				return ended(ctx, status, err)
			}
			if r.Exited() {
				return status, "", nil
			}
			if interrupted {
				break // like a shell taking SIGINT, drop the rest of the line
			}
		}
	}
}

// ended is how the shell reports err: a signal request from the client (the cause of ctx)
// becomes that signal, as when it ends a script run by Run.
func ended(ctx context.Context, status int, err error) (int, string, error) {
	var killed *killedError
	if errors.As(context.Cause(ctx), &killed) {
		return 128 + killed.num, killed.name, nil
	}

	return status, "", err
}

// runStmt runs one statement with the session's input as its stdin, returning its status and
// whether Ctrl-C interrupted it. What the statement left unread goes back to the line editor.
func (lr *lineReader) runStmt(ctx context.Context, r *interp.Runner, stmt *syntax.Stmt,
	w io.Writer) (int, bool, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 1, false, fmt.Errorf("creating stdin pipe: %w", err)
	}
	defer pr.Close()
	defer pw.Close()
	if err := interp.StdIO(pr, w, w)(r); err != nil {
		return 1, false, fmt.Errorf("connecting stdin: %w", err)
	}

	// Not cancelled when the statement ends: a job it left in the background runs on, until
	// the shell ends.
	cmdCtx, interrupt := context.WithCancel(ctx)
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	fed := make(chan feedResult, 1)
	go func() { fed <- lr.feed(feedCtx, pw, interrupt) }()

	status, err := statusOf(cmdCtx, r.Run(cmdCtx, stmt))
	stopFeed()
	res := <-fed
	pw.Close()

	if res.interrupted {
		if ctx.Err() == nil {
			status, err = 130, nil
			setStatus(r, status)
		}
		return status, true, err // the terminal drops pending input on an interrupt
	}

	// Reading after the write end closed returns what is buffered, then EOF. A deadline
	// left behind by a cancelled read would cut that short, so clear it first.
	pr.SetReadDeadline(time.Time{})
	left, _ := io.ReadAll(pr)
	lr.in.unread(append(left, res.rest...))

	return status, false, err
}

// setStatus makes $? read status, as after a statement that ended that way. A cancelled Run
// leaves the interpreter marked as exiting with a status of its own choosing; the next Run
// clears that mark, and a subshell's exit sets $? without ending the shell.
func setStatus(r *interp.Runner, status int) {
	file, err := parseScript(fmt.Sprintf("(exit %d)", status), "sh")
	if err != nil {
		return
	}
	r.Run(context.Background(), file.Stmts[0])
}

// prompt is what a root bash on Debian shows, with ~ for /root.
func (b *Box) prompt(dir string) string {
	if dir == "/root" {
		dir = "~"
	} else if rest, ok := strings.CutPrefix(dir, "/root/"); ok {
		dir = "~/" + rest
	}

	return fmt.Sprintf("root@%s:%s# ", b.hostname, dir)
}

// lineReader owns the session's input for the shell: it edits command lines at the prompt
// (readLine) and passes input on to a running statement (feed, in shell_input.go).
type lineReader struct {
	in    *sessionInput
	echo  io.Writer
	tty   bool
	modes termModes // the terminal's; without one, only the control characters count
}

// readLine returns the next line without its terminator. CR, LF or CRLF end a line, the
// erase character (DEL or backspace) deletes, kill (Ctrl-U, on a terminal) clears the line,
// intr (Ctrl-C) abandons it and EOF (Ctrl-D) on an empty line ends the input.
func (lr *lineReader) readLine(ctx context.Context) (string, error) {
	m := &lr.modes
	var line []byte
	for {
		c, err := lr.in.next(ctx, true)
		if err != nil {
			if len(line) > 0 && errors.Is(err, io.EOF) {
				return string(line), nil
			}
			return "", err
		}

		switch {
		case m.interrupts(c):
			lr.interrupted(c)
			return "", nil
		case c == '\r', c == '\n':
			lr.newline()
			return string(line), nil
		case m.erases(c):
			line = lr.erase(line)
		case m.kill.is(c):
			line = lr.kill(line)
		case m.eof.is(c):
			if len(line) == 0 {
				return "", io.EOF
			}
		default:
			line = append(line, c)
			lr.write(string(c))
		}
	}
}

// erase removes the last character of line, and from the screen.
func (lr *lineReader) erase(line []byte) []byte {
	if len(line) == 0 {
		return line
	}
	_, size := utf8.DecodeLastRune(line)
	lr.write("\b \b")

	return line[:len(line)-size]
}

// kill removes all of line, and from the screen.
func (lr *lineReader) kill(line []byte) []byte {
	for len(line) > 0 {
		line = lr.erase(line)
	}

	return line
}

// interrupted shows that the interrupt character c was typed, then starts a new line, as a
// shell does after an interrupt even when the terminal does not echo.
func (lr *lineReader) interrupted(c byte) {
	lr.write(caret(c))
	if lr.tty {
		io.WriteString(lr.echo, lr.nl())
	}
}

// newline echoes the end of a line.
func (lr *lineReader) newline() {
	lr.write(lr.nl())
}

// nl is how the terminal shows "\n".
func (lr *lineReader) nl() string {
	if lr.modes.crlf() {
		return "\r\n"
	}

	return "\n"
}

// write echoes to the terminal when there is one and its modes ask for echo.
func (lr *lineReader) write(s string) {
	if lr.tty && lr.modes.echo {
		io.WriteString(lr.echo, s)
	}
}

// caret is how a terminal echoes the control character c: ^C for 0x03, ^? for DEL; other
// bytes show as they are.
func caret(c byte) string {
	switch {
	case c < 0x20:
		return "^" + string(rune(c+'@'))
	case c == 0x7f:
		return "^?"
	}

	return string([]byte{c})
}
