package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// ExecRequest is one remote command. Argv is required; the rest is optional.
type ExecRequest struct {
	Argv   []string          // the command and its arguments, each kept as one word
	Env    map[string]string // set with env(1) in front of the command
	Cwd    string            // run there (cd first); "" = the user's home
	Stdin  io.Reader         // copied to the command, then EOF; nil = EOF at once
	Stdout io.Writer         // nil = discard
	Stderr io.Writer         // nil = discard
	TTY    bool              // ask for a pseudo-terminal (merges stderr into stdout remotely)

	noReap bool // a cancel does not look for leftovers (reap's own command)
}

// envName is what env(1) and POSIX shells accept as a variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// command builds the one command string SSH carries for req:
// `cd <cwd> && env K=V ... <argv>`, with every word quoted on its own.
func command(req ExecRequest) (string, error) {
	if len(req.Argv) == 0 {
		return "", errors.New("building command: empty argv")
	}

	var b strings.Builder
	if req.Cwd != "" {
		b.WriteString("cd " + Quote([]string{req.Cwd}) + " && ")
	}

	if len(req.Env) > 0 {
		// env(1) would take a command named like an assignment for one more assignment.
		if strings.Contains(req.Argv[0], "=") {
			return "", fmt.Errorf("building command: command %q contains \"=\" and cannot "+
				"follow environment settings (wrap it in sh -c)", req.Argv[0])
		}

		keys := make([]string, 0, len(req.Env))
		for k := range req.Env {
			if !envName.MatchString(k) {
				return "", fmt.Errorf("building command: bad environment variable name %q", k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)

		words := []string{"env"}
		for _, k := range keys {
			words = append(words, k+"="+req.Env[k])
		}
		b.WriteString(Quote(words) + " ")
	}

	b.WriteString(Quote(req.Argv))
	return b.String(), nil
}

// Exec runs req on the host at addr ("host:port") and returns the remote exit status:
// 128+N when the command died by signal N, and 255 with an error when pixels itself failed
// (could not connect, was refused, the host key changed) or the remote reported no status
// (ErrNoExitStatus). Output is streamed as it arrives. Cancelling ctx signals the command
// and closes its session.
func (c *Client) Exec(ctx context.Context, addr string, req ExecRequest) (int, error) {
	// Without a terminal nothing hangs up the command when its session closes, and OpenSSH
	// ignores signal requests for root sessions, so a cancelled command would run on. A
	// marker in its environment, which its children inherit, lets reap find them.
	var marker string
	if !req.TTY && !req.noReap {
		marker = newMarker()
	}
	cmd, err := command(req)
	if err != nil {
		return 255, err
	}
	if marker != "" {
		cmd = withMarker(cmd, req, marker)
	}

	sess, err := c.session(ctx, addr)
	if err != nil {
		return 255, err
	}
	defer sess.Close()

	// A terminal is read through terminalInput, which stops with the command instead of
	// staying in a read of the terminal and eating the user's next keystroke.
	var stdinPipe io.WriteCloser
	tty, isTTY := req.Stdin.(*os.File)
	if isTTY && tty != nil && term.IsTerminal(int(tty.Fd())) {
		if stdinPipe, err = sess.StdinPipe(); err != nil {
			return 255, fmt.Errorf("running %s on %s: %w", req.Argv[0], addr, err)
		}
	} else {
		sess.Stdin = req.Stdin
	}
	sess.Stdout = orDiscard(req.Stdout)
	sess.Stderr = orDiscard(req.Stderr)

	if req.TTY {
		termName := os.Getenv("TERM")
		if termName == "" {
			termName = "xterm-256color"
		}
		if err := sess.RequestPty(termName, 24, 80, gossh.TerminalModes{}); err != nil {
			return 255, fmt.Errorf("running %s on %s: requesting terminal: %w", req.Argv[0],
				addr, err)
		}
	}

	c.log.Debug("ssh exec", "addr", addr, "command", redactedCommand(req))
	started := time.Now()
	defer func() {
		c.log.Debug("ssh exec done", "addr", addr, "took", time.Since(started).Round(time.Microsecond))
	}()
	if err := sess.Start(cmd); err != nil {
		return 255, fmt.Errorf("running %s on %s: %w", req.Argv[0], addr, err)
	}

	stopInput := func() {}
	if stdinPipe != nil {
		stopInput = terminalInput(tty, stdinPipe)
	}

	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()
	select {
	case err = <-waited:
		stopInput()
		return exitStatus(err)
	case <-ctx.Done():
	}

	// Cancelled. Ask the command to stop and close the session; for a root login OpenSSH
	// ignores the signal and keeps the session open while the command runs, so reap ends it.
	// Past cancelGrace the session is left to close with the connection: a cancel must not
	// wait on the remote side.
	sess.Signal(gossh.SIGTERM)
	sess.Close()
	select {
	case <-waited:
	case <-time.After(signalGrace):
		if marker != "" {
			c.reap(ctx, addr, marker)
		}
		select {
		case <-waited:
		case <-time.After(cancelGrace):
			c.log.Debug("ssh session still open after a cancel", "addr", addr)
		}
	}
	stopInput()
	return 255, fmt.Errorf("running %s on %s: %w", req.Argv[0], addr, ctx.Err())
}

// A cancelled Exec gives the signal signalGrace to end the session, then reaps, then waits
// cancelGrace more.
const (
	signalGrace = 250 * time.Millisecond
	cancelGrace = 3 * time.Second
)

// exitStatus turns Session.Wait's result into a status and an error for pixels' failures.
func exitStatus(err error) (int, error) {
	var exit *gossh.ExitError
	var missing *gossh.ExitMissingError

	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit) && exit.Signal() != "":
		if n, ok := signalNumber(exit.Signal()); ok {
			return 128 + n, nil
		}
		return 255, fmt.Errorf("remote command killed by unknown signal %s", exit.Signal())
	case errors.As(err, &exit):
		// A status above 255 cannot be an exit status; never let it wrap to success.
		if s := exit.ExitStatus(); s >= 0 && s <= 255 {
			return s, nil
		}
		return 255, nil
	case errors.As(err, &missing):
		return 255, ErrNoExitStatus
	default:
		return 255, fmt.Errorf("running command: %w", err)
	}
}

// signals numbers the signal names RFC 4254 defines, as Linux numbers them.
var signals = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8,
	"KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
}

func signalNumber(name string) (int, bool) {
	n, ok := signals[strings.TrimPrefix(strings.ToUpper(name), "SIG")]
	return n, ok
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// Quote quotes each element of argv for a POSIX shell and joins them with spaces, so the
// remote shell splits the string back into exactly argv. Words made only of characters no
// shell treats specially stay bare; the rest are single-quoted, with ' written as '\”.
func Quote(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = quoteWord(a)
	}
	return strings.Join(words, " ")
}

func quoteWord(s string) string {
	if s == "" {
		return "''"
	}

	bare := true
	for _, r := range s {
		if !isBare(r) {
			bare = false
			break
		}
	}
	if bare {
		return s
	}

	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isBare reports whether r needs no quoting anywhere in a word. "=" and "~" are left out
// because a bare first word with "=" is an assignment and a leading "~" expands.
func isBare(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("_@%+:,./-", r)
}

// redactedCommand is the command for logs: environment values may be secrets (tokens passed
// with --env), so they show as ***.
func redactedCommand(req ExecRequest) string {
	hidden := req
	if len(req.Env) > 0 {
		hidden.Env = make(map[string]string, len(req.Env))
		for k := range req.Env {
			hidden.Env[k] = "***"
		}
	}
	cmd, err := command(hidden)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return cmd
}
