package sim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry26 is the part of a 26 container entry the tests look at.
type testEntry26 struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Dataset string `json:"dataset"`
	Status  struct {
		State string `json:"state"`
	} `json:"status"`
}

func TestVersion26(t *testing.T) {
	s := startServer(t, Options{Version: "26"})

	anon := dial(t, s)
	if m := anon.call("virt.global.config"); m.Error == nil || m.Error.Code != codeNoMethod {
		t.Fatalf("virt.* on 26 before login: %+v", m.Error)
	}

	c := login(t, s)
	c.mustCall(nil, "core.subscribe", "container.query")
	var ver string
	c.mustCall(&ver, "system.version")
	if ver != "TrueNAS-26.0.0-BETA.3" {
		t.Fatalf("system.version = %q", ver)
	}
	if m := c.call("zfs.snapshot.query"); m.Error == nil || m.Error.Code != codeNoMethod {
		t.Fatalf("zfs.snapshot.query on 26: %+v", m.Error)
	}

	image := map[string]any{"name": "debian:bookworm:amd64:default", "version": "20260802_05:24"}
	j := c.mustJob("container.create", map[string]any{"name": "px-a", "image": image,
		"autostart": false, "shutdown_timeout": 30})
	var created testEntry26
	if err := json.Unmarshal(j.Result, &created); err != nil || created.ID == 0 ||
		created.Status.State != statusStopped ||
		created.Dataset != "tank/.truenas_containers/containers/px-a" {
		t.Fatalf("create result %s (%v)", j.Result, err)
	}
	bad := c.job("container.create", map[string]any{"name": "px-a", "image": image})
	if bad.State != jobFailed || !strings.Contains(deref(bad.Error), "already exists") {
		t.Fatalf("duplicate create: %s %q", bad.State, deref(bad.Error))
	}

	// The rootfs is mounted from create on, so files go in before the first start.
	c.mustCall(nil, "filesystem.file_receive",
		"/mnt/.truenas_containers/tank/containers/px-a/root/.ssh/authorized_keys",
		base64.StdEncoding.EncodeToString([]byte("ssh-ed25519 AAAA k\n")),
		map[string]any{"mode": 0o600, "uid": 0, "gid": 0})

	if m := c.call("container.start", created.ID); m.Error != nil || string(m.Result) != "null" {
		t.Fatalf("container.start: %s %+v", m.Result, m.Error)
	}
	if m := c.call("container.start", created.ID); m.Error == nil ||
		!strings.Contains(m.Error.Data.Reason, "already started") {
		t.Fatalf("second start: %+v", m.Error)
	}
	var running []map[string]any
	c.mustCall(&running, "container.query", []any{[]any{"status.state", "=", "RUNNING"}})
	if len(running) != 1 {
		t.Fatalf("running containers: %v", running)
	}
	if _, ok := running[0]["aliases"]; ok {
		t.Fatalf("26 entry reports addresses: %v", running[0])
	}
	rec, err := ReadRecord(s.opts.Dir)
	if err != nil || rec.SSHPorts["px-a"] == 0 || rec.SSHHosts["px-a"] == "" {
		t.Fatalf("record of a running 26 container: %+v, %v", rec, err)
	}

	ds := created.Dataset
	c.mustCall(nil, "pool.snapshot.create", map[string]any{"dataset": ds, "name": "one"})
	m := c.call("pool.snapshot.create", map[string]any{"dataset": ds, "name": "one"})
	if m.Error == nil || m.Error.Code != codeInvalidParams ||
		m.Error.Data.Reason != "[EEXIST] pool.snapshot.create: one already exists." {
		t.Fatalf("duplicate snapshot on 26: %+v", m.Error)
	}

	c.mustJob("container.stop", created.ID, map[string]any{"force": true})
	stop := c.job("container.stop", created.ID, map[string]any{"force": true})
	if stop.State != jobFailed || deref(stop.Error) != "Domain 'px-a' is not active" ||
		stop.ExcInfo["type"] != "Error" {
		t.Fatalf("stop of a stopped container: %s %q %v", stop.State, deref(stop.Error),
			stop.ExcInfo)
	}

	if m := c.call("container.delete", created.ID); m.Error != nil {
		t.Fatalf("container.delete: %+v", m.Error)
	}
	if m := c.call("container.get_instance", created.ID); m.Error == nil ||
		m.Error.Code != codeInvalidParams ||
		!strings.Contains(m.Error.Data.Reason, "does not exist") {
		t.Fatalf("get_instance after delete: %+v", m.Error)
	}

	var msgs []string
	for _, m := range c.messages() {
		var ev struct {
			Msg        string `json:"msg"`
			Collection string `json:"collection"`
		}
		if m.Method == "collection_update" && json.Unmarshal(m.Params, &ev) == nil &&
			ev.Collection == "container.query" {
			msgs = append(msgs, ev.Msg)
		}
	}
	if strings.Join(msgs, ",") != "added,changed,changed,removed" {
		t.Fatalf("container.query events %v", msgs)
	}
}

