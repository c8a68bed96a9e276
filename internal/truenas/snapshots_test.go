package truenas

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// snapFixture dials a fake holding px-a with checkpoints a, b and c, oldest first.
func snapFixture(t *testing.T, version string) (*fakeServer, Backend) {
	t.Helper()
	s := newFake(t)
	s.version = version
	v := s.virtModel()
	v.add("px-a", "STOPPED")
	b := dialFake(t, s)
	for _, l := range []string{"a", "b", "c"} {
		if _, err := b.CreateSnapshot(testCtx(t), "px-a", l); err != nil {
			t.Fatalf("CreateSnapshot %s: %v", l, err)
		}
	}
	return s, b
}

func TestSnapshotsList(t *testing.T) {
	tests := []struct{ version, ns string }{
		{"TrueNAS-25.04.2.4", "zfs.snapshot"},
		{"TrueNAS-25.10.1", "pool.snapshot"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			s, b := snapFixture(t, tt.version)
			snaps, err := b.Snapshots(testCtx(t), "px-a")
			if err != nil {
				t.Fatal(err)
			}
			var labels []string
			for _, sn := range snaps {
				labels = append(labels, sn.Label)
			}
			if strings.Join(labels, ",") != "c,b,a" {
				t.Fatalf("labels = %q, want newest first c,b,a", labels)
			}
			c := snaps[0]
			want := Snapshot{ID: "tank/.ix-virt/containers/px-a@c", Label: "c",
				Dataset: "tank/.ix-virt/containers/px-a", TXG: 30, Size: 851443712 + 30,
				CreatedAt: time.Unix(1754042400+30, 0).UTC()}
			if c != want {
				t.Errorf("snapshot = %+v, want %+v", c, want)
			}
			if n := len(s.callsTo(tt.ns + ".query")); n != 1 {
				t.Errorf("%s.query calls = %d, want 1", tt.ns, n)
			}
		})
	}
}

func TestCreateSnapshotErrors(t *testing.T) {
	_, b := snapFixture(t, "TrueNAS-25.04.2.4")
	ctx := testCtx(t)
	tests := []struct {
		name, container, label string
		err                    error
	}{
		{"duplicate", "px-a", "b", ErrExists},
		{"bad label", "px-a", "x@y", ErrInvalid},
		{"missing container", "px-gone", "a", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.CreateSnapshot(ctx, tt.container, tt.label)
			if !errors.Is(err, tt.err) {
				t.Fatalf("CreateSnapshot = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestRollback(t *testing.T) {
	tests := []struct {
		name         string
		label        string
		destroyNewer bool
		err          error
		mentions     []string
		sent         string // rollback params, "" for none
		left         string
	}{
		{"newest needs nothing", "c", false, nil, nil, `["tank/.ix-virt/containers/px-a@c"]`,
			"c,b,a"},
		{"newer refused, named", "a", false, ErrNewerSnapshots, []string{`"b"`, `"c"`}, "",
			"c,b,a"},
		{"newer destroyed on request", "a", true, nil, nil,
			`["tank/.ix-virt/containers/px-a@a",{"recursive":true}]`, "a"},
		{"missing label", "zz", true, ErrNotFound, []string{`"zz"`}, "", "c,b,a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, b := snapFixture(t, "TrueNAS-25.04.2.4")
			ctx := testCtx(t)
			err := b.Rollback(ctx, "px-a", tt.label, tt.destroyNewer)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("Rollback = %v, want %v", err, tt.err)
			}
			for _, m := range tt.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not name %s", err, m)
				}
			}
			calls := s.callsTo("zfs.snapshot.rollback")
			switch {
			case tt.sent == "" && len(calls) != 0:
				t.Errorf("rollback sent %s, want nothing sent", calls)
			case tt.sent != "" && (len(calls) != 1 || string(calls[0]) != tt.sent):
				t.Errorf("rollback calls = %s, want %s", calls, tt.sent)
			}
			snaps, _ := b.Snapshots(ctx, "px-a")
			var labels []string
			for _, sn := range snaps {
				labels = append(labels, sn.Label)
			}
			if got := strings.Join(labels, ","); got != tt.left {
				t.Errorf("checkpoints left = %s, want %s", got, tt.left)
			}
		})
	}
}

