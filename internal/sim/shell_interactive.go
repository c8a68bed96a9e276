package sim

// The interactive shell of an SSH "shell" request: a prompt, a small line editor (echo and
// backspace when the client asked for a terminal), and one interpreter kept across lines so
// cd and variables persist as in a login shell.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// interactive reads command lines from in until "exit" or EOF, returning the last status, or
// the signal when the shell killed itself. With tty set, input is echoed and output uses
// "\r\n" line ends.
func (b *Box) interactive(ctx context.Context, in io.Reader, out io.Writer, env []string,
	tty bool) (int, string, error) {
	w := out
	if tty {
		w = &crlfWriter{w: out}
	}

	// TODO(#3): commands in the interactive shell get empty stdin and Ctrl-C cannot
	// interrupt a running one; sharing the line editor's input with a running command needs
	// a terminal model the sandbox lacks.
	stdin, release, err := stdinFile(nil)
	if err != nil {
		return 0, "", fmt.Errorf("starting shell: %w", err)
	}
	defer release()

	dir := "/root"
	if _, err := b.statAt("/", dir, true); err != nil {
		dir = "/"
	}
	st := &runState{box: b}
	r, err := st.newRunner(append(b.defaultEnv(), env...), dir, nil, stdin, w, w)
	if err != nil {
		return 0, "", fmt.Errorf("starting shell: %w", err)
	}

	ctx, lvl := newLevel(ctx)
	defer lvl.cancel()
	lr := &lineReader{in: bufio.NewReader(in), echo: out, tty: tty}
	status := 0
	for {
		fmt.Fprint(out, b.prompt(r.Dir))
		line, err := lr.readLine()
		if errors.Is(err, io.EOF) {
			return status, "", nil
		}
		if err != nil {
			return status, "", fmt.Errorf("reading command line: %w", err)
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
			status, err = statusOf(ctx, r.Run(ctx, stmt))
			if killed := lvl.killedBy(); killed != nil {
				return 128 + killed.num, killed.name, nil
			}
			if err != nil {
				return status, "", err
			}
			if r.Exited() {
				return status, "", nil
			}
		}
	}
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

// lineReader edits one input line at a time: CR, LF or CRLF end a line, backspace deletes,
// Ctrl-C abandons the line, Ctrl-D on an empty line is EOF.
type lineReader struct {
	in     *bufio.Reader
	echo   io.Writer
	tty    bool
	skipLF bool // the previous line ended with CR; a following LF belongs to it
}

// readLine returns the next line without its terminator.
func (lr *lineReader) readLine() (string, error) {
	var line []byte
	for {
		c, err := lr.in.ReadByte()
		if err != nil {
			if len(line) > 0 && errors.Is(err, io.EOF) {
				return string(line), nil
			}
			return "", err
		}
		skip := lr.skipLF
		lr.skipLF = false

		switch c {
		case '\n':
			if skip {
				continue
			}
			lr.write("\r\n")
			return string(line), nil
		case '\r':
			lr.skipLF = true
			lr.write("\r\n")
			return string(line), nil
		case 0x7f, 0x08:
			if len(line) > 0 {
				_, size := utf8.DecodeLastRune(line)
				line = line[:len(line)-size]
				lr.write("\b \b")
			}
		case 0x03:
			lr.write("^C\r\n")
			return "", nil
		case 0x04:
			if len(line) == 0 {
				return "", io.EOF
			}
		default:
			line = append(line, c)
			lr.write(string(c))
		}
	}
}

// write echoes to the terminal when there is one.
func (lr *lineReader) write(s string) {
	if lr.tty {
		io.WriteString(lr.echo, s)
	}
}
