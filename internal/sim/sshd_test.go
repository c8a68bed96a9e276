package sim

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshFixture is a box served over SSH on a random loopback port.
type sshFixture struct {
	box     *Box
	srv     *SSHServer
	addr    string
	hostKey ssh.Signer
	userKey ssh.Signer
}

// newUserKey makes a fresh client key.
func newUserKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}

	return signer
}

// startSSH serves a fresh box whose authorized_keys holds one user key.
func startSSH(t *testing.T) *sshFixture {
	t.Helper()
	f := &sshFixture{box: newTestBox(t), userKey: newUserKey(t)}
	err := f.box.WriteFile("/root/.ssh/authorized_keys",
		ssh.MarshalAuthorizedKey(f.userKey.PublicKey()), 0o600, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	f.hostKey, err = LoadHostKey(filepath.Join(t.TempDir(), "ssh_host_ed25519_key"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	f.srv = ServeSSH(ln, f.hostKey, f.box, nil)
	t.Cleanup(func() { f.srv.Close() })

	return f
}

// dial logs in as user with key.
func (f *sshFixture) dial(user string, key ssh.Signer) (*ssh.Client, error) {
	return ssh.Dial("tcp", f.addr, &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.FixedHostKey(f.hostKey.PublicKey()),
		Timeout:         10 * time.Second,
	})
}

// client logs in as root with the authorized key.
func (f *sshFixture) client(t *testing.T) *ssh.Client {
	t.Helper()
	c, err := f.dial("root", f.userKey)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })

	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSSHAuth(t *testing.T) {
	f := startSSH(t)
	late := newUserKey(t)
	tests := []struct {
		name  string
		user  string
		key   ssh.Signer
		setup func()
		ok    bool
	}{
		{name: "authorized key", user: "root", key: f.userKey, ok: true},
		{name: "other key", user: "root", key: newUserKey(t)},
		{name: "other user", user: "bob", key: f.userKey},
		{name: "key added later", user: "root", key: late, ok: true, setup: func() {
			keys := append(ssh.MarshalAuthorizedKey(f.userKey.PublicKey()),
				ssh.MarshalAuthorizedKey(late.PublicKey())...)
			err := f.box.WriteFile("/root/.ssh/authorized_keys", keys, 0o600, -1, -1)
			if err != nil {
				t.Fatal(err)
			}
		}},
		{name: "key removed", user: "root", key: f.userKey, setup: func() {
			err := f.box.WriteFile("/root/.ssh/authorized_keys", nil, 0o600, -1, -1)
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			c, err := f.dial(tt.user, tt.key)
			if c != nil {
				c.Close()
			}
			if (err == nil) != tt.ok {
				t.Errorf("dial as %s: err = %v, want success %v", tt.user, err, tt.ok)
			}
		})
	}
}

func TestSSHExec(t *testing.T) {
	f := startSSH(t)
	c := f.client(t)
	tests := []struct {
		name    string
		command string
		stdin   string
		stdout  string
		stderr  string
		status  int
		signal  string
	}{
		{name: "success", command: "echo hi", stdout: "hi\n"},
		{name: "exit status", command: "sh -c 'exit 3'", status: 3},
		{name: "exit wraps", command: "sh -c 'exit 300'", status: 44},
		{name: "exit signal", command: "sh -c 'kill -KILL $$'", signal: "KILL"},
		{name: "stdin eof", command: "wc -l", stdin: "a\nb\n", stdout: "2\n"},
		{name: "empty stdin", command: "cat"},
		{name: "streams separate", command: "echo out; echo err >&2; exit 1", stdout: "out\n",
			stderr: "err\n", status: 1},
		{name: "tar from stdin", command: "tar xf - -C /tmp && cat /tmp/d/f", stdin: tarOf(t),
			stdout: "tarred\n"},
		{name: "argv kept", command: `printf '%s|' 'a b' "c'd" ''`, stdout: "a b|c'd||"},
		{name: "env value literal", command: `X='v; touch /tmp/pwned' sh -c 'printf %s "$X"'; ` +
			`test -e /tmp/pwned && echo pwned`, stdout: "v; touch /tmp/pwned", status: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var stdout, stderr bytes.Buffer
			s.Stdin, s.Stdout, s.Stderr = strings.NewReader(tt.stdin), &stdout, &stderr

			err = s.Run(tt.command)
			status, signal := 0, ""
			var exit *ssh.ExitError
			switch {
			case errors.As(err, &exit):
				status, signal = exit.ExitStatus(), exit.Signal()
			case err != nil:
				t.Fatalf("Run(%q): %v", tt.command, err)
			}
			if signal != "" {
				status = 0 // x/crypto reports -1 beside a signal name; compare the names
			}
			if stdout.String() != tt.stdout || stderr.String() != tt.stderr ||
				status != tt.status || signal != tt.signal {
				t.Errorf("Run(%q) = %q, %q, %d, %q; want %q, %q, %d, %q", tt.command,
					stdout.String(), stderr.String(), status, signal,
					tt.stdout, tt.stderr, tt.status, tt.signal)
			}
		})
	}
}

// tarOf returns an archive holding d/f, as a client would pipe from `tar cf - d`.
func tarOf(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := "tarred\n"
	hdrs := []*tar.Header{
		{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "d/f", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))},
	}
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	io.WriteString(tw, body)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	return buf.String()
}

