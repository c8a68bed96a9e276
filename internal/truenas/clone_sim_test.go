package truenas

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pixels-dev/pixels/internal/sim"
)

// simBackend starts an in-process simulator of version ver and dials it.
func simBackend(t *testing.T, ver string) (Backend, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := sim.New(sim.Options{Dir: dir, Version: ver, Faults: "job_time=5ms"})
	if err != nil {
		t.Fatalf("sim.New: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("sim Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	b, err := Dial(testCtx(t), DialOptions{Host: s.URL(), APIKey: s.APIKey(),
		PollInterval: 20 * time.Millisecond, RetryInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, dir
}

// A copy whose client gave up (a timeout removed the half-made container) must not swap
// into a container made under the same name meanwhile: the script checks that the
// destination is still the dataset it began on.
func TestCopyScriptLeavesAReplacedDestination(t *testing.T) {
	b, dir := simBackend(t, "25.10")
	v := b.(*virt)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, name := range []string{"px-a", "px-b"} {
		if _, err := b.Create(ctx, CreateSpec{Name: name, Image: "ubuntu/24.04",
			Autostart: true}, nil); err != nil {
			t.Fatalf("Create %s: %v", name, err)
		}
	}
	if err := b.WriteFile(ctx, "px-a", "/srv/marker", []byte("from-a\n"), 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateSnapshot(ctx, "px-a", "m"); err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(ctx, "px-b", StopOptions{Force: true}, nil); err != nil {
		t.Fatal(err)
	}

	// The copy, slowed down right after it noted which dataset it copies into.
	steps := copySteps("tank/.ix-virt/containers/px-a", "m", "tank/.ix-virt/containers/px-b")
	for i, st := range steps {
		if strings.HasPrefix(st, "guid=") {
			steps = append(steps[:i+1], append([]string{"sleep 1"}, steps[i+1:]...)...)
			break
		}
	}
	running := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		_, err := runAsRoot(ctx, v.c, "copy", strings.Join(steps, "; "),
			func(float64, string) {
				select {
				case running <- struct{}{}:
				default:
				}
			})
		done <- err
	}()
	select {
	case <-running:
	case err := <-done:
		t.Fatalf("copy ended before it ran: %v", err)
	}

	// Meanwhile px-b is destroyed and made again, stopped, by someone else.
	if err := b.Delete(ctx, "px-b", nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.Create(ctx, CreateSpec{Name: "px-b", Image: "ubuntu/24.04"}, nil); err != nil {
		t.Fatalf("re-Create: %v", err)
	}
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "was replaced while the copy ran") {
		t.Fatalf("copy into a replaced container = %v, want it refused", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "containers", "px-b", "rootfs", "srv",
		"marker")); err == nil {
		t.Error("the replacement container got the copy")
	}
	left, err := sim.ReadLeftovers(dir)
	if err != nil || len(left.Datasets) != 0 {
		t.Errorf("leftovers = %+v, %v; want no stray dataset", left, err)
	}
}
