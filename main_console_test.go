//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pixels-dev/pixels/internal/sim"
	"golang.org/x/sys/unix"
)

// consoleEnv gives one test its own HOME and XDG directories and stops its background
// simulator at the end.
func consoleEnv(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	simDir := filepath.Join(home, ".cache", "pixels", "sim")
	t.Cleanup(func() { _ = sim.StopBackground(simDir) })
	env := []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"PIXELS_POLL_INTERVAL=50ms",
		"PIXELS_RETRY_INTERVAL=50ms",
		"PIXELS_SIM_IDLE=2m",
		"SSH_AUTH_SOCK=",
		"TERM=xterm",
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" {
			env = append(env, kv)
		}
	}
	return env
}

// pixelsCmd runs this test binary as the pixels program: TestMain's testscript.RunMain
// put a copy named pixels on PATH, and the name selects pixelsMain.
func pixelsCmd(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("pixels")
	if err != nil {
		t.Fatalf("finding the pixels program testscript set up: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	return cmd
}

// openPTY opens a pseudo-terminal pair through /dev/ptmx.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlocking pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("naming pty: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening pty: %v", err)
	}
	ws := &unix.Winsize{Row: 24, Col: 80}
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		t.Fatal(err)
	}
	return master, tty
}

// lockedBuffer collects what the terminal shows.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, deadline time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConsoleEndToEnd(t *testing.T) {
	env := consoleEnv(t)
	if out, err := pixelsCmd(t, env, "create", "box").CombinedOutput(); err != nil {
		t.Fatalf("pixels create box: %v\n%s", err, out)
	}

	master, tty := openPTY(t)
	cmd := pixelsCmd(t, env, "console", "box")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child holds it now; the master reads EOF/EIO when the child is gone
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var screen lockedBuffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()

	// The echoed line shows h""i; only the shell's output shows hi on a line of its own.
	if _, err := master.WriteString("echo h\"\"i\n"); err != nil {
		t.Fatal(err)
	}
	hi := regexp.MustCompile(`(^|\n)hi\r?\n`)
	waitFor(t, "the output of echo", 20*time.Second, func() bool {
		return hi.MatchString(screen.String())
	})
	if _, err := master.WriteString("exit 3\n"); err != nil {
		t.Fatal(err)
	}

	select {
	case err := <-exited:
		var xe *exec.ExitError
		if !errors.As(err, &xe) || xe.ExitCode() != 3 {
			t.Errorf("pixels console ended with %v, want exit status 3; screen %q", err,
				screen.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("pixels console did not end after exit 3; screen %q", screen.String())
	}
}

func TestConsoleWithoutTerminal(t *testing.T) {
	env := consoleEnv(t)
	if out, err := pixelsCmd(t, env, "create", "box").CombinedOutput(); err != nil {
		t.Fatalf("pixels create box: %v\n%s", err, out)
	}

	cmd := pixelsCmd(t, env, "console", "box")
	cmd.Stdin = strings.NewReader("echo hi\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.ExitCode() != 1 {
		t.Fatalf("pixels console without a terminal = %v, want exit status 1", err)
	}
	if want := "pixels: console needs a terminal"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", stderr.String(), want)
	}
	if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n"); lines != 0 {
		t.Errorf("stderr has %d lines, want one: %q", lines+1, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q, want nothing", stdout.String())
	}
}
