package truenas

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestWriteFileRefusesSymlinks(t *testing.T) {
	const root = "/var/lib/incus/storage-pools/tank/containers/px-a/rootfs"
	tests := []struct {
		name  string
		path  string
		paths map[string]string // in-container path -> type filesystem.stat reports
		err   error
		text  string   // in the error
		stats []string // in-container paths stat'ed, in order
	}{
		{
			name: "plain path",
			path: "/root/.ssh/authorized_keys",
			paths: map[string]string{"/root": "DIRECTORY", "/root/.ssh": "DIRECTORY",
				"/root/.ssh/authorized_keys": "FILE"},
			stats: []string{"/root", "/root/.ssh", "/root/.ssh/authorized_keys"},
		},
		{
			name:  "new file in an existing directory",
			path:  "/etc/hostname",
			paths: map[string]string{"/etc": "DIRECTORY"},
			stats: []string{"/etc", "/etc/hostname"},
		},
		{
			name:  "missing parent",
			path:  "/root/.ssh/authorized_keys",
			paths: map[string]string{"/root": "DIRECTORY"},
			stats: []string{"/root", "/root/.ssh"},
		},
		{
			name:  "symlinked leaf",
			path:  "/etc/hostname",
			paths: map[string]string{"/etc": "DIRECTORY", "/etc/hostname": "SYMLINK"},
			err:   ErrInvalid,
			text:  "/etc/hostname is a symlink",
			stats: []string{"/etc", "/etc/hostname"},
		},
		{
			name: "symlinked middle directory",
			path: "/root/.ssh/authorized_keys",
			paths: map[string]string{"/root": "DIRECTORY", "/root/.ssh": "SYMLINK",
				"/root/.ssh/authorized_keys": "FILE"},
			err:   ErrInvalid,
			text:  "/root/.ssh is a symlink",
			stats: []string{"/root", "/root/.ssh"},
		},
		{
			name:  "symlinked top directory",
			path:  "/etc/x/../machine-id",
			paths: map[string]string{"/etc": "SYMLINK"},
			err:   ErrInvalid,
			text:  "/etc is a symlink",
			stats: []string{"/etc"},
		},
		{
			name:  "file in the middle",
			path:  "/etc/hostname/x",
			paths: map[string]string{"/etc": "DIRECTORY", "/etc/hostname": "FILE"},
			err:   ErrInvalid,
			text:  "/etc/hostname is not a directory",
			stats: []string{"/etc", "/etc/hostname"},
		},
		{
			name:  "fifo as the leaf",
			path:  "/etc/hostname",
			paths: map[string]string{"/etc": "DIRECTORY", "/etc/hostname": "OTHER"},
			err:   ErrInvalid,
			text:  "/etc/hostname is not a regular file",
			stats: []string{"/etc", "/etc/hostname"},
		},
		{
			name:  "link loop",
			path:  "/etc/hostname",
			paths: map[string]string{"/etc": "DIRECTORY", "/etc/hostname": "ELOOP"},
			text:  "checking /etc/hostname for symlinks: [Errno 40] Too many levels",
			stats: []string{"/etc", "/etc/hostname"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			v := s.virtModel()
			v.add("px-a", "RUNNING")
			for p, typ := range tt.paths {
				v.paths[root+p] = typ
			}
			b := dialFake(t, s)

			err := b.WriteFile(testCtx(t), "px-a", tt.path, []byte("x\n"), 0o644, 0, 0)
			failed := tt.err != nil || tt.text != ""
			if (err != nil) != failed || tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("WriteFile = %v, want %v", err, tt.err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not say %q", err, tt.text)
			}

			var stats []string
			for _, c := range s.callsTo("filesystem.stat") {
				var p []string
				_ = json.Unmarshal(c, &p)
				stats = append(stats, strings.TrimPrefix(p[0], root))
			}
			if strings.Join(stats, " ") != strings.Join(tt.stats, " ") {
				t.Errorf("stat calls = %q, want %q", stats, tt.stats)
			}
			writes := len(s.callsTo("filesystem.file_receive"))
			if want := map[bool]int{false: 1, true: 0}[failed]; writes != want {
				t.Errorf("file_receive calls = %d, want %d", writes, want)
			}
		})
	}
}
