package sim

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBoxSkeleton(t *testing.T) {
	b := newTestBox(t)
	for _, p := range []string{"/etc/hostname", "/etc/os-release", "/etc/passwd"} {
		if _, err := b.ReadFile(p); err != nil {
			t.Errorf("ReadFile(%s): %v", p, err)
		}
	}
	host, _ := b.ReadFile("/etc/hostname")
	if string(host) != "testbox\n" {
		t.Errorf("/etc/hostname = %q", host)
	}
	for _, d := range []string{"/root", "/tmp", "/var/log", "/usr/bin", "/bin"} {
		if info, err := b.statAt("/", d, true); err != nil || !info.IsDir() {
			t.Errorf("%s: not a directory (%v)", d, err)
		}
	}
}

func TestBoxWriteFile(t *testing.T) {
	b := newTestBox(t)
	if err := b.WriteFile("/srv/app/conf", []byte("x=1\n"), 0o640, -1, -1); err != nil {
		t.Fatal(err)
	}
	info, err := b.statAt("/", "/srv/app/conf", true)
	if err != nil || info.Mode().Perm() != 0o640 {
		t.Fatalf("stat = %v, %v; want mode 0640", info, err)
	}
	out, _, status, _ := runScript(t, b, "cat /srv/app/conf", "")
	if out != "x=1\n" || status != 0 {
		t.Errorf("cat = %q, %d", out, status)
	}
	if err := b.WriteFile("/../../escape", []byte("no"), 0o644, -1, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadFile("/escape"); err != nil {
		t.Errorf("a /../ path did not land at the container root: %v", err)
	}
}

// TestBoxEscape tries to leave the tree; every attempt must stay inside rootfs.
func TestBoxEscape(t *testing.T) {
	dir := t.TempDir()
	b, err := OpenBox(filepath.Join(dir, "box"), "testbox")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("host secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "box", "rootfs")
	links := map[string]string{"up": "../../secret", "abs": secret, "shadow": "/etc/shadow"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, "tmp", name)); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		script string
	}{
		{name: "dotdot cat", script: "cat /../../../../etc/passwd"},
		{name: "relative dotdot", script: "cd /; cat ../../../secret"},
		{name: "symlink up", script: "cat /tmp/up"},
		{name: "symlink absolute", script: "cat " + secret + "; cat /tmp/abs"},
		{name: "symlink shadow", script: "cat /tmp/shadow"},
		{name: "write through symlink", script: "echo pwned > /tmp/up; echo pwned > /tmp/abs"},
		{name: "cd through symlink", script: "cd /tmp/up && ls"},
		{name: "glob outside", script: "echo /../../*"},
		{name: "tar traversal", script: "cd /tmp && tar cf - up abs | tar xf - -C /"},
		{name: "source host path", script: ". /tmp/up"},
		{name: "pwd -P", script: "cd /tmp && pwd -P"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, status, _ := runScript(t, b, tt.script, "")
			t.Logf("%q -> %q %q %d", tt.script, out, stderr, status)
			if strings.Contains(out+stderr, "host secret") {
				t.Errorf("%q leaked the host file: %q %q", tt.script, out, stderr)
			}
			data, err := os.ReadFile(secret)
			if err != nil || string(data) != "host secret\n" {
				t.Errorf("%q changed the host file: %q, %v", tt.script, data, err)
			}
		})
	}

	out, _, _, _ := runScript(t, b, "cat /../../../../etc/passwd", "")
	if out != "root:x:0:0:root:/root:/bin/bash\n" {
		t.Errorf("cat /../../../../etc/passwd = %q, want the container's passwd", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file appeared outside rootfs: %v", err)
	}
}

