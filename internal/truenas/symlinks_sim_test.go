package truenas

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pixels-dev/pixels/internal/sim"
)

// TestWriteFileSymlinksOnSim writes through links planted in a simulated container, end to
// end: on 25.x the client's own check must refuse, on 26 the server does. The links go
// straight into the simulator's on-disk tree (Options.Dir/containers/<name>/rootfs), as a
// container process, or a checkpoint it was copied from, would leave them.
func TestWriteFileSymlinksOnSim(t *testing.T) {
	for _, ver := range []string{"25.04", "25.10", "26"} {
		t.Run(ver, func(t *testing.T) {
			dir := t.TempDir()
			s, err := sim.New(sim.Options{Dir: dir, Version: ver, Faults: "job_time=5ms"})
			if err != nil {
				t.Fatalf("sim.New: %v", err)
			}
			if err := s.Start(context.Background()); err != nil {
				t.Fatalf("sim Start: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			ctx := testCtx(t)
			b, err := Dial(ctx, DialOptions{Host: s.URL(), APIKey: s.APIKey(),
				PollInterval: 20 * time.Millisecond, RetryInterval: 5 * time.Millisecond})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			t.Cleanup(func() { _ = b.Close() })
			if _, err := b.Create(ctx, CreateSpec{Name: "px-a", Image: "ubuntu/24.04",
				Autostart: true}, nil); err != nil {
				t.Fatalf("Create: %v", err)
			}
			// The tree exists once something has been written into it.
			if err := b.WriteFile(ctx, "px-a", "/tmp/first", []byte("x"), 0, -1, -1); err != nil {
				t.Fatalf("first write: %v", err)
			}

			rootfs := filepath.Join(dir, "containers", "px-a", "rootfs")
			plant := errors.Join(
				os.WriteFile(filepath.Join(rootfs, "etc", "secret"), []byte("keep\n"), 0o600),
				os.Remove(filepath.Join(rootfs, "etc", "hostname")),
				os.Symlink("/etc/secret", filepath.Join(rootfs, "etc", "hostname")),
				os.Symlink("/etc", filepath.Join(rootfs, "srv", "conf")),
				os.Symlink("/nonexistent", filepath.Join(rootfs, "srv", "gone")),
			)
			if plant != nil {
				t.Fatalf("planting links: %v", plant)
			}

			tests := []struct {
				name, path string
				text       string // in the error; "" for a write that must succeed
			}{
				{"linked file", "/etc/hostname", "/etc/hostname is a symlink"},
				{"linked directory", "/srv/conf/secret", "/srv/conf is a symlink"},
				// Stat cannot see a dangling link on 25.x; file_receive's makedirs then
				// finds the name taken.
				{"dangling linked directory", "/srv/gone/x", "File exists"},
				{"plain file", "/root/.ssh/authorized_keys", ""},
				{"missing parents", "/opt/a/b/c", ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					err := b.WriteFile(ctx, "px-a", tt.path, []byte("new\n"), 0o600, 0, 0)
					if tt.text == "" {
						if err != nil {
							t.Fatalf("WriteFile = %v", err)
						}
						got, err := os.ReadFile(filepath.Join(rootfs, tt.path))
						if err != nil || string(got) != "new\n" {
							t.Fatalf("%s holds %q, %v", tt.path, got, err)
						}
						return
					}
					if err == nil {
						t.Fatal("WriteFile through a link succeeded")
					}
					if strings.HasPrefix(ver, "25") && (!errors.Is(err, ErrInvalid) ||
						!strings.Contains(err.Error(), tt.text)) {
						t.Fatalf("WriteFile = %v, want ErrInvalid saying %q", err, tt.text)
					}
					if ver == "26" && (!errors.Is(err, ErrInvalid) ||
						!strings.Contains(err.Error(), "goes through a symlink") ||
						strings.Contains(err.Error(), "Errno")) {
						t.Fatalf("WriteFile = %v, want ErrInvalid in plain words", err)
					}
					got, _ := os.ReadFile(filepath.Join(rootfs, "etc", "secret"))
					if string(got) != "keep\n" {
						t.Fatalf("the link's target was written: %q", got)
					}
					if _, err := os.Lstat(filepath.Join(rootfs, "nonexistent")); err == nil {
						t.Fatal("the dangling link's target directory was created")
					}
				})
			}
		})
	}
}
