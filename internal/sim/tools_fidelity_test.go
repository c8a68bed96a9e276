package sim

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The cases below were checked against GNU grep 3 and coreutils 9 in the C locale; each
// table fails on the simulator's tools as they were before the matching fix.

func TestGrepRepeatedE(t *testing.T) {
	const setup = "printf 'alpha\\nbeta\\ngamma\\nAlpha\\n' > f; printf 'beta x\\n' > g; "
	tests := []struct {
		name   string
		script string
		stdout string
		status int
	}{
		{"two patterns", "grep -e alpha -e beta f", "alpha\nbeta\n", 0},
		{"count", "grep -c -e alpha -e beta f", "2\n", 0},
		{"same line twice counts once", "grep -c -e alpha -e alpha f", "1\n", 0},
		{"ignore case", "grep -i -e ALPHA -e gam f", "alpha\ngamma\nAlpha\n", 0},
		{"invert", "grep -v -e alpha -e beta f", "gamma\nAlpha\n", 0},
		{"whole line", "grep -x -e beta -e gam f", "beta\n", 0},
		{"attached value and two files", "grep -ealpha -e beta f g",
			"f:alpha\nf:beta\ng:beta x\n", 0},
		{"quiet", "grep -q -e nope -e gamma f", "", 0},
		{"no match", "grep -e nope -e none f", "", 1},
		{"first operand is a file after -e", "grep -e gamma f g", "f:gamma\n", 0},
		{"newline separates patterns", "grep \"$(printf 'alpha\\ngam')\" f",
			"alpha\ngamma\n", 0},
		{"empty pattern matches all", "grep -c -e alpha -e '' f", "4\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBox(t)
			stdout, stderr, status, _ := runScript(t, b, setup+tt.script, "")
			if stdout != tt.stdout || status != tt.status {
				t.Errorf("%s = %q, %d; want %q, %d (stderr %q)",
					tt.script, stdout, status, tt.stdout, tt.status, stderr)
			}
		})
	}
}

func TestMkdirParentsSymlinks(t *testing.T) {
	const setup = "mkdir -p /x /d; ln -s nowhere /x/dl; ln -s /gone /x/abs; ln -s dl /x/l2; " +
		"ln -s /d /x/ld; touch /x/file; ln -s self /x/self; cd /x; "
	tests := []struct {
		name    string
		script  string
		stderr  string
		status  int
		absent  string // a path that must not exist afterwards
		present string // a directory that must exist afterwards
	}{
		{name: "dangling parent", script: "mkdir -p /x/dl/sub",
			stderr: "mkdir: cannot create directory '/x/dl': File exists\n", status: 1,
			absent: "/x/nowhere"},
		{name: "dangling absolute parent", script: "mkdir -p abs/sub",
			stderr: "mkdir: cannot create directory 'abs': File exists\n", status: 1,
			absent: "/gone"},
		{name: "link to a dangling link", script: "mkdir -p l2/a",
			stderr: "mkdir: cannot create directory 'l2': File exists\n", status: 1,
			absent: "/x/nowhere"},
		{name: "fresh tree, odd slashes", script: "mkdir -p ./x//dl//", present: "/x/x/dl"},
		{name: "dangling last, typed as is", script: "mkdir -p dl/",
			stderr: "mkdir: cannot create directory 'dl/': File exists\n", status: 1,
			absent: "/x/nowhere"},
		{name: "dangling then dotdot", script: "mkdir -p dl/../z",
			stderr: "mkdir: cannot create directory 'dl': File exists\n", status: 1,
			absent: "/x/z"},
		{name: "without -p", script: "mkdir dl",
			stderr: "mkdir: cannot create directory 'dl': File exists\n", status: 1,
			absent: "/x/nowhere"},
		{name: "file as parent", script: "mkdir -p file/sub",
			stderr: "mkdir: cannot create directory 'file': Not a directory\n", status: 1},
		{name: "file as last", script: "mkdir -p file",
			stderr: "mkdir: cannot create directory 'file': File exists\n", status: 1},
		{name: "link loop", script: "mkdir -p self/a",
			stderr: "mkdir: cannot create directory 'self': Too many levels of symbolic links\n",
			status: 1},
		{name: "link to a directory", script: "mkdir -p ld/y/z", present: "/d/y/z"},
		{name: "existing tree", script: "mkdir -p /x /d/.././d/", present: "/d"},
		{name: "others still made", script: "mkdir -p a dl/s b",
			stderr: "mkdir: cannot create directory 'dl': File exists\n", status: 1,
			present: "/x/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBox(t)
			_, stderr, status, _ := runScript(t, b, setup+tt.script, "")
			if stderr != tt.stderr || status != tt.status {
				t.Errorf("%s = %q, %d; want %q, %d", tt.script, stderr, status, tt.stderr,
					tt.status)
			}
			if tt.absent != "" {
				if _, err := b.stat(tt.absent, false); err == nil {
					t.Errorf("%s created %s", tt.script, tt.absent)
				}
			}
			if tt.present != "" {
				if info, err := b.stat(tt.present, false); err != nil || !info.IsDir() {
					t.Errorf("%s did not create directory %s: %v", tt.script, tt.present, err)
				}
			}
		})
	}
}

