package sim

import (
	"encoding/base64"
	"strings"
	"testing"
)

// snapEntry is the part of a snapshot entry the tests look at.
type snapEntry struct {
	ID           string `json:"id"`
	SnapshotName string `json:"snapshot_name"`
	Dataset      string `json:"dataset"`
	Properties   map[string]struct {
		Value    string `json:"value"`
		Rawvalue string `json:"rawvalue"`
		Source   string `json:"source"`
		Parsed   any    `json:"parsed"`
	} `json:"properties"`
}

func TestSnapshots(t *testing.T) {
	s := startServer(t, Options{})
	c := login(t, s)
	c.createContainer("px-a")
	ds := datasetOf("px-a")
	path := rootfsPrefix + "px-a/rootfs/etc/marker"
	write := func(content string) {
		t.Helper()
		c.mustCall(nil, "filesystem.file_receive", path,
			base64.StdEncoding.EncodeToString([]byte(content)), map[string]any{"mode": 0o644})
	}

	write("one")
	var first snapEntry
	c.mustCall(&first, "zfs.snapshot.create", map[string]any{"dataset": ds, "name": "one"})
	write("two")
	var second snapEntry
	c.mustCall(&second, "zfs.snapshot.create", map[string]any{"dataset": ds, "name": "two"})
	if first.ID != ds+"@one" || first.SnapshotName != "one" || first.Dataset != ds {
		t.Fatalf("first snapshot %+v", first)
	}
	for _, key := range []string{"createtxg", "creation", "used", "referenced", "userrefs"} {
		if p, ok := first.Properties[key]; !ok || p.Rawvalue == "" || p.Source != "NONE" {
			t.Fatalf("property %s = %+v", key, p)
		}
	}
	if second.Properties["createtxg"].Value <= first.Properties["createtxg"].Value {
		t.Fatalf("txg did not increase: %s then %s", first.Properties["createtxg"].Value,
			second.Properties["createtxg"].Value)
	}

	m := c.call("zfs.snapshot.create", map[string]any{"dataset": ds, "name": "one"})
	if m.Error == nil || m.Error.Code != codeCallError || m.Error.Data.Errname != "EEXIST" {
		t.Fatalf("duplicate snapshot: %+v", m.Error)
	}
	for _, bad := range []string{"..", "a/b", "x@y", ""} {
		m := c.call("zfs.snapshot.create", map[string]any{"dataset": ds, "name": bad})
		if m.Error == nil || m.Error.Code != codeInvalidParams {
			t.Fatalf("snapshot name %q: %+v", bad, m.Error)
		}
	}

	var listed []snapEntry
	c.mustCall(&listed, "zfs.snapshot.query", []any{[]any{"dataset", "=", ds}})
	if len(listed) != 2 {
		t.Fatalf("query by dataset = %+v", listed)
	}

	m = c.call("zfs.snapshot.rollback", ds+"@one")
	if m.Error == nil || m.Error.Data.Errname != "EFAULT" ||
		!strings.Contains(m.Error.Data.Reason, "more recent snapshots") ||
		!strings.Contains(m.Error.Data.Reason, ds+"@two") {
		t.Fatalf("rollback past a newer snapshot: %+v", m.Error)
	}

	c.mustJob("virt.instance.stop", "px-a", map[string]any{"timeout": 10})
	c.mustCall(nil, "zfs.snapshot.rollback", ds+"@one", map[string]any{"recursive": true})
	c.mustCall(&listed, "zfs.snapshot.query", []any{[]any{"dataset", "=", ds}})
	if len(listed) != 1 || listed[0].SnapshotName != "one" {
		t.Fatalf("after recursive rollback: %+v", listed)
	}
	c.mustJob("virt.instance.start", "px-a")
	box := boxOf(t, s, "px-a")
	if data, err := box.ReadFile("/etc/marker"); err != nil || string(data) != "one" {
		t.Fatalf("marker after rollback = %q, %v", data, err)
	}

	c.mustCall(nil, "zfs.snapshot.delete", ds+"@one")
	m = c.call("zfs.snapshot.delete", ds+"@one")
	if m.Error == nil || m.Error.Code != codeInvalidParams {
		t.Fatalf("deleting a missing snapshot: %+v", m.Error)
	}
}
