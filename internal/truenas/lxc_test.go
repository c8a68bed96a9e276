package truenas

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const lxcRoot = "/mnt/.truenas_containers/tank/containers/px-a"

func dialLXC(t *testing.T, version string) (*fakeServer, *fakeLXC, Backend) {
	t.Helper()
	s := newFake(t)
	s.version = version
	x := s.lxcModel(strings.Contains(version, "RC"))
	b := dialFake(t, s)
	if _, ok := b.(*lxc); !ok {
		t.Fatalf("backend for %s is %T, want *lxc", version, b)
	}
	return s, x, b
}

func TestLXCCreate(t *testing.T) {
	s, x, b := dialLXC(t, "TrueNAS-26.0.0-BETA.3")
	s.handle("interface.query", func(*fakeReq) (any, *fakeErr) {
		return []any{map[string]any{"id": "eno1", "name": "eno1", "type": "PHYSICAL",
			"aliases": []any{inet("192.168.1.10", 24)}}}, nil
	})
	s.handle("network.general.summary", func(*fakeReq) (any, *fakeErr) {
		return map[string]any{"default_routes": []string{"192.168.1.1"}}, nil
	})
	ctx := testCtx(t)

	_, err := b.Create(ctx, CreateSpec{Name: "px-a", Image: "ubuntu/24.04", CPU: "2",
		Memory: 1 << 30, Autostart: true}, nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}

	var create []map[string]any
	_ = json.Unmarshal(s.callsTo("container.create")[0], &create)
	want := map[string]any{"name": "px-a", "autostart": true,
		"description": "pixels image ubuntu/24.04",
		"image":       map[string]any{"name": "ubuntu:noble:amd64:default", "version": "20260801"}}
	if !reflect.DeepEqual(create[0], want) {
		t.Errorf("create params\n got %v\nwant %v", create[0], want)
	}
	if got := string(s.callsTo("container.device.create")[0]); got !=
		`[{"attributes":{"dtype":"NIC","nic_attach":"eno1","type":"VIRTIO"},"container":1}]` {
		t.Errorf("device params = %s", got)
	}
	if got := s.callsTo("container.start"); len(got) != 1 || string(got[0]) != "[1]" {
		t.Errorf("start calls = %s", got)
	}
	var paths []string
	for _, c := range s.callsTo("filesystem.file_receive") {
		var p []any
		_ = json.Unmarshal(c, &p)
		paths = append(paths, p[0].(string))
	}
	if len(paths) != len(reporterFiles) || paths[0] != lxcRoot+"/usr/local/sbin/pixels-net-report" {
		t.Errorf("reporter written to %q", paths)
	}

	s.mu.Lock()
	x.reports[lxcRoot+reportDir] = []string{"ip-127.77.0.5", "ip-fe80::1", "ip-2001:db8::5"}
	s.mu.Unlock()
	ct, err := b.Get(ctx, "px-a")
	if err != nil {
		t.Fatal(err)
	}
	wantCt := Container{Name: "px-a", Status: "RUNNING", Image: "ubuntu/24.04",
		IPv4: []string{"127.77.0.5"}, IPv6: []string{"2001:db8::5"},
		Dataset: "tank/.truenas_containers/containers/px-a"}
	if !reflect.DeepEqual(*ct, wantCt) {
		t.Errorf("Get = %+v\nwant %+v", *ct, wantCt)
	}

	_, err = b.Create(ctx, CreateSpec{Name: "px-b", Image: "fedora/40"}, nil)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "alpine:3.20") {
		t.Errorf("Create unknown image = %v, want ErrInvalid listing the registry", err)
	}
}

