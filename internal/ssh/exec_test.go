package ssh

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while a session writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestClient returns a Client with its own data dir, no agent and an empty HOME, so no
// test reads the developer's keys or talks to their agent.
func newTestClient(t *testing.T, edit ...func(*Options)) *Client {
	t.Helper()
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("HOME", t.TempDir())

	opts := Options{DataDir: t.TempDir(), DialTimeout: 5 * time.Second}
	for _, e := range edit {
		e(&opts)
	}

	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// poll waits until cond holds or the deadline passes.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestQuote(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want string
	}{
		{
			"plain words",
			[]string{"echo", "hi", "/tmp/x.txt", "-l", "a,b:c@d%e+f"},
			"echo hi /tmp/x.txt -l a,b:c@d%e+f",
		},
		{"one word with spaces", []string{"echo one; echo two"}, `'echo one; echo two'`},
		{"empty", []string{""}, `''`},
		{"single quote", []string{"c'd"}, `'c'\''d'`},
		{"dollar", []string{"$HOME", "$"}, `'$HOME' '$'`},
		{"glob", []string{"*.go", "a?", "[ab]"}, `'*.go' 'a?' '[ab]'`},
		{"newline", []string{"a\nb"}, "'a\nb'"},
		{"assignment-like", []string{"FOO=bar"}, `'FOO=bar'`},
		{"tilde", []string{"~", "~/x"}, `'~' '~/x'`},
		{"double dash kept", []string{"git", "checkout", "--", "README.md"}, "git checkout -- README.md"},
		{
			"metacharacters",
			[]string{"a;b", "a|b", "a&b", "`x`", `"q"`, `\`, "!"},
			`'a;b' 'a|b' 'a&b' '` + "`x`" + `' '"q"' '\' '!'`,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quote(tt.argv); got != tt.want {
				t.Errorf("Quote(%q) = %s, want %s", tt.argv, got, tt.want)
			}
		})
	}
}

