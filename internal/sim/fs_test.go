package sim

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBoxResolve(t *testing.T) {
	b := newTestBox(t)
	root := filepath.Join(b.dir, "rootfs")
	links := map[string]string{
		"etc/alt":         "/usr/bin",       // absolute: from the container root
		"usr/local/bin/x": "../../bin/tool", // relative to the link's directory
		"up":              "../../../..",    // cannot climb above the root
		"loop1":           "loop2",
		"loop2":           "loop1",
		"tmp/d":           "/etc/alt/../sbin", // ".." after a link applies to its target
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		cwd, path string
		follow    bool
		want      string
	}{
		{cwd: "/", path: "/etc/alt/tool", follow: true, want: "usr/bin/tool"},
		{cwd: "/", path: "/etc/alt", follow: false, want: "etc/alt"},
		{cwd: "/", path: "/usr/local/bin/x", follow: true, want: "usr/bin/tool"},
		{cwd: "/", path: "/up/etc/passwd", follow: true, want: "etc/passwd"},
		{cwd: "/root", path: "../../../etc", follow: true, want: "etc"},
		{cwd: "/", path: "/tmp/d/f", follow: true, want: "usr/sbin/f"},
		{cwd: "/", path: "/", follow: true, want: "."},
		{cwd: "/", path: "/loop1", follow: true, want: "loop1"}, // lexical; the op fails
	}
	for _, tt := range tests {
		if got := b.name(tt.cwd, tt.path, tt.follow); got != tt.want {
			t.Errorf("name(%q, %q, %v) = %q, want %q", tt.cwd, tt.path, tt.follow, got, tt.want)
		}
	}
}