// ptyShell opens an interactive shell session with a terminal of the given modes, and
// returns it with its input and its collected output.
func ptyShell(t *testing.T, c *ssh.Client, modes ssh.TerminalModes) (*ssh.Session,
	io.WriteCloser, *syncBuffer) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.RequestPty("xterm", 24, 80, modes); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	s.Stdout = out
	in, err := s.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	return s, in, out
}

func TestSSHShellPTY(t *testing.T) {
	f := startSSH(t)
	s, in, out := ptyShell(t, f.client(t), ssh.TerminalModes{})

	io.WriteString(in, "cd /tmp\recho hix\x7fi\r\nexit 5\r")
	err := s.Wait()
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 5 {
		t.Fatalf("Wait = %v, want exit status 5", err)
	}
	// Lines typed ahead are echoed while a command runs, and again by the next prompt.
	for _, want := range []string{"root@testbox:~# cd /tmp\r\n", "echo hix\b \bi\r\n",
		"hii\r\n", "root@testbox:/tmp# exit 5"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("shell output %q lacks %q", out.String(), want)
		}
	}
}

func TestSSHShellPTYInput(t *testing.T) {
	f := startSSH(t)
	s, in, out := ptyShell(t, f.client(t), ssh.TerminalModes{})

	seen := 0
	expect := func(want string) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%q in the shell output", want), func() bool {
			i := strings.Index(out.String()[seen:], want)
			if i >= 0 {
				seen += i + len(want)
			}
			return i >= 0
		})
	}
	for _, step := range []struct{ keys, want string }{
		{"read x; echo got:$x\r", "read x; echo got:$x\r\n"},
		{"over ssh\r", "got:over ssh\r\n"},
		{"sleep 100\r", "sleep 100\r\n"},
		{"\x03", "^C\r\nroot@testbox:~# "},
		{"echo $? ok\r", "130 ok\r\n"},
	} {
		io.WriteString(in, step.keys)
		expect(step.want)
	}

	// A signal request ends the shell itself, not only the running statement.
	io.WriteString(in, "sleep 100\r")
	expect("sleep 100\r\n")
	if err := s.Signal(ssh.SIGTERM); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	err := s.Wait()
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.Signal() != "TERM" {
		t.Fatalf("Wait = %v, want exit-signal TERM; output %q", err, out.String())
	}
}

func TestSSHKeepaliveAndActive(t *testing.T) {
	f := startSSH(t)
	c := f.client(t)
	if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		t.Fatalf("keepalive: %v", err)
	}

	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("sleep 60"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one active session", func() bool { return f.srv.Active() == 1 })
	s.Close()
	waitFor(t, "no active session", func() bool { return f.srv.Active() == 0 })
}

func TestSSHCloseLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	f := startSSH(t)
	c := f.client(t)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("sleep 60"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the session to start", func() bool { return f.srv.Active() == 1 })

	start := time.Now()
	if err := f.srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v with a session running", d)
	}
	if err := s.Wait(); err == nil {
		t.Error("session survived Close")
	}
	c.Close()
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestSSHShellNoPTY(t *testing.T) {
	f := startSSH(t)
	s, err := f.client(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out bytes.Buffer
	s.Stdout, s.Stdin = &out, strings.NewReader("echo a\nkill -9 $$\necho never\n")

	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	err = s.Wait()
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.Signal() != "KILL" {
		t.Fatalf("Wait = %v, want exit-signal KILL", err)
	}
	if want := "root@testbox:~# a\nroot@testbox:~# "; out.String() != want {
		t.Errorf("shell output = %q, want %q", out.String(), want)
	}
}

func TestSSHEnvRequest(t *testing.T) {
	f := startSSH(t)
	s, err := f.client(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Setenv("X", "v; touch /tmp/pwned"); err != nil {
		t.Fatalf("Setenv: %v", err)
	}

	out, err := s.Output(`sh -c 'printf %s "$X"'`)
	if err != nil || string(out) != "v; touch /tmp/pwned" {
		t.Errorf("Output = %q, %v", out, err)
	}
	if _, err := f.box.ReadFile("/tmp/pwned"); err == nil {
		t.Error("an env value was executed")
	}
}

// TestSSHStreams checks output reaches the client while the command still runs (B22's
// streaming callbacks depend on it).
func TestSSHStreams(t *testing.T) {
	f := startSSH(t)
	s, err := f.client(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stdout, err := s.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("echo first; sleep 60"); err != nil {
		t.Fatal(err)
	}

	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 6)
		n, _ := io.ReadFull(stdout, buf)
		got <- string(buf[:n])
	}()
	select {
	case line := <-got:
		if line != "first\n" {
			t.Errorf("first output = %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no output while the command was running")
	}
}

func TestSSHSignalRequest(t *testing.T) {
	f := startSSH(t)
	s, err := f.client(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start("sleep 60"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the session to start", func() bool { return f.srv.Active() == 1 })

	if err := s.Signal(ssh.SIGTERM); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	err = s.Wait()
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.Signal() != "TERM" {
		t.Errorf("Wait = %v, want exit-signal TERM", err)
	}
}
