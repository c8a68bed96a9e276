package truenas

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func inet(addr string, mask int) map[string]any {
	typ := "INET"
	if strings.Contains(addr, ":") {
		typ = "INET6"
	}
	return map[string]any{"type": typ, "address": addr, "netmask": mask}
}

func TestGetAddresses(t *testing.T) {
	tests := []struct {
		name    string
		aliases []map[string]any
		v4, v6  []string
	}{
		{"none while starting", nil, nil, nil},
		{"simulator loopback kept", []map[string]any{inet("127.77.0.2", 8)},
			[]string{"127.77.0.2"}, nil},
		{"link-local dropped", []map[string]any{inet("fe80::1", 64), inet("169.254.3.4", 16)},
			nil, nil},
		{"mixed", []map[string]any{inet("fe80::1", 64), inet("192.168.1.57", 24),
			inet("2001:db8::57", 64), inet("169.254.3.4", 16)},
			[]string{"192.168.1.57"}, []string{"2001:db8::57"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			v := s.virtModel()
			v.add("px-a", "RUNNING", tt.aliases...)
			b := dialFake(t, s)

			ct, err := b.Get(testCtx(t), "px-a")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ct.IPv4, tt.v4) || !reflect.DeepEqual(ct.IPv6, tt.v6) {
				t.Errorf("IPv4 %q IPv6 %q, want %q %q", ct.IPv4, ct.IPv6, tt.v4, tt.v6)
			}
			want := Container{Name: "px-a", Status: "RUNNING", Image: "ubuntu/noble",
				IPv4: tt.v4, IPv6: tt.v6, CPU: "2", Memory: 2 << 30,
				Dataset: "tank/.ix-virt/containers/px-a"}
			if !reflect.DeepEqual(*ct, want) {
				t.Errorf("Get = %+v, want %+v", *ct, want)
			}
		})
	}
}