func TestBoxFifoStaysInState(t *testing.T) {
	b := newTestBox(t)
	hostTmp := t.TempDir()
	var out bytes.Buffer
	status, _, err := b.Run(context.Background(),
		// trap strings are parsed only when they run, past every parse-time check
		`trap 'while read l; do echo "$l"; done < <(echo via-fifo)' EXIT; echo "$EUID"`,
		RunIO{Stdout: &out, Env: []string{"TMPDIR=" + hostTmp}})
	if err != nil || status != 0 || out.String() != "0\nvia-fifo\n" {
		t.Errorf("Run = %q, %d, %v", out.String(), status, err)
	}
	if entries, _ := os.ReadDir(hostTmp); len(entries) != 0 {
		t.Errorf("the interpreter wrote to the host's TMPDIR: %v", entries)
	}
}

func TestBoxTarRoundTrip(t *testing.T) {
	b := newTestBox(t)
	blob := make([]byte, 70000)
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	if err := b.WriteFile("/src/tree/bin.dat", blob, 0o755, -1, -1); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFile("/src/tree/sub/empty", nil, 0o600, -1, -1); err != nil {
		t.Fatal(err)
	}

	_, stderr, status, _ := runScript(t, b,
		"cd /src && tar cf - tree | cat | tar xf - -C /tmp && tar czf /t.tgz -C /src tree", "")
	if status != 0 {
		t.Fatalf("tar pipeline: status %d, stderr %q", status, stderr)
	}
	got, err := b.ReadFile("/tmp/tree/bin.dat")
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("round trip changed the file (%d bytes, %v)", len(got), err)
	}
	info, err := b.statAt("/", "/tmp/tree/sub/empty", true)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode not kept: %v, %v", info, err)
	}
	out, _, _, _ := runScript(t, b, "tar tzf /t.tgz", "")
	if !strings.Contains(out, "tree/bin.dat") {
		t.Errorf("tar tzf = %q", out)
	}
}

func TestBoxSnapshotRestore(t *testing.T) {
	b := newTestBox(t)
	runScript(t, b, "echo old > /root/f", "")
	if err := b.Snapshot("before"); err != nil {
		t.Fatal(err)
	}
	if err := b.Snapshot("before"); err == nil {
		t.Error("a duplicate snapshot label was accepted")
	}
	runScript(t, b, "echo new > /root/f; touch /root/extra", "")
	if err := b.Restore("before"); err != nil {
		t.Fatal(err)
	}

	out, _, _, _ := runScript(t, b, "cat /root/f; test -e /root/extra || echo no-extra", "")
	if out != "old\nno-extra\n" {
		t.Errorf("after restore: %q", out)
	}
	if err := b.Restore("before"); err != nil {
		t.Errorf("restoring twice: %v", err)
	}
	if err := b.DeleteSnapshot("before"); err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"before", "../x", ""} {
		if err := b.Restore(label); err == nil {
			t.Errorf("Restore(%q) succeeded", label)
		}
	}
	if b.Size() <= 0 {
		t.Errorf("Size = %d", b.Size())
	}
}

func TestBoxLog(t *testing.T) {
	dir := t.TempDir()
	b, err := OpenBox(dir, "testbox")
	if err != nil {
		t.Fatal(err)
	}
	runScript(t, b, "apt-get install -y git", "")
	runScript(t, b, "echo a\necho b", "")
	b.Close()

	b, err = OpenBox(dir, "testbox")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.Log()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apt-get install -y git", "+ apt-get install -y git", "echo a; echo b"}
	if !slices.Equal(got, want) {
		t.Errorf("Log = %q, want %q", got, want)
	}
}

func TestBoxRunCancel(t *testing.T) {
	tests := []struct {
		name   string
		script string
	}{
		{name: "sleep", script: "sleep 60"},
		{name: "stdin read", script: "cat"},
		{name: "loop", script: "while true; do :; done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBox(t)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			pr, pw, err := os.Pipe() // stdin that never ends
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			defer pw.Close()

			start := time.Now()
			_, _, err = b.Run(ctx, tt.script, RunIO{Stdin: pr})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Run = %v, want a deadline error", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("cancel took %v", d)
			}
		})
	}
}