func TestMkdirModeOnlyOnLast(t *testing.T) {
	b := newTestBox(t)
	stdout, stderr, status, _ := runScript(t, b, "mkdir -p -m 700 /n/o/p; ls -ld /n/o /n/o/p", "")
	if status != 0 || !strings.HasPrefix(stdout, "drwxr-xr-x ") ||
		!strings.Contains(stdout, "\ndrwx------ ") {
		t.Errorf("mkdir -p -m 700 then ls = %q, %d (stderr %q); want parents 755, last 700",
			stdout, status, stderr)
	}
}

// idName is how ls -l shows an owner in the simulator: root by name, others by number.
func idName(id uint32) string {
	if id == 0 {
		return "root"
	}

	return strconv.FormatUint(uint64(id), 10)
}

func TestLsLongOwner(t *testing.T) {
	tests := []struct {
		name  string
		owner string // chown argument; "" leaves the file as created
		uid   uint32 // wanted when the host lets the simulator chown
		gid   uint32
	}{
		{name: "as created", owner: ""},
		{name: "root", owner: "0:0", uid: 0, gid: 0},
		{name: "numeric", owner: "1234:5678", uid: 1234, gid: 5678},
		{name: "group only", owner: ":4321", uid: 0, gid: 4321},
		{name: "largest", owner: "4294967294:7", uid: 4294967294, gid: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBox(t)
			script := "touch /f; "
			if tt.owner != "" {
				script += "chown " + tt.owner + " /f; "
			}
			stdout, stderr, status, _ := runScript(t, b, script+"ls -l /f; ls -l /", "")
			if status != 0 {
				t.Fatalf("%s: status %d (stderr %q)", script, status, stderr)
			}

			root, err := b.fsRoot()
			if err != nil {
				t.Fatal(err)
			}
			info, err := root.Lstat("f")
			if err != nil {
				t.Fatal(err)
			}
			sys := info.Sys().(*syscall.Stat_t)
			if os.Geteuid() == 0 && tt.owner != "" && (sys.Uid != tt.uid || sys.Gid != tt.gid) {
				t.Fatalf("chown %s made %d:%d; want %d:%d", tt.owner, sys.Uid, sys.Gid,
					tt.uid, tt.gid)
			}
			want := " 1 " + idName(sys.Uid) + " " + idName(sys.Gid) + " "
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			for _, line := range lines {
				if !strings.HasSuffix(line, " f") && !strings.HasSuffix(line, " /f") {
					continue
				}
				if !strings.Contains(line, want) {
					t.Errorf("ls -l line %q; want owner and group %q", line, want)
				}
			}
		})
	}
}

func TestChownIDRange(t *testing.T) {
	tests := []struct {
		spec   string
		stderr string
		status int
	}{
		{"99999999999", "chown: invalid user: '99999999999'\n", 1},
		{"4294967295", "chown: invalid user: '4294967295'\n", 1},
		{":4294967295", "chown: invalid group: ':4294967295'\n", 1},
		{"0:99999999999", "chown: invalid group: '0:99999999999'\n", 1},
		{"99999999999:0", "chown: invalid user: '99999999999:0'\n", 1},
		{"-1", "chown: invalid user: '-1'\n", 1},
		{"4294967294", "", 0},
		{"+5:007", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			b := newTestBox(t)
			root, err := b.fsRoot()
			if err != nil {
				t.Fatal(err)
			}
			_, _, _, _ = runScript(t, b, "touch /f", "")
			before, err := root.Lstat("f")
			if err != nil {
				t.Fatal(err)
			}

			_, stderr, status, _ := runScript(t, b, "chown -- '"+tt.spec+"' /f", "")
			if stderr != tt.stderr || status != tt.status {
				t.Errorf("chown %s = %q, %d; want %q, %d", tt.spec, stderr, status, tt.stderr,
					tt.status)
			}
			after, err := root.Lstat("f")
			if err != nil {
				t.Fatal(err)
			}
			was, now := before.Sys().(*syscall.Stat_t), after.Sys().(*syscall.Stat_t)
			if tt.status != 0 && (was.Uid != now.Uid || was.Gid != now.Gid) {
				t.Errorf("refused chown %s still changed %d:%d to %d:%d", tt.spec, was.Uid,
					was.Gid, now.Uid, now.Gid)
			}
			if tt.spec == "+5:007" && os.Geteuid() == 0 && (now.Uid != 5 || now.Gid != 7) {
				t.Errorf("chown +5:007 made %d:%d; want 5:7", now.Uid, now.Gid)
			}
		})
	}
}

// TestScriptsOnPath: a bare name runs an executable script found along PATH in the tree, as
// a shell would; a non-executable one is not run.
func TestScriptsOnPath(t *testing.T) {
	b := newTestBox(t)
	setup := "printf '#!/bin/sh\\necho hi \"$1\"\\n' > /usr/local/bin/myscript && " +
		"chmod 755 /usr/local/bin/myscript && " +
		"printf '#!/bin/sh\\necho no\\n' > /usr/local/bin/notexec"
	if _, errb, code, _ := runScript(t, b, setup, ""); code != 0 {
		t.Fatalf("setup: %d %s", code, errb)
	}
	if out, errb, code, _ := runScript(t, b, "myscript there", ""); code != 0 ||
		out != "hi there\n" {
		t.Errorf("myscript = %q, %q, %d", out, errb, code)
	}
	if out, _, _, _ := runScript(t, b, "notexec", ""); out != "" {
		t.Errorf("a file without x bits ran: %q", out)
	}
}
