//go:build linux

package ssh

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair with plain syscalls (creack/pty is not a dependency).
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()

	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })

	var unlock int32
	if err := ioctl(master, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Skipf("unlocking pty: %v", err)
	}
	var n uint32
	if err := ioctl(master, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Skipf("naming pty: %v", err)
	}

	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening pty: %v", err)
	}
	t.Cleanup(func() { tty.Close() })

	return master, tty
}

func ioctl(f *os.File, req uint, arg unsafe.Pointer) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

func setSize(t *testing.T, f *os.File, cols, rows uint16) {
	t.Helper()
	ws := struct{ Row, Col, X, Y uint16 }{rows, cols, 0, 0}
	if err := ioctl(f, syscall.TIOCSWINSZ, unsafe.Pointer(&ws)); err != nil {
		t.Fatal(err)
	}
}

func termios(t *testing.T, f *os.File) syscall.Termios {
	t.Helper()
	var st syscall.Termios
	if err := ioctl(f, syscall.TCGETS, unsafe.Pointer(&st)); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConsolePTY(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)
	master, tty := openPTY(t)
	t.Setenv("TERM", "xterm-test")
	setSize(t, tty, 100, 30)
	before := termios(t, tty)

	var out syncBuffer
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := c.Console(context.Background(), srv.addr,
			ConsoleOptions{Stdin: tty, Stdout: &out, Stderr: &out})
		done <- result{code, err}
	}()

	poll(t, "the greeting", func() bool { return strings.Contains(out.String(), "pty ") })
	if !strings.Contains(out.String(), "pty xterm-test 100x30") {
		t.Errorf("remote pty: %q, want xterm-test 100x30", out.String())
	}
	if termios(t, tty).Lflag&syscall.ECHO != 0 {
		t.Error("local terminal not in raw mode during the console")
	}

	// A resize reaches the remote side as a window-change.
	setSize(t, tty, 120, 40)
	if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	poll(t, "the window change", func() bool { return srv.ptyState() == "xterm-test 120x40" })

	// Typed input reaches the shell, whose exit status comes back.
	if _, err := master.WriteString("exit 7\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.code != 7 || r.err != nil {
			t.Errorf("Console = %d, %v; want 7, nil", r.code, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Console did not return after the shell exited; output %q", out.String())
	}

	if after := termios(t, tty); after != before {
		t.Errorf("terminal not restored:\nbefore %+v\nafter  %+v", before, after)
	}

	// The terminal is blocking again, and no leftover copy steals the next keystroke.
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, tty.Fd(), syscall.F_GETFL, 0)
	if errno != 0 || flags&syscall.O_NONBLOCK != 0 {
		t.Errorf("terminal flags %#x (errno %v): still non-blocking", flags, errno)
	}
	if _, err := master.WriteString("k\n"); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 16)
		n, _ := tty.Read(buf)
		got <- string(buf[:n])
	}()
	select {
	case s := <-got:
		if s != "k\n" {
			t.Errorf("read %q after the console, want \"k\\n\"", s)
		}
	case <-time.After(10 * time.Second):
		t.Error("keystroke after the console never arrived: something else read it")
	}
}

// TestExecTerminalStdin checks that exec given a terminal as stdin delivers typed input
// and, once the command ends, leaves the next keystroke for the terminal's next reader.
func TestExecTerminalStdin(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)
	master, tty := openPTY(t)

	// Cooked mode: a line, then ^D at the start of the next, reaches wc as one line and EOF.
	if _, err := master.WriteString("a\n\x04"); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	code, err := c.Exec(context.Background(), srv.addr,
		ExecRequest{Argv: []string{"wc", "-l"}, Stdin: tty, Stdout: &out})
	if code != 0 || err != nil || out.String() != "1\n" {
		t.Fatalf("Exec = %d, %v, stdout %q; want 0, nil, \"1\\n\"", code, err, out.String())
	}

	// A command that never reads stdin must not leave a reader behind.
	code, err = c.Exec(context.Background(), srv.addr, ExecRequest{Argv: []string{"true"}, Stdin: tty})
	if code != 0 || err != nil {
		t.Fatalf("Exec = %d, %v", code, err)
	}
	if _, err := master.WriteString("k\n"); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 16)
		n, _ := tty.Read(buf)
		got <- string(buf[:n])
	}()
	select {
	case s := <-got:
		if s != "k\n" {
			t.Errorf("read %q after exec, want \"k\\n\"", s)
		}
	case <-time.After(10 * time.Second):
		t.Error("keystroke after exec never arrived: something else read it")
	}
}
