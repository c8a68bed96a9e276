package sim

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s1, err := New(Options{Dir: dir, Faults: "job_time=5ms"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := login(t, s1)
	c.createContainer("px-run")
	c.mustJob("virt.instance.create", map[string]any{"name": "px-off", "image": "alpine/3.20",
		"autostart": false})
	c.mustCall(nil, "zfs.snapshot.create", map[string]any{"dataset": datasetOf("px-run"),
		"name": "clean"})
	key1 := s1.APIKey()
	rec1, err := ReadRecord(dir)
	if err != nil || rec1.SSHPorts["px-run"] == 0 || rec1.APIKey != key1 {
		t.Fatalf("record before restart: %+v, %v", rec1, err)
	}
	hostKey := filepath.Join(dir, "containers", "px-run", hostKeyFile)
	keyData1, err := os.ReadFile(hostKey)
	if err != nil {
		t.Fatalf("host key: %v", err)
	}
	var before map[string]any
	c.mustCall(&before, "virt.instance.get_instance", "px-run")
	if err := s1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := ReadRecord(dir); err == nil {
		t.Fatalf("record survived Close")
	}

	s2 := startServer(t, Options{Dir: dir})
	if s2.APIKey() != key1 {
		t.Fatalf("API key changed across restart")
	}
	c2 := login(t, s2)
	var after map[string]any
	c2.mustCall(&after, "virt.instance.get_instance", "px-run")
	// The address is the same unless its own loopback address could be bound in one run and
	// not the other (another simulator holding it), when the 127.0.0.1 fallback shows.
	aliases, _ := after["aliases"].([]any)
	if after["status"] != statusRunning || len(aliases) != 1 ||
		(!equalJSON(after["aliases"], before["aliases"]) &&
			!strings.Contains(fmt.Sprint(after["aliases"], before["aliases"]), "127.0.0.1")) {
		t.Fatalf("px-run after restart: %v (before %v)", after, before)
	}
	var off map[string]any
	c2.mustCall(&off, "virt.instance.get_instance", "px-off")
	if off["status"] != statusStopped {
		t.Fatalf("px-off after restart: %v", off)
	}
	var snaps []map[string]any
	c2.mustCall(&snaps, "zfs.snapshot.query")
	if len(snaps) != 1 {
		t.Fatalf("snapshots after restart: %v", snaps)
	}
	rec2, err := ReadRecord(dir)
	if err != nil || rec2.SSHPorts["px-run"] == 0 || len(rec2.SSHPorts) != 1 {
		t.Fatalf("record after restart: %+v, %v", rec2, err)
	}
	keyData2, err := os.ReadFile(hostKey)
	if err != nil || !bytes.Equal(keyData1, keyData2) {
		t.Fatalf("host key changed across restart (%v)", err)
	}
}