func TestLXCLifecycle(t *testing.T) {
	tests := []struct {
		version string
		delete  string
	}{
		{"TrueNAS-26.0.0-BETA.3", `[1]`},
		{"TrueNAS-26.0.0-RC.1", `[1,{"force":true,"recursive":true}]`},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			s, x, b := dialLXC(t, tt.version)
			x.add("px-a", "RUNNING")
			ctx := testCtx(t)

			if err := b.Stop(ctx, "px-a", StopOptions{Timeout: 2e9}, nil); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if got := s.callsTo("container.update"); len(got) != 1 ||
				string(got[0]) != `[1,{"shutdown_timeout":5}]` {
				t.Errorf("update calls = %s, want the timeout raised to 26's minimum", got)
			}
			if err := b.Stop(ctx, "px-a", StopOptions{}, nil); err != nil {
				t.Fatalf("Stop of a stopped container: %v", err)
			}
			if got := s.callsTo("container.stop"); len(got) != 1 ||
				string(got[0]) != `[1,{"force":false,"force_after_timeout":true}]` {
				t.Errorf("stop calls = %s", got)
			}
			if err := b.Start(ctx, "px-a", nil); err != nil {
				t.Fatalf("Start: %v", err)
			}
			if err := b.Delete(ctx, "px-a", nil); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			stops := s.callsTo("container.stop")
			if len(stops) != 2 || !strings.Contains(string(stops[1]), `"force":true`) {
				t.Errorf("delete did not force-stop first: %s", stops)
			}
			if got := s.callsTo("container.delete"); len(got) != 1 || string(got[0]) != tt.delete {
				t.Errorf("delete calls = %s, want %s", got, tt.delete)
			}
			if _, err := b.Get(ctx, "px-a"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after delete = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestLXCSnapshots(t *testing.T) {
	const ds = "tank/.truenas_containers/containers/px-a"
	for _, version := range []string{"TrueNAS-26.0.0-BETA.3", "TrueNAS-26.0.0-RC.1"} {
		t.Run(version, func(t *testing.T) {
			s, x, b := dialLXC(t, version)
			rc := strings.Contains(version, "RC")
			// The root shell plays zfs on the fake's snapshot table.
			cron := s.cronModel(func(cmd string) (string, int) {
				verb, id, _ := strings.Cut(strings.TrimPrefix(cmd, "zfs "), " ")
				id = strings.Trim(strings.TrimPrefix(id, "-r "), "'")
				dataset, label, _ := strings.Cut(id, "@")
				var ferr *fakeErr
				switch verb {
				case "snapshot":
					_, ferr = x.virt.snapCreate(&fakeReq{s: s, Params: json.RawMessage(
						fmt.Sprintf(`[{"dataset":%q,"name":%q}]`, dataset, label))})
				case "rollback":
					params := fmt.Sprintf(`[%q,{"recursive":%v}]`, id, strings.Contains(cmd, " -r "))
					_, ferr = x.virt.snapRollback(&fakeReq{s: s, Params: json.RawMessage(params)})
				case "destroy":
					_, ferr = x.virt.snapDelete(&fakeReq{s: s, Params: json.RawMessage(
						fmt.Sprintf("[%q]", id))})
				default:
					return "sh: 1: " + verb + ": not found\n", 127
				}
				// What the zfs command prints for each failure the API reported.
				switch {
				case ferr == nil:
					return "", 0
				case verb == "snapshot":
					return "cannot create snapshot '" + id + "': dataset already exists\n", 1
				case verb == "rollback":
					return "cannot rollback to '" + id + "': more recent snapshots or " +
						"bookmarks exist\n", 1
				default:
					return "could not find any snapshots to destroy; check snapshot names.\n", 1
				}
			})
			x.add("px-a", "STOPPED")
			ctx := testCtx(t)

			snap, err := b.CreateSnapshot(ctx, "px-a", "clean")
			if err != nil {
				t.Fatalf("CreateSnapshot: %v", err)
			}
			if snap.ID != ds+"@clean" {
				t.Errorf("snapshot id = %s", snap.ID)
			}
			if _, err := b.CreateSnapshot(ctx, "px-a", "later"); err != nil {
				t.Fatalf("second CreateSnapshot: %v", err)
			}
			if _, err := b.CreateSnapshot(ctx, "px-a", "later"); !errors.Is(err, ErrExists) {
				t.Errorf("duplicate CreateSnapshot = %v, want ErrExists", err)
			}
			if err := b.Rollback(ctx, "px-a", "clean", false); !errors.Is(err,
				ErrNewerSnapshots) {
				t.Errorf("Rollback past a newer one = %v, want ErrNewerSnapshots", err)
			}
			if err := b.Rollback(ctx, "px-a", "clean", true); err != nil {
				t.Errorf("Rollback: %v", err)
			}
			if err := b.DeleteSnapshot(ctx, "px-a", "clean"); err != nil {
				t.Errorf("DeleteSnapshot: %v", err)
			}
			if err := b.DeleteSnapshot(ctx, "px-a", "clean"); !errors.Is(err, ErrNotFound) {
				t.Errorf("DeleteSnapshot of a deleted one = %v, want ErrNotFound", err)
			}

			got := cron.commands()
			if !rc {
				if len(got) != 0 {
					t.Errorf("BETA used root jobs: %q", got)
				}
				return
			}
			want := []string{"zfs snapshot '" + ds + "@clean'", "zfs snapshot '" + ds + "@later'",
				"zfs snapshot '" + ds + "@later'", "zfs rollback -r '" + ds + "@clean'",
				"zfs destroy '" + ds + "@clean'", "zfs destroy '" + ds + "@clean'"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("root commands =\n%s\nwant\n%s", strings.Join(got, "\n"),
					strings.Join(want, "\n"))
			}
			if n := len(s.callsTo("pool.snapshot.create")); n != 1 {
				t.Errorf("the refused API was tried %d times, want once per connection", n)
			}
			if cron.left() != 0 {
				t.Errorf("%d cron entries left", cron.left())
			}
		})
	}
}

// A report left from before the last start names no address, and every start marks the
// old report stale first (a copy or a restore brings another boot's report along).
func TestLXCStaleReport(t *testing.T) {
	s, x, b := dialLXC(t, "TrueNAS-26.0.0-BETA.3")
	x.add("px-a", "STOPPED")
	ctx := testCtx(t)
	if err := b.Start(ctx, "px-a", nil); err != nil {
		t.Fatalf("Start: %v", err)
	}
	var marked bool
	for _, raw := range s.callsTo("filesystem.file_receive") {
		var p []any
		_ = json.Unmarshal(raw, &p)
		marked = marked || p[0] == lxcRoot+reportDir+"/"+staleMark
	}
	if !marked || s.lastCall("filesystem.file_receive") > s.lastCall("container.start") {
		t.Errorf("start did not mark the old report stale before starting")
	}

	s.mu.Lock()
	x.reports[lxcRoot+reportDir] = []string{"ip-127.77.0.9", staleMark}
	s.mu.Unlock()
	c, err := b.Get(ctx, "px-a")
	if err != nil || len(c.IPv4) != 0 {
		t.Errorf("Get with a stale report = %+v, %v; want no address", c, err)
	}
	s.mu.Lock()
	x.reports[lxcRoot+reportDir] = []string{"ip-127.77.0.9"}
	s.mu.Unlock()
	if c, err := b.Get(ctx, "px-a"); err != nil || len(c.IPv4) != 1 {
		t.Errorf("Get with a fresh report = %+v, %v; want its address", c, err)
	}
}
