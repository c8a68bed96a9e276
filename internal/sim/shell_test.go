package sim

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// newTestBox opens a fresh box in a temporary directory.
func newTestBox(t *testing.T) *Box {
	t.Helper()
	b, err := OpenBox(t.TempDir(), "testbox")
	if err != nil {
		t.Fatalf("OpenBox: %v", err)
	}
	t.Cleanup(func() { b.Close() })

	return b
}

// runScript runs script in b and returns its outputs and status.
func runScript(t *testing.T, b *Box, script, stdin string) (string, string, int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var stdout, stderr bytes.Buffer
	status, sig, err := b.Run(ctx, script, RunIO{
		Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
	})
	if err != nil {
		t.Fatalf("Run(%q): %v", script, err)
	}

	return stdout.String(), stderr.String(), status, sig
}

func TestBoxRun(t *testing.T) {
	tests := []struct {
		name   string
		script string
		stdin  string
		stdout string
		status int
		signal string
	}{
		{name: "redirect then cat", script: "echo hi > /tmp/f; cat /tmp/f", stdout: "hi\n"},
		{name: "exit code", script: "exit 7", status: 7},
		{name: "exit wraps", script: "exit 300", status: 44},
		{name: "test -f",
			script: "touch /tmp/x; test -f /tmp/x && echo yes; test -f /nope || echo no",
			stdout: "yes\nno\n"},
		{name: "nested sh", script: `sh -c 'echo one; echo two'`, stdout: "one\ntwo\n"},
		{name: "nested params", script: `sh -c 'printf "[%s]" "$@"' _ -- a`, stdout: "[--][a]"},
		{name: "bash alias", script: `bash -c 'exit 3'`, status: 3},
		{name: "printf argv", script: `printf '%s|' 'a b' "c'd" ''`, stdout: "a b|c'd||"},
		{name: "kill self", script: "kill -KILL $$", status: 137, signal: "KILL"},
		{name: "kill -9 self", script: "echo before; kill -9 $$; echo after", stdout: "before\n",
			status: 137, signal: "KILL"},
		{name: "kill in nested sh", script: `sh -c 'kill -KILL $$'`, status: 137, signal: "KILL"},
		{name: "kill from subshell", script: "(kill -9 $$); echo after", status: 137,
			signal: "KILL"},
		{name: "kill from substitution", script: "x=$(kill -9 $$); echo after", status: 137,
			signal: "KILL"},
		{name: "kill other pid", script: "kill 1", status: 1},
		{name: "builtin by path", script: "/bin/echo via path", stdout: "via path\n"},
		{name: "ln -s", script: "echo l > /t; ln -s /t /u; cat /u; ln -sf /etc /e; ls /e/hostname",
			stdout: "l\n/e/hostname\n"},
		{name: "mktemp", script: `d=$(mktemp -d); f=$(mktemp); test -d "$d" && test -f "$f" && ` +
			`dirname "$f"`, stdout: "/tmp\n"},
		{name: "basename", script: "basename /a/b.txt .txt", stdout: "b\n"},
		{name: "umask", script: "umask 077; umask", stdout: "0022\n"},
		{name: "kill term", script: "kill $$", status: 143, signal: "TERM"},
		{name: "nested kill then more", script: `sh -c 'kill -9 $$'; echo $?`, stdout: "137\n"},
		{name: "stdin wc", script: "wc -l", stdin: "a\nb\n", stdout: "2\n"},
		{name: "stdin cat", script: "cat", stdin: "x\ny", stdout: "x\ny"},
		{name: "default env", script: `echo "$HOME $USER $PWD $HOSTNAME"`,
			stdout: "/root root /root testbox\n"},
		{name: "cd and pwd", script: "mkdir -p /a/b && cd /a/b && pwd -P", stdout: "/a/b\n"},
		{name: "head tail",
			script: "printf '1\\n2\\n3\\n' > f; head -n 1 f; tail -n 1 f; tail -2 f",
			stdout: "1\n3\n2\n3\n"},
		{name: "grep", script: "grep -q root /etc/passwd && echo found; grep nope /etc/passwd",
			stdout: "found\n", status: 1},
		{name: "id uname", script: "id -u; uname -s; hostname", stdout: "0\nLinux\ntestbox\n"},
		{name: "systemctl", script: "systemctl is-system-running", stdout: "running\n"},
		{name: "unknown program", script: "apt-get install -y git && echo ok", stdout: "ok\n"},
		{name: "cp mv rm", script: "echo a > a; cp a b; mv b c; rm a; ls", stdout: "c\n"},
		{name: "cp -r", script: "mkdir -p d/e; echo z > d/e/f; cp -r d g; cat g/e/f",
			stdout: "z\n"},
		{name: "rm -rf", script: "mkdir -p d/e; rm -rf d; test -e d || echo gone",
			stdout: "gone\n"},
		{name: "tee", script: "echo t | tee /tmp/t >/dev/null; cat /tmp/t", stdout: "t\n"},
		{name: "env wrapper", script: "env X=1 sh -c 'echo $X'", stdout: "1\n"},
		{name: "chmod exec script",
			script: "printf '#!/bin/sh\\necho ran $1\\n' > /s; chmod +x /s; /s arg",
			stdout: "ran arg\n"},
		{name: "binary recorded", script: "printf '\\177ELF' > /b; chmod +x /b; /b && echo ok",
			stdout: "ok\n"},
		{name: "missing path program", script: "/no/such", status: 127},
		{name: "command -v", script: "command -v ls; command -v nothere || echo none",
			stdout: "/usr/bin/ls\nnone\n"},
		{name: "glob", script: "mkdir /g; touch /g/a /g/b; echo /g/*", stdout: "/g/a /g/b\n"},
		{name: "sh from stdin", script: "sh", stdin: "echo piped\n", stdout: "piped\n"},
		{name: "process substitution refused", script: "cat <(echo x)", status: 2},
		{name: "process substitution in eval", script: "eval 'cat <(echo x)'; echo $?",
			stdout: "2\n"},
		{name: "process substitution in source",
			script: "echo 'cat <(echo x)' > /s.sh; . /s.sh; echo $?", stdout: "2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBox(t)
			stdout, stderr, status, sig := runScript(t, b, tt.script, tt.stdin)
			if stdout != tt.stdout || status != tt.status || sig != tt.signal {
				t.Errorf("Run(%q) = %q, %d, %q; want %q, %d, %q (stderr %q)",
					tt.script, stdout, status, sig, tt.stdout, tt.status, tt.signal, stderr)
			}
		})
	}
}