// TestExecArgvRoundTrip checks that the remote shell splits the command back into exactly
// the argv given (B15, B17).
func TestExecArgvRoundTrip(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)

	tests := []struct {
		name string
		argv []string
	}{
		{"printf words", []string{"%s|", "a b", "c'd", ""}},
		{"dollar and globs", []string{"$", "$HOME", "${x}", "*", "/*", "?"}},
		{"newlines and tabs", []string{"a\nb", "\t", "line\n"}},
		{"double dashes", []string{"checkout", "--", "README.md", "--"}},
		{"shell syntax stays literal", []string{";", "&&", "|", ">", "<", "$(id)", "`id`", "#x"}},
		{"quotes and backslashes", []string{`'`, `"`, `\`, `\'`, `'\''`}},
		{"unicode", []string{"héllo wörld", "日本"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			argv := append([]string{"argv"}, tt.argv...)
			code, err := c.Exec(context.Background(), srv.addr, ExecRequest{Argv: argv, Stdout: &out})
			if err != nil || code != 0 {
				t.Fatalf("Exec = %d, %v", code, err)
			}

			var got []string
			if err := json.Unmarshal([]byte(out.String()), &got); err != nil {
				t.Fatalf("decoding %q: %v", out.String(), err)
			}
			if strings.Join(got, "\x00") != strings.Join(tt.argv, "\x00") || len(got) != len(tt.argv) {
				t.Errorf("remote argv %q, want %q", got, tt.argv)
			}
		})
	}
}

func TestExecOutput(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)

	tests := []struct {
		name    string
		req     ExecRequest
		stdout  string
		command string // the command string the server received, when checked
		code    int
	}{
		{
			name:   "sh -c keeps its script as one word",
			req:    ExecRequest{Argv: []string{"sh", "-c", "echo one; echo two"}},
			stdout: "one\ntwo\n",
		},
		{
			name:   "printf",
			req:    ExecRequest{Argv: []string{"printf", "%s|", "a b", "c'd", ""}},
			stdout: "a b|c'd||",
		},
		{
			name: "env value with a semicolon stays data",
			req: ExecRequest{
				Argv: []string{"sh", "-c", `printf %s "$X"`},
				Env:  map[string]string{"X": "v; touch /tmp/pwned"},
			},
			stdout: "v; touch /tmp/pwned",
		},
		{
			name:   "later double dash reaches the command",
			req:    ExecRequest{Argv: []string{"sh", "-c", `printf "[%s]" "$@"`, "_", "--", "a"}},
			stdout: "[--][a]",
		},
		{
			name:    "git checkout -- file intact",
			req:     ExecRequest{Argv: []string{"git", "checkout", "--", "README.md"}},
			command: "git checkout -- README.md",
			code:    127,
		},
		{
			name: "cwd and env order",
			req: ExecRequest{Argv: []string{"pwd"}, Cwd: "/tmp",
				Env: map[string]string{"B": "2", "A": "1 1"}},
			stdout:  "/tmp\n",
			command: "cd /tmp && env 'A=1 1' 'B=2' pwd",
		},
		{
			name:   "one word is not split",
			req:    ExecRequest{Argv: []string{"echo one"}},
			code:   127,
			stdout: "",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			tt.req.Stdout = &out
			code, err := c.Exec(context.Background(), srv.addr, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if out.String() != tt.stdout {
				t.Errorf("stdout %q, want %q", out.String(), tt.stdout)
			}
			if tt.command != "" && srv.lastCommand() != tt.command {
				t.Errorf("server got %q, want %q", srv.lastCommand(), tt.command)
			}
		})
	}
}

func TestCommandRefuses(t *testing.T) {
	tests := []struct {
		name string
		req  ExecRequest
	}{
		{"empty argv", ExecRequest{}},
		{"bad env name", ExecRequest{Argv: []string{"true"}, Env: map[string]string{"A B": "x"}}},
		{"assignment-like command after env",
			ExecRequest{Argv: []string{"A=1"}, Env: map[string]string{"X": "1"}}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := command(tt.req); err == nil {
				t.Error("command() accepted it")
			}
		})
	}
}

// TestExecExitCodes covers B13: statuses, signals and a missing status.
func TestExecExitCodes(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)

	tests := []struct {
		name    string
		argv    []string
		code    int
		wantErr error
		anyErr  bool
	}{
		{"success", []string{"true"}, 0, nil, false},
		{"exit 3", []string{"sh", "-c", "exit 3"}, 3, nil, false},
		{"exit 300 as the shell reports it", []string{"sh", "-c", "exit 300"}, 44, nil, false},
		{"killed by KILL", []string{"die", "KILL"}, 137, nil, false},
		{"killed by TERM", []string{"die", "TERM"}, 143, nil, false},
		{"killed by SIGSEGV name", []string{"die", "SEGV"}, 139, nil, false},
		{"no exit status", []string{"vanish"}, 255, ErrNoExitStatus, true},
		{"unknown signal", []string{"die", "WHAT"}, 255, nil, true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := c.Exec(context.Background(), srv.addr, ExecRequest{Argv: tt.argv})
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if (err != nil) != tt.anyErr {
				t.Errorf("err = %v, want error: %v", err, tt.anyErr)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}

	if ErrNoExitStatus.Error() != "remote command ended without an exit status" {
		t.Errorf("ErrNoExitStatus says %q", ErrNoExitStatus)
	}
}

// TestExecStdin covers B14: local EOF reaches the remote command, output is read to the end.
func TestExecStdin(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)
	big := strings.Repeat("0123456789abcdef\n", 1<<16) // 1 MiB

	tests := []struct {
		name  string
		argv  []string
		stdin *strings.Reader
		want  string
	}{
		{"wc -l counts two lines", []string{"wc", "-l"}, strings.NewReader("a\nb\n"), "2\n"},
		{"cat with nil stdin ends at once", []string{"cat"}, nil, ""},
		{"cat copies a large input whole", []string{"cat"}, strings.NewReader(big), big},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			var out syncBuffer
			req := ExecRequest{Argv: tt.argv, Stdout: &out}
			if tt.stdin != nil {
				req.Stdin = tt.stdin
			}
			code, err := c.Exec(ctx, srv.addr, req)
			if err != nil || code != 0 {
				t.Fatalf("Exec = %d, %v", code, err)
			}
			if out.String() != tt.want {
				t.Errorf("stdout has %d bytes, want %d", len(out.String()), len(tt.want))
			}
		})
	}
}

func TestExecReusesConnection(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)
	ctx := context.Background()

	for range 5 {
		code, err := c.Exec(ctx, srv.addr, ExecRequest{Argv: []string{"true"}})
		if code != 0 || err != nil {
			t.Fatalf("Exec = %d, %v", code, err)
		}
	}
	if n := srv.handshakes.Load(); n != 1 {
		t.Errorf("%d handshakes for 5 execs, want 1", n)
	}

	// Break the connection under the cache: the next exec redials once and works.
	srv.mu.Lock()
	for _, nc := range srv.conns {
		nc.Close()
	}
	srv.mu.Unlock()

	poll(t, "the client to see the broken connection", func() bool {
		code, err := c.Exec(ctx, srv.addr, ExecRequest{Argv: []string{"true"}})
		return code == 0 && err == nil
	})
	if n := srv.handshakes.Load(); n != 2 {
		t.Errorf("%d handshakes after a redial, want 2", n)
	}
}

func TestExecCancel(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)
	ctx, cancel := context.WithCancel(context.Background())

	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := c.Exec(ctx, srv.addr, ExecRequest{Argv: []string{"sleep", "1000"}})
		done <- result{code, err}
	}()

	poll(t, "the command to start", func() bool { return srv.lastCommand() == "sleep 1000" })
	cancel()

	select {
	case r := <-done:
		if r.code != 255 || !errors.Is(r.err, context.Canceled) {
			t.Errorf("Exec = %d, %v; want 255, context.Canceled", r.code, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Exec did not return after cancel")
	}
}

// TestExecMarker: each command without a terminal carries a fresh marker in its
// environment, put after any cd so that it reaches the command.
func TestExecMarker(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)
	var seen []string
	for range 2 {
		var out syncBuffer
		if _, err := c.Exec(context.Background(), srv.addr, ExecRequest{
			Argv: []string{"sh", "-c", `printf %s "$PIXELS_EXEC"`}, Cwd: "/tmp",
			Stdout: &out}); err != nil {
			t.Fatal(err)
		}
		raw := srv.lastRawCommand()
		if !strings.HasPrefix(raw, "cd /tmp && PIXELS_EXEC="+out.String()+" ") ||
			len(out.String()) != 24 {
			t.Fatalf("command %q printed marker %q", raw, out.String())
		}
		seen = append(seen, out.String())
	}
	if seen[0] == seen[1] {
		t.Errorf("two commands share the marker %q", seen[0])
	}
}

// closedPort returns a loopback address this test opened and closed, so nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestExecUnreachable(t *testing.T) {
	srv := newTestServer(t)
	addr := srv.addr
	c := newTestClient(t)

	// A port we opened and closed again stands in for a container whose sshd is down.
	dead := closedPort(t)
	code, err := c.Exec(context.Background(), dead, ExecRequest{Argv: []string{"true"}})
	if code != 255 || err == nil || !strings.Contains(err.Error(), "connecting to "+dead) {
		t.Errorf("Exec = %d, %v", code, err)
	}

	srv.authorize("") // accept no key
	code, err = c.Exec(context.Background(), addr, ExecRequest{Argv: []string{"true"}})
	if code != 255 || err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("Exec with a refused key = %d, %v", code, err)
	}
}

func TestKeepaliveDropsDeadPeer(t *testing.T) {
	old := keepaliveInterval
	keepaliveInterval = 20 * time.Millisecond
	t.Cleanup(func() { keepaliveInterval = old })

	srv := newTestServer(t)
	c := newTestClient(t)
	ctx := context.Background()
	true_ := ExecRequest{Argv: []string{"true"}}

	if code, err := c.Exec(ctx, srv.addr, true_); code != 0 || err != nil {
		t.Fatalf("Exec = %d, %v", code, err)
	}

	srv.silent.Store(true) // the peer stops answering but keeps the socket open
	poll(t, "the unanswered keepalive to drop the connection", func() bool {
		c.connMu.Lock()
		defer c.connMu.Unlock()
		return c.conns[srv.addr] == nil
	})
	srv.silent.Store(false)

	if code, err := c.Exec(ctx, srv.addr, true_); code != 0 || err != nil {
		t.Fatalf("Exec after the drop = %d, %v", code, err)
	}
	if n := srv.handshakes.Load(); n != 2 {
		t.Errorf("%d handshakes, want 2 (one redial)", n)
	}
}

func TestExecTTY(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)
	t.Setenv("TERM", "xterm-test")

	req := ExecRequest{Argv: []string{"true"}, TTY: true}
	if code, err := c.Exec(context.Background(), srv.addr, req); code != 0 || err != nil {
		t.Fatalf("Exec = %d, %v", code, err)
	}
	if got := srv.ptyState(); got != "xterm-test 80x24" {
		t.Errorf("remote pty %q, want xterm-test 80x24", got)
	}
}