func TestGetMissingAndList(t *testing.T) {
	s := newFake(t)
	v := s.virtModel()
	v.add("px-a", "RUNNING")
	v.add("px-b", "STOPPED")
	v.add("other", "STOPPED")
	b := dialFake(t, s)
	ctx := testCtx(t)

	_, err := b.Get(ctx, "px-gone")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"px-gone"`) {
		t.Errorf("Get missing = %v, want ErrNotFound naming it", err)
	}

	list, err := b.List(ctx, "px-")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	if len(names) != 2 || !strings.HasPrefix(names[0], "px-") ||
		!strings.HasPrefix(names[1], "px-") {
		t.Errorf("List(px-) = %q", names)
	}
	if p := string(s.callsTo("virt.instance.query")[1]); p != `[[["name","^","px-"]]]` {
		t.Errorf("list filter = %s", p)
	}
}

func TestCreate(t *testing.T) {
	bridge := map[string]any{"id": "br0", "name": "br0", "type": "BRIDGE",
		"aliases": []any{inet("192.168.1.10", 24)}, "state": map[string]any{"aliases": []any{}}}
	dhcp := map[string]any{"id": "eno1", "name": "eno1", "type": "PHYSICAL",
		"aliases": []any{}, "state": map[string]any{"aliases": []any{inet("10.0.3.7", 16)}}}
	other := map[string]any{"id": "eno2", "name": "eno2", "type": "PHYSICAL",
		"aliases": []any{map[string]any{"type": "INET", "address": "172.16.0.2",
			"netmask": "255.255.0.0"}}, "state": map[string]any{}}

	tests := []struct {
		name    string
		spec    CreateSpec
		ifaces  []any
		routes  []string
		want    map[string]any
		wantErr error
	}{
		{name: "static bridge gateway", spec: CreateSpec{Name: "px-a", Image: "ubuntu/24.04"},
			ifaces: []any{other, bridge}, routes: []string{"fe80::1", "192.168.1.1"},
			want: map[string]any{"name": "px-a", "image": "ubuntu/24.04", "autostart": false,
				"devices": []any{map[string]any{"dev_type": "NIC", "nic_type": "BRIDGED",
					"parent": "br0"}}}},
		{name: "dhcp physical gateway, all fields",
			spec: CreateSpec{Name: "px-a", Image: "debian/12", CPU: "2", Memory: 1 << 30,
				Environment: map[string]string{"A": "b"}, Pool: "fast", Autostart: true},
			ifaces: []any{bridge, dhcp}, routes: []string{"10.0.0.1"},
			want: map[string]any{"name": "px-a", "image": "debian/12", "autostart": true,
				"cpu": "2", "memory": float64(1 << 30), "environment": map[string]any{"A": "b"},
				"storage_pool": "fast", "devices": []any{map[string]any{"dev_type": "NIC",
					"nic_type": "MACVLAN", "parent": "eno1"}}}},
		{name: "dotted netmask", spec: CreateSpec{Name: "px-a", Image: "x"},
			ifaces: []any{other}, routes: []string{"172.16.9.9"},
			want: map[string]any{"name": "px-a", "image": "x", "autostart": false,
				"devices": []any{map[string]any{"dev_type": "NIC", "nic_type": "MACVLAN",
					"parent": "eno2"}}}},
		{name: "nothing matches sends no NIC", spec: CreateSpec{Name: "px-a", Image: "x"},
			ifaces: []any{bridge}, routes: []string{"10.9.9.9"},
			want: map[string]any{"name": "px-a", "image": "x", "autostart": false}},
		{name: "configured parent, detected type",
			spec:   CreateSpec{Name: "px-a", Image: "x", NICParent: "br0"},
			ifaces: []any{bridge},
			want: map[string]any{"name": "px-a", "image": "x", "autostart": false,
				"devices": []any{map[string]any{"dev_type": "NIC", "nic_type": "BRIDGED",
					"parent": "br0"}}}},
		{name: "memory below 32 MiB refused", spec: CreateSpec{Name: "px-a", Image: "x",
			Memory: 16 << 20}, wantErr: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			v := s.virtModel()
			v.ifaces, v.routes = tt.ifaces, tt.routes
			b := dialFake(t, s)

			ct, err := b.Create(testCtx(t), tt.spec, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Create error = %v, want %v", err, tt.wantErr)
				}
				if n := len(s.callsTo("virt.instance.create")); n != 0 {
					t.Errorf("create sent %d times despite a local refusal", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if ct.Name != "px-a" || ct.Dataset != "tank/.ix-virt/containers/px-a" {
				t.Errorf("created %+v", ct)
			}
			var got []map[string]any
			_ = json.Unmarshal(s.callsTo("virt.instance.create")[0], &got)
			if !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("create params\n got %v\nwant %v", got[0], tt.want)
			}
		})
	}
}

func TestCreateDuplicate(t *testing.T) {
	s := newFake(t)
	v := s.virtModel()
	v.add("px-a", "RUNNING")
	b := dialFake(t, s)

	_, err := b.Create(testCtx(t), CreateSpec{Name: "px-a", Image: "x", NICType: "MACVLAN",
		NICParent: "eno1"}, nil)
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Create duplicate = %v, want ErrExists quoting the server", err)
	}
}

// TestStopAlwaysFinite checks every stop sent carries a finite timeout, and that only a
// RUNNING container gets a stop at all.
func TestStopAlwaysFinite(t *testing.T) {
	tests := []struct {
		name   string
		status string
		opts   StopOptions
		want   string // the stop args sent, "" for no stop call
	}{
		{"graceful default", "RUNNING", StopOptions{}, `{"timeout":120}`},
		{"graceful given", "RUNNING", StopOptions{Timeout: 1500e6}, `{"timeout":2}`},
		{"force default", "RUNNING", StopOptions{Force: true}, `{"force":true,"timeout":30}`},
		{"force given", "RUNNING", StopOptions{Force: true, Timeout: 5e9},
			`{"force":true,"timeout":5}`},
		{"stopped is left alone", "STOPPED", StopOptions{}, ""},
		{"unknown is left alone", "UNKNOWN", StopOptions{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			v := s.virtModel()
			v.add("px-a", tt.status)
			b := dialFake(t, s)

			if err := b.Stop(testCtx(t), "px-a", tt.opts, nil); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			calls := s.callsTo("virt.instance.stop")
			if tt.want == "" {
				if len(calls) != 0 {
					t.Fatalf("stop sent %s, want none", calls)
				}
				return
			}
			if len(calls) != 1 || string(calls[0]) != `["px-a",`+tt.want+`]` {
				t.Fatalf("stop calls = %s, want [\"px-a\",%s]", calls, tt.want)
			}
		})
	}

	s := newFake(t)
	s.virtModel()
	err := dialFake(t, s).Stop(testCtx(t), "px-gone", StopOptions{}, nil)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Stop missing = %v, want ErrNotFound", err)
	}
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		busy    int
		stops   int
		deletes int
		err     error
	}{
		{"stopped", "STOPPED", 0, 0, 1, nil},
		{"running is force-stopped first", "RUNNING", 0, 1, 1, nil},
		{"unknown state: already stopped is fine", "UNKNOWN", 0, 1, 1, nil},
		{"busy twice then ok", "STOPPED", 2, 0, 3, nil},
		{"always busy", "STOPPED", -1, 0, 3, ErrBusy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			v := s.virtModel()
			v.add("px-a", tt.status)
			v.deleteBusy = tt.busy
			b := dialFake(t, s)

			err := b.Delete(testCtx(t), "px-a", nil)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("Delete = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				for _, want := range []string{`"px-a"`, "dataset is busy", "3 tries"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
			}
			if n := len(s.callsTo("virt.instance.stop")); n != tt.stops {
				t.Errorf("stops = %d, want %d", n, tt.stops)
			}
			for _, p := range s.callsTo("virt.instance.stop") {
				if !strings.Contains(string(p), `"force":true`) ||
					!strings.Contains(string(p), `"timeout":`) {
					t.Errorf("stop before delete sent %s", p)
				}
			}
			if n := len(s.callsTo("virt.instance.delete")); n != tt.deletes {
				t.Errorf("deletes = %d, want %d", n, tt.deletes)
			}
		})
	}

	s := newFake(t)
	s.virtModel()
	err := dialFake(t, s).Delete(testCtx(t), "px-gone", nil)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete missing = %v, want ErrNotFound", err)
	}
}

func TestStartMissing(t *testing.T) {
	s := newFake(t)
	s.virtModel()
	err := dialFake(t, s).Start(testCtx(t), "px-gone", nil)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Start missing = %v, want ErrNotFound quoting the server", err)
	}
}

func TestStopFailureSuggestsForce(t *testing.T) {
	s := newFake(t)
	v := s.virtModel()
	v.add("px-a", "RUNNING")
	s.handle("virt.instance.stop", func(r *fakeReq) (any, *fakeErr) {
		return r.startJob("virt.instance.stop", nil, "[EFAULT] Failed shutting down instance",
			nil), nil
	})
	b := dialFake(t, s)

	err := b.Stop(testCtx(t), "px-a", StopOptions{Timeout: 1e9}, nil)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "Failed shutting down") ||
		!strings.Contains(err.Error(), "stop with force") {
		t.Fatalf("Stop = %v, want the server's error and a force hint", err)
	}
}

// TestListIsOneCall: entries name their storage pool, so listing needs no global config.
func TestListIsOneCall(t *testing.T) {
	s := newFake(t)
	v := s.virtModel()
	v.add("px-a", "RUNNING")
	v.add("px-b", "STOPPED")
	b := dialFake(t, s)
	cs, err := b.List(testCtx(t), "px-")
	if err != nil || len(cs) != 2 {
		t.Fatalf("List = %v, %v", cs, err)
	}
	for _, c := range cs { // the fake answers in map order
		if c.Dataset != "tank/.ix-virt/containers/"+c.Name {
			t.Errorf("dataset of %s = %q", c.Name, c.Dataset)
		}
	}
	if n := len(s.callsTo("virt.global.config")); n != 0 {
		t.Errorf("list read the global config %d times, want 0", n)
	}
	if n := len(s.callsTo("virt.instance.query")); n != 1 {
		t.Errorf("list made %d queries, want 1", n)
	}
}
