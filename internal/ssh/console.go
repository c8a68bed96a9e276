package ssh

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// ConsoleOptions configures an interactive session.
type ConsoleOptions struct {
	Shell  string    // program to run, e.g. "bash"; "" = the user's login shell
	Stdin  *os.File  // must be a terminal
	Stdout io.Writer // usually os.Stdout
	Stderr io.Writer // usually os.Stderr
}

// Console opens an interactive shell on addr with a pseudo-terminal of the local terminal's
// size and $TERM, forwards window size changes, and returns the shell's exit status (as
// Exec does). The local terminal is put in raw mode and restored on every way out, a panic
// included. Without a terminal on Stdin it returns ErrNoTerminal.
func (c *Client) Console(ctx context.Context, addr string, opts ConsoleOptions) (int, error) {
	if opts.Stdin == nil || !term.IsTerminal(int(opts.Stdin.Fd())) {
		return 255, fmt.Errorf("opening console on %s: %w", addr, ErrNoTerminal)
	}
	fd := int(opts.Stdin.Fd())

	sess, err := c.session(ctx, addr)
	if err != nil {
		return 255, fmt.Errorf("opening console on %s: %w", addr, err)
	}
	defer sess.Close()

	width, height, err := term.GetSize(fd)
	if err != nil {
		width, height = 80, 24
	}
	termName := os.Getenv("TERM")
	if termName == "" {
		termName = "xterm-256color"
	}
	modes := gossh.TerminalModes{gossh.ECHO: 1}
	if err := sess.RequestPty(termName, height, width, modes); err != nil {
		return 255, fmt.Errorf("opening console on %s: requesting terminal: %w", addr, err)
	}

	stdin, err := sess.StdinPipe()
	if err != nil {
		return 255, fmt.Errorf("opening console on %s: %w", addr, err)
	}
	sess.Stdout = orDiscard(opts.Stdout)
	sess.Stderr = orDiscard(opts.Stderr)

	state, err := term.MakeRaw(fd)
	if err != nil {
		return 255, fmt.Errorf("opening console on %s: %w", addr, err)
	}
	defer func() {
		// Restore before a panic travels on, so the user's terminal stays usable.
		term.Restore(fd, state)
		if p := recover(); p != nil {
			panic(p)
		}
	}()

	if opts.Shell == "" {
		err = sess.Shell()
	} else {
		err = sess.Start(Quote([]string{opts.Shell}))
	}
	if err != nil {
		return 255, fmt.Errorf("opening console on %s: %w", addr, err)
	}

	stopInput := terminalInput(opts.Stdin, stdin)

	resized := make(chan os.Signal, 1)
	signal.Notify(resized, syscall.SIGWINCH)
	defer signal.Stop(resized)

	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()

	for {
		select {
		case <-resized:
			if w, h, err := term.GetSize(fd); err == nil {
				sess.WindowChange(h, w)
			}
		case <-ctx.Done():
			sess.Signal(gossh.SIGHUP)
			sess.Close()
			<-done
			stopInput()
			return 255, fmt.Errorf("console on %s: %w", addr, ctx.Err())
		case err := <-done:
			stopInput()
			return exitStatus(err)
		}
	}
}
