//go:build linux

package ssh

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

const sshdPath = "/usr/sbin/sshd"

// openSSHD is a real OpenSSH sshd run by the test as the current user on a free 127.0.0.1
// port, with its own host key, config and authorized_keys in a temporary directory. It
// never reads /etc/ssh's keys or config and never listens on port 22.
type openSSHD struct {
	addr    string
	hostKey gossh.PublicKey
	client  *Client
	log     *syncBuffer
}

func startSSHD(t *testing.T) *openSSHD {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Skipf("skipping the OpenSSH interop tier: %s not found (install openssh-server; "+
			".ci/run does)", sshdPath)
	}
	if os.Geteuid() == 0 {
		if _, err := os.Stat("/run/sshd"); err != nil {
			t.Skip("skipping the OpenSSH interop tier: sshd run as root needs its privilege " +
				"separation directory /run/sshd (mkdir -m 0755 /run/sshd), or run as a normal user")
		}
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	hostKeyPath := filepath.Join(dir, "host_ed25519")
	if err := os.WriteFile(hostKeyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}

	c := newTestClient(t, func(o *Options) { o.User = me.Username })
	authorized, err := c.AuthorizedKey()
	if err != nil {
		t.Fatal(err)
	}
	keysPath := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keysPath, []byte(authorized), 0o600); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	config := strings.Join([]string{
		"Port " + port,
		"ListenAddress 127.0.0.1",
		"HostKey " + hostKeyPath,
		"AuthorizedKeysFile " + keysPath,
		"PidFile none",
		"UsePAM no",
		"StrictModes no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding no",
		"X11Forwarding no",
		"PrintMotd no",
		"AcceptEnv TERM",
		"",
	}, "\n")
	configPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	log := &syncBuffer{}
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", configPath)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = dir
	// Its own process group, so the per-connection processes it forks end with it; killed
	// should the test binary die without cleaning up (a timeout panic); and a bounded Wait,
	// since the forked processes hold the log pipe open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sshd: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", log.String())
		}
	})

	s := &openSSHD{addr: net.JoinHostPort("127.0.0.1", port), hostKey: signer.PublicKey(),
		client: c, log: log}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx, s.addr, 20*time.Millisecond); err != nil {
		t.Fatalf("sshd never answered: %v\nsshd log:\n%s", err, log.String())
	}
	return s
}

// freePort asks the kernel for an unused loopback port.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// exec runs argv in a temporary directory and returns status, stdout and stderr.
func (s *openSSHD) exec(t *testing.T, req ExecRequest) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	req.Stdout, req.Stderr = &out, &errb
	if req.Cwd == "" {
		req.Cwd = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	code, err := s.client.Exec(ctx, s.addr, req)
	if err != nil {
		t.Fatalf("Exec(%q) = %d, %v", req.Argv, code, err)
	}
	return code, out.String(), errb.String()
}

