package sim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cronRunScript runs a script in the cron shell and returns its output and status.
func cronRunScript(t *testing.T, s *Server, script string) (string, int) {
	t.Helper()
	out := &cronOutput{}
	status, err := s.runCron(context.Background(), script, out)
	if err != nil {
		t.Fatalf("running %q: %v", script, err)
	}
	return string(out.full), status
}

func TestCronShellTouchesNothingOnTheHost(t *testing.T) {
	s := startServer(t, Options{})
	host := t.TempDir()
	secret := filepath.Join(host, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	made := filepath.Join(host, "made")
	t.Setenv("PIXELS_SIM_HOST_ONLY", "leaked")

	steps := []struct {
		script, want string
		status       int
	}{
		{"cat /etc/passwd", "sh: 1: cat: not found\n", 127},
		{"echo x > " + made, "sh: 1: cannot create " + made + ": Permission denied\n", 1},
		{"echo x >> " + made, "sh: 1: cannot create " + made + ": Permission denied\n", 1},
		{"read l < " + secret, "sh: 1: cannot open " + secret + ": Permission denied\n", 1},
		{"exec > " + made, "sh: 1: cannot create " + made + ": Permission denied\n", 1},
		{"cd /", "sh: 1: cd: can't cd to /\n", 2},
		{"cd " + host + "; pwd; pwd -P", "sh: 1: cd: can't cd to " + host + "\n/\n/\n", 0},
		{". /etc/profile", "sh: 1: .: cannot open /etc/profile: Permission denied\n", 2},
		{"source " + secret, "sh: 1: source: not found\n", 127},
		{"[ -e " + secret + " ] && echo seen || echo unseen", "unseen\n", 0},
		{"echo " + host + "/*", host + "/*\n", 0},
		{"/bin/cat " + secret, "sh: 1: /bin/cat: not found\n", 127},
		{"type cat; type zfs; command -v sleep; command -v echo", "cat: not found\n" +
			"zfs is /sbin/zfs\n/bin/sleep\necho\n", 0},
		{"command -v cat", "", 127},
		{"pushd /", "sh: 1: pushd: not found\n", 127},
		{"[[ -e / ]]", "sh: 1: [[: not found\n", 127},
		{"eval 'cat <(echo x)'", "sh: 1: eval: Syntax error: `<` must be followed by a word\n", 2},
		{"trap 'cat <(echo x)' EXIT", "sh: 1: trap: Syntax error: `<` must be followed by a " +
			"word\n", 2},
		{`echo "[$PIXELS_SIM_HOST_ONLY] $HOME $USER $PATH"`, "[] /root root " + cronPath + "\n", 0},
		{"sleep soon", "sleep: invalid time interval 'soon'\n", 1},
		{"sleep 0; /usr/sbin/zfs list -H -o name tank; /sbin/zfs list -H -o name tank", "tank\n" +
			"tank\n", 0},
		{"/usr/bin/zfs list", "sh: 1: /usr/bin/zfs: not found\n", 127},
		{"if then", "sh: 1: Syntax error: `if` must be followed by a statement list\n", 2},
	}
	for _, st := range steps {
		out, status := cronRunScript(t, s, st.script)
		if out != st.want || status != st.status {
			t.Errorf("%s:\n got %d %q\nwant %d %q", st.script, status, out, st.status, st.want)
		}
	}

	entries, err := os.ReadDir(host)
	if err != nil || len(entries) != 1 {
		t.Fatalf("host directory changed: %v, %v", entries, err)
	}
	if data, _ := os.ReadFile(secret); string(data) != "s3cret\n" {
		t.Fatalf("host file changed: %q", data)
	}
	if _, err := os.Stat(filepath.Join(s.opts.Dir, stateFile, "tmp")); err == nil {
		t.Fatalf("the shell's temporary directory exists")
	}
}

func TestCronShellBuiltinsWork(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{})
	script := strings.Join([]string{
		"set -eu",
		`f() { printf '%s-%s\n' "$1" "$2"; }`,
		"f a b",
		"x=$(echo inner)",
		`echo "x=$x"`,
		"printf 'one\ttwo\n' | while IFS='\t' read -r p v; do echo \"[$p][$v]\"; done",
		"true && echo and || echo or",
		"false || echo fallback",
		"[ 2 -gt 1 ] && test a = a && echo tests",
		"trap 'echo bye' EXIT",
		"exit 5",
	}, "; ")
	out, status := cronRunScript(t, s, script)
	want := "a-b\nx=inner\n[one][two]\nand\nfallback\ntests\nbye\n"
	if out != want || status != 5 {
		t.Fatalf("got %d %q, want 5 %q", status, out, want)
	}

	out, status = cronRunScript(t, s, "set -e; false; echo not reached")
	if out != "" || status != 1 {
		t.Fatalf("set -e: %d %q", status, out)
	}
	out, status = cronRunScript(t, s, fmt.Sprintf("echo %s | zfs recv tank/x", "junk"))
	if out != "cannot receive: invalid stream (bad magic number)\n" || status != 1 {
		t.Fatalf("pipe into zfs: %d %q", status, out)
	}
}

func TestCronOutputExcerpt(t *testing.T) {
	t.Parallel()
	long := func(n int, end string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "l%d\n", i)
		}
		return strings.TrimSuffix(b.String(), "\n") + end
	}
	cases := []struct {
		name, out, want string
	}{
		{"empty", "", ""},
		{"short", "a\nb\n", "a\nb\nExecuted CronTask - L: a\nb\n"},
		{"no newline", "a", "aExecuted CronTask - L: a"},
		{"ten lines", long(10, "\n"), long(10, "\n") + "Executed CronTask - L: " +
			long(10, "\n")},
		// The log has 22 lines: its last ten are the second copy's l1..l10.
		{"eleven lines", long(11, "\n"), long(10, "\n") + "... 2 more lines ...\n" +
			strings.Join(strings.Split(long(11, "\n"), "\n")[1:], "\n")},
	}
	for _, tc := range cases {
		o := &cronOutput{}
		o.Write([]byte(tc.out))
		if got := o.excerpt("L"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, o.excerpt("L"), tc.want)
		}
	}

	// Past what is kept whole, the excerpt comes from both ends and counts the rest.
	big := &cronOutput{}
	line := strings.Repeat("x", 1000)
	for i := range 1000 {
		fmt.Fprintf(big, "%d %s\n", i, line)
	}
	got := strings.Split(big.excerpt("L"), "\n")
	if len(got) != 22 || !strings.HasPrefix(got[0], "0 x") || got[10] != "... 1980 more lines ..." ||
		!strings.HasPrefix(got[20], "999 x") {
		t.Fatalf("excerpt of a big output: %d lines, %q ... %q", len(got), got[0], got[10])
	}
}