func TestVersion26RC(t *testing.T) {
	s := startServer(t, Options{Version: "26.0.0-RC.1"})
	c := login(t, s)
	var ver string
	c.mustCall(&ver, "system.version")
	if ver != "TrueNAS-26.0.0-RC.1" {
		t.Fatalf("system.version = %q", ver)
	}
	image := map[string]any{"name": "alpine:edge:amd64:default", "version": "20260803_13:00"}
	var created testEntry26
	j := c.mustJob("container.create", map[string]any{"name": "px-a", "image": image})
	if err := json.Unmarshal(j.Result, &created); err != nil {
		t.Fatal(err)
	}
	m := c.call("pool.snapshot.create", map[string]any{"dataset": created.Dataset, "name": "x"})
	if m.Error == nil || m.Error.Code != codeInvalidParams ||
		!strings.Contains(m.Error.Data.Reason, "[EACCES] zfs.resource.snapshot.create:") ||
		!strings.Contains(m.Error.Data.Reason, "is a protected path.") {
		t.Fatalf("snapshot of a container dataset on RC.1: %+v", m.Error)
	}

	c.mustCall(nil, "container.start", created.ID)
	tests := []struct {
		name      string
		opts      map[string]any
		wantState string
		wantError string
	}{
		{"running without force", map[string]any{}, jobFailed,
			"[EBUSY] container_delete.force: Container 'px-a' is running."},
		{"force", map[string]any{"force": true}, jobSuccess, ""},
		{"gone", map[string]any{"force": true}, jobFailed, "does not exist"},
	}
	for _, tt := range tests {
		j := c.job("container.delete", created.ID, tt.opts)
		if j.State != tt.wantState || !strings.Contains(deref(j.Error), tt.wantError) {
			t.Fatalf("%s: %s %q", tt.name, j.State, deref(j.Error))
		}
	}
}

// TestStart26WritesIdentity: 26 writes the name into /etc/hostname and the 127.0.1.1 lines of
// /etc/hosts at every start, replacing each file by a rename, so links there are replaced
// and their targets left alone.
func TestStart26WritesIdentity(t *testing.T) {
	s := startServer(t, Options{Version: "26"})
	c := login(t, s)
	image := map[string]any{"name": "debian:bookworm:amd64:default", "version": "20260802_05:24"}
	j := c.mustJob("container.create", map[string]any{"name": "px-a", "image": image,
		"autostart": false, "shutdown_timeout": 30})
	var created testEntry26
	if err := json.Unmarshal(j.Result, &created); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(s.opts.Dir, "containers", "px-a", "rootfs")
	etc := filepath.Join(rootfs, "etc")
	plant := errors.Join(
		os.MkdirAll(etc, 0o755),
		os.WriteFile(filepath.Join(etc, "realhostname"), []byte("px-old\n"), 0o644),
		os.Remove(filepath.Join(etc, "hostname")),
		os.Symlink("/etc/realhostname", filepath.Join(etc, "hostname")),
		os.WriteFile(filepath.Join(etc, "hosts"), []byte("127.0.0.1\tlocalhost\n"+
			"127.0.1.1 px-old old.lan\n::1 ip6-localhost\n"), 0o644),
	)
	if plant != nil && !errors.Is(plant, fs.ErrNotExist) {
		t.Fatal(plant)
	}
	c.mustCall(nil, "container.start", created.ID)

	if st, err := os.Lstat(filepath.Join(etc, "hostname")); err != nil || !st.Mode().IsRegular() {
		t.Fatalf("/etc/hostname is %v (%v), want a regular file", st, err)
	}
	for file, want := range map[string]string{
		"hostname":     "px-a\n",
		"realhostname": "px-old\n",
		"hosts":        "127.0.0.1\tlocalhost\n127.0.1.1\tpx-a\n::1 ip6-localhost\n",
	} {
		if got, _ := os.ReadFile(filepath.Join(etc, file)); string(got) != want {
			t.Errorf("/etc/%s = %q, want %q", file, got, want)
		}
	}
	// The middleware appends to readlines() as they are, so a last line without a newline
	// runs into the new one; the simulator does the same.
	if got := string(hostsWithName("127.0.0.1 localhost", "px-b")); got !=
		"127.0.0.1 localhost127.0.1.1\tpx-b\n" {
		t.Errorf("hostsWithName without a final newline = %q", got)
	}
}