func TestOpenSSHExec(t *testing.T) {
	s := startSSHD(t)

	t.Run("quoting", func(t *testing.T) {
		words := []string{"plain", "a b", "it's", `"dq"`, "$HOME", "`id`", "$(id)", "*",
			"?", "~", "new\nline", "tab\there", "", "--", `back\slash`, ";", "&&", "|",
			"#", "é ü", "-n"}
		argv := append([]string{"printf", "[%s]"}, words...)
		_, out, _ := s.exec(t, ExecRequest{Argv: argv})
		want := ""
		for _, w := range words {
			want += "[" + w + "]"
		}
		if out != want {
			t.Errorf("remote argv\n got %q\nwant %q", out, want)
		}
	})

	t.Run("env and cwd", func(t *testing.T) {
		dir := t.TempDir()
		_, out, _ := s.exec(t, ExecRequest{Argv: []string{"sh", "-c", `printf '%s|%s' "$X" "$PWD"`},
			Env: map[string]string{"X": "v; w $y"}, Cwd: dir})
		if want := "v; w $y|" + dir; out != want {
			t.Errorf("got %q, want %q", out, want)
		}
	})

	t.Run("stdout and stderr apart", func(t *testing.T) {
		_, out, errs := s.exec(t, ExecRequest{Argv: []string{"sh", "-c", "echo out; echo err >&2"}})
		if out != "out\n" || errs != "err\n" {
			t.Errorf("stdout %q, stderr %q", out, errs)
		}
	})

	t.Run("stdin reaches EOF", func(t *testing.T) {
		_, out, _ := s.exec(t, ExecRequest{Argv: []string{"wc", "-c"},
			Stdin: strings.NewReader("hello")})
		if strings.TrimSpace(out) != "5" {
			t.Errorf("wc -c = %q, want 5", out)
		}
	})

	t.Run("binary stdin", func(t *testing.T) {
		data := make([]byte, 256*1024)
		for i := range data {
			data[i] = byte(i * 7)
		}
		_, out, _ := s.exec(t, ExecRequest{Argv: []string{"cat"}, Stdin: bytes.NewReader(data)})
		if out != string(data) {
			t.Errorf("cat returned %d bytes, not the %d sent", len(out), len(data))
		}
	})

	exits := []struct {
		script string
		want   int
	}{
		{"true", 0},
		{"exit 3", 3},
		{"exit 255", 255},
		{"kill -KILL $$", 128 + 9},
		{"kill -TERM $$", 128 + 15},
	}
	for _, tt := range exits {
		t.Run("status "+tt.script, func(t *testing.T) {
			code, _, _ := s.exec(t, ExecRequest{Argv: []string{"sh", "-c", tt.script}})
			if code != tt.want {
				t.Errorf("status %d, want %d", code, tt.want)
			}
		})
	}
}

func TestOpenSSHKnownHosts(t *testing.T) {
	s := startSSHD(t)

	// First use was recorded by WaitReady in pixels' own file, in OpenSSH's format.
	line := fmt.Sprintf("[127.0.0.1]:%s %s", strings.Split(s.addr, ":")[1],
		strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.hostKey))))
	if got := readFile(t, s.client.KnownHostsPath()); !strings.Contains(got, line) {
		t.Errorf("known_hosts %q lacks %q", got, line)
	}

	// Another key on record for the address is refused, with no command run.
	other := newTestClient(t, func(o *Options) {
		o.User = s.client.User()
		o.KeyPath = filepath.Join(s.client.opts.DataDir, "id_ed25519")
	})
	writeFile(t, other.KnownHostsPath(), fmt.Sprintf("[127.0.0.1]:%s %s",
		strings.Split(s.addr, ":")[1], gossh.MarshalAuthorizedKey(newSigner(t).PublicKey())))
	_, err := other.Exec(context.Background(), s.addr, ExecRequest{Argv: []string{"true"}})
	if !errors.Is(err, ErrHostKeyMismatch) {
		t.Fatalf("Exec with a changed host key = %v, want ErrHostKeyMismatch", err)
	}

	// After Forget (what destroy and recreate do), the real key is trusted again.
	if err := other.Forget(s.addr); err != nil {
		t.Fatal(err)
	}
	code, err := other.Exec(context.Background(), s.addr, ExecRequest{Argv: []string{"true"}})
	if code != 0 || err != nil {
		t.Fatalf("Exec after Forget = %d, %v; want 0, nil", code, err)
	}
	if got := readFile(t, other.KnownHostsPath()); !strings.Contains(got, line) {
		t.Errorf("known_hosts after forget and reconnect %q lacks %q", got, line)
	}
}

