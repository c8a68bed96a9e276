package sim

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// spawnSelf starts this test binary as a background simulator on dir.
func spawnSelf(t *testing.T, dir string) func() *exec.Cmd {
	return spawnVersion(t, dir, "")
}

// spawnVersion starts this test binary as a background simulator playing version.
func spawnVersion(t *testing.T, dir, version string) func() *exec.Cmd {
	return func() *exec.Cmd {
		exe, err := os.Executable()
		if err != nil {
			t.Fatalf("finding test binary: %v", err)
		}
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), serveEnv+"="+dir, "PIXELS_SIM_FAULTS=job_time=5ms",
			"PIXELS_SIM_VERSION="+version)
		return cmd
	}
}

func TestEnsureStartsAndReuses(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { _ = StopBackground(dir) })

	rec, started, err := Ensure(t.Context(), dir, "25.04", spawnSelf(t, dir))
	if err != nil {
		data, _ := os.ReadFile(filepath.Join(dir, "sim.log"))
		t.Fatalf("Ensure: %v\n%s", err, data)
	}
	if !started || rec.PID == os.Getpid() || rec.Version != "25.04.2.4" {
		t.Fatalf("first Ensure: started=%v record=%+v", started, rec)
	}

	again, started, err := Ensure(t.Context(), dir, "", spawnSelf(t, dir))
	if err != nil || started || again.PID != rec.PID {
		t.Fatalf("second Ensure: started=%v record=%+v err=%v", started, again, err)
	}

	c := loginURL(t, rec.URL, rec.APIKey)
	c.createContainer("px-bg")
	if _, err := CommandLog(dir, "px-bg"); err != nil {
		t.Fatalf("CommandLog of an existing container: %v", err)
	}
	if _, err := CommandLog(dir, "px-none"); err == nil {
		t.Fatalf("CommandLog of a missing container: no error")
	}
	if r, err := ReadRecord(dir); err != nil || r.SSHPorts["px-bg"] == 0 || r.PID != rec.PID {
		t.Fatalf("record after create: %+v, %v", r, err)
	}

	if err := StopBackground(dir); err != nil {
		t.Fatalf("StopBackground: %v", err)
	}
	if alive(rec.PID) {
		t.Fatalf("pid %d still alive after StopBackground", rec.PID)
	}
	if _, err := ReadRecord(dir); err == nil {
		t.Fatalf("record left after StopBackground")
	}

	if err := Reset(dir); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "containers", "px-bg")); !os.IsNotExist(err) {
		t.Fatalf("container files left after Reset: %v", err)
	}
}

func TestEnsureReplacesOtherVersion(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { _ = StopBackground(dir) })

	old, _, err := Ensure(t.Context(), dir, "25.04", spawnVersion(t, dir, "25.04"))
	if err != nil {
		t.Fatalf("Ensure 25.04: %v", err)
	}
	rec, started, err := Ensure(t.Context(), dir, "25.10", spawnVersion(t, dir, "25.10"))
	if err != nil || !started || rec.Version != "25.10.1" || rec.PID == old.PID {
		t.Fatalf("Ensure 25.10: started=%v record=%+v err=%v", started, rec, err)
	}
	if alive(old.PID) {
		t.Fatalf("the 25.04 simulator (pid %d) still runs", old.PID)
	}
}

func TestStopBackgroundSparesStrangers(t *testing.T) {
	other, dir := t.TempDir(), t.TempDir()
	t.Cleanup(func() { _ = StopBackground(other) })
	stranger, _, err := Ensure(t.Context(), other, "", spawnSelf(t, other))
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}

	// A stale record in dir whose pid now belongs to some other live process.
	stale := Record{PID: stranger.PID, URL: stranger.URL, Version: stranger.Version}
	data, _ := json.Marshal(stale)
	if err := os.WriteFile(filepath.Join(dir, recordFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := StopBackground(dir); err != nil {
		t.Fatalf("StopBackground with a stale record: %v", err)
	}
	if !alive(stranger.PID) {
		t.Fatalf("StopBackground signalled a process that does not serve its directory")
	}
	if _, err := ReadRecord(dir); err == nil {
		t.Fatalf("stale record not removed")
	}

	if _, err := New(Options{Dir: other}); err != nil {
		t.Fatal(err)
	}
	s, _ := New(Options{Dir: other})
	if err := s.Start(t.Context()); err == nil {
		s.Close()
		t.Fatalf("a second server started on a directory already served")
	}
}