func TestDeleteSnapshot(t *testing.T) {
	s, b := snapFixture(t, "TrueNAS-25.04.2.4")
	ctx := testCtx(t)
	if err := b.DeleteSnapshot(ctx, "px-a", "b"); err != nil {
		t.Fatal(err)
	}
	p := string(s.callsTo("zfs.snapshot.delete")[0])
	if p != `["tank/.ix-virt/containers/px-a@b"]` {
		t.Errorf("delete params = %s", p)
	}
	err := b.DeleteSnapshot(ctx, "px-a", "b")
	var e *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Errno != 2 {
		t.Errorf("DeleteSnapshot again = %v, want ErrNotFound with errno 2", err)
	}
}

func TestWriteFile(t *testing.T) {
	big := []byte(strings.Repeat("x", 2*fileChunk+10))
	tests := []struct {
		name     string
		path     string
		data     []byte
		mode     uint32
		uid, gid int
		err      error
		calls    int
		first    string // options of the first call
	}{
		{"small with owner", "/root/.ssh/authorized_keys", []byte("key\n"), 0o600, 0, 0, nil, 1,
			`{"append":false,"gid":0,"mode":384,"uid":0}`},
		{"unchanged owner, default mode", "/etc/x/../motd", []byte("hi"), 0, -1, -7, nil, 1,
			`{"append":false,"gid":-1,"mode":420,"uid":-1}`},
		{"large file in appended chunks", "/big", big, 0o644, -1, -1, nil, 3,
			`{"append":false,"gid":-1,"mode":420,"uid":-1}`},
		{"empty refused", "/x", nil, 0o644, 0, 0, ErrInvalid, 0, ""},
		{"relative refused", "etc/x", []byte("a"), 0o644, 0, 0, ErrInvalid, 0, ""},
		{"root refused", "/..", []byte("a"), 0o644, 0, 0, ErrInvalid, 0, ""},
		{"stopped refused", "/x", []byte("a"), 0o644, 0, 0, ErrInvalid, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			v := s.virtModel()
			status := "RUNNING"
			if strings.HasPrefix(tt.name, "stopped") {
				status = "STOPPED"
			}
			v.add("px-a", status)
			b := dialFake(t, s)

			err := b.WriteFile(testCtx(t), "px-a", tt.path, tt.data, tt.mode, tt.uid, tt.gid)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("WriteFile = %v, want %v", err, tt.err)
			}
			calls := s.callsTo("filesystem.file_receive")
			if len(calls) != tt.calls {
				t.Fatalf("file_receive calls = %d, want %d", len(calls), tt.calls)
			}
			var got []byte
			for i, c := range calls {
				var p []json.RawMessage
				_ = json.Unmarshal(c, &p)
				var path, b64 string
				_ = json.Unmarshal(p[0], &path)
				_ = json.Unmarshal(p[1], &b64)
				root := "/var/lib/incus/storage-pools/tank/containers/px-a/rootfs/"
				if !strings.HasPrefix(path, root) || strings.Contains(path, "..") {
					t.Errorf("path = %s", path)
				}
				if i == 0 && string(p[2]) != tt.first {
					t.Errorf("options = %s, want %s", p[2], tt.first)
				}
				if i > 0 && !strings.Contains(string(p[2]), `"append":true`) {
					t.Errorf("chunk %d options = %s, want append", i, p[2])
				}
				part, _ := base64.StdEncoding.DecodeString(b64)
				got = append(got, part...)
			}
			if tt.err == nil && string(got) != string(tt.data) {
				t.Errorf("content sent = %d bytes, want %d", len(got), len(tt.data))
			}
		})
	}
}