// TestOpenSSHCopy moves a tree through GNU tar on the far side and back; both ends are
// temporary directories here, since this sshd runs on this machine.
func TestOpenSSHCopy(t *testing.T) {
	s := startSSHD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	src := filepath.Join(t.TempDir(), "tree")
	writeFile(t, filepath.Join(src, "sub", "bin"), "\x00\xff\r\nbinary")
	writeFile(t, filepath.Join(src, "run.sh"), "#!/bin/sh\n")
	if err := os.Chmod(filepath.Join(src, "run.sh"), 0o750); err != nil {
		t.Fatal(err)
	}

	remote := t.TempDir()
	if err := s.client.CopyTo(ctx, s.addr, src, remote); err != nil {
		t.Fatalf("CopyTo: %v\nsshd log:\n%s", err, s.log.String())
	}
	const content = "\x00\xff\r\nbinary"
	if got := readFile(t, filepath.Join(remote, "tree", "sub", "bin")); got != content {
		t.Errorf("copied in: %q", got)
	}

	back := filepath.Join(t.TempDir(), "back")
	if err := s.client.CopyFrom(ctx, s.addr, filepath.Join(remote, "tree"), back); err != nil {
		t.Fatalf("CopyFrom: %v", err)
	}
	if got := readFile(t, filepath.Join(back, "sub", "bin")); got != content {
		t.Errorf("copied back: %q", got)
	}
	info, err := os.Stat(filepath.Join(back, "run.sh"))
	if err != nil || info.Mode().Perm() != 0o750 {
		t.Fatalf("run.sh after the round trip: %v, %v; want mode 0750", info, err)
	}

	err = s.client.CopyFrom(ctx, s.addr, filepath.Join(remote, "nosuch"), back)
	if !errors.Is(err, ErrRemoteNotFound) {
		t.Errorf("CopyFrom of a missing path = %v, want ErrRemoteNotFound", err)
	}
}

// TestOpenSSHConsole types into a shell that OpenSSH runs on a pseudo-terminal.
func TestOpenSSHConsole(t *testing.T) {
	s := startSSHD(t)
	master, tty := openPTY(t)
	setSize(t, tty, 90, 25)

	var out syncBuffer
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := s.client.Console(context.Background(), s.addr,
			ConsoleOptions{Shell: "sh", Stdin: tty, Stdout: &out, Stderr: &out})
		done <- result{code, err}
	}()

	if _, err := master.WriteString("echo hi-$((40+2)); stty size; exit 5\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.code != 5 || r.err != nil {
			t.Errorf("Console = %d, %v; want 5, nil", r.code, r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("Console did not return; output %q", out.String())
	}
	if !strings.Contains(out.String(), "hi-42") || !strings.Contains(out.String(), "25 90") {
		t.Errorf("console output %q lacks hi-42 and the size 25 90", out.String())
	}
}

// TestOpenSSHCancelEndsCommand: a cancelled command without a terminal does not run on. For
// a root login OpenSSH ignores the signal request, so this relies on the reap; as another
// user the signal alone would do.
func TestOpenSSHCancelEndsCommand(t *testing.T) {
	s := startSSHD(t)
	// A duration no other process on this machine is likely to sleep for, so /proc finds
	// only ours (sshd runs it on this machine).
	arg := fmt.Sprintf("%d", 3000+os.Getpid()%1000)
	running := func() bool {
		dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, d := range dirs {
			b, err := os.ReadFile(d)
			if err == nil && string(b) == "sleep\x00"+arg+"\x00" {
				return true
			}
		}
		return false
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.client.Exec(ctx, s.addr, ExecRequest{Argv: []string{"sh", "-c",
			"sleep " + arg + "; echo done"}})
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !running() {
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("the remote sleep never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Exec = %v, want context.Canceled", err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for running() {
		if time.Now().After(deadline) {
			t.Fatalf("the remote sleep %s still runs 10 s after the cancel (uid %d)", arg,
				os.Geteuid())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOpenSSHCancelledWrite: a write cancelled at any moment keeps the old file and leaves
// no temporary file, against a real sshd (as root in CI, where signals are ignored).
func TestOpenSSHCancelledWrite(t *testing.T) {
	s := startSSHD(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20) // 64 MiB
	for _, after := range []time.Duration{0, 10 * time.Millisecond, 50 * time.Millisecond,
		200 * time.Millisecond} {
		t.Run(after.String(), func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "target")
			if err := os.WriteFile(p, []byte("ORIGINAL\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(after, cancel)
			err := s.client.WriteFile(ctx, s.addr, p, data, 0o644, os.Getuid(), os.Getgid())
			cancel()
			if err == nil {
				t.Skip("the write finished before the cancel")
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				left, _ := filepath.Glob(filepath.Join(dir, ".pixels-write.*"))
				if len(left) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("temporary files left 10 s after the cancel: %v", left)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if got, _ := os.ReadFile(p); string(got) != "ORIGINAL\n" {
				t.Errorf("target holds %d bytes after a cancelled write", len(got))
			}
		})
	}
}
