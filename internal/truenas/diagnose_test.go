package truenas

import (
	"strings"
	"testing"
)

func TestDiagnose(t *testing.T) {
	tests := []struct {
		name       string
		state      string
		ifaces     []any
		routes     []string
		wantVirt   string
		wantNIC    string
		wantDetail string
	}{
		{name: "ready, bridge on the default route", state: "INITIALIZED",
			ifaces: []any{map[string]any{"id": "br0", "name": "br0", "type": "BRIDGE",
				"aliases": []any{inet("127.0.2.1", 24)}}},
			routes: []string{"127.0.2.254"}, wantVirt: "ok", wantNIC: "ok",
			wantDetail: "BRIDGED on br0"},
		{name: "no pool chosen", state: "NO_POOL", routes: []string{"127.0.2.254"},
			wantVirt: "fail", wantNIC: "warn", wantDetail: "defaults.parent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			v := s.virtModel()
			v.ifaces, v.routes = tt.ifaces, tt.routes
			s.handle("virt.global.config", func(*fakeReq) (any, *fakeErr) {
				return map[string]any{"id": 1, "pool": "tank", "dataset": "tank/.ix-virt",
					"storage_pools": []string{"tank"}, "state": tt.state}, nil
			})
			b := dialFake(t, s)
			d, ok := b.(Diagnoser)
			if !ok {
				t.Fatal("the 25.x backend does not diagnose")
			}
			got := map[string]Finding{}
			for _, f := range d.Diagnose(testCtx(t), "", "") {
				got[f.Name] = f
			}
			if got["virtualization"].Status != tt.wantVirt {
				t.Errorf("virtualization = %+v, want %s", got["virtualization"], tt.wantVirt)
			}
			if got["nic"].Status != tt.wantNIC || !strings.Contains(got["nic"].Detail, tt.wantDetail) {
				t.Errorf("nic = %+v, want %s mentioning %q", got["nic"], tt.wantNIC, tt.wantDetail)
			}
		})
	}
}

func TestDiagnoseRootJobs(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cron   bool
		left   map[string]any
		roles  any // privilege.roles in auth.me; nil = no auth.me
		status string
		detail string
	}{
		{name: "read-only cron role", cron: true, roles: map[string]any{"$set": []string{
			"READONLY_ADMIN", "SYSTEM_CRON_READ"}}, status: "warn", detail: "not run them"},
		{name: "cron write role", cron: true, roles: map[string]any{"$set": []string{
			"SYSTEM_CRON_WRITE"}}, status: "ok", detail: "none left over"},
		{name: "full admin as a list", cron: true, roles: []string{"FULL_ADMIN"}, status: "ok",
			detail: "none left over"},
		{name: "roles unknown", cron: true, roles: "odd", status: "ok", detail: "none left over"},
		{name: "no cron access", status: "warn", detail: "SYSTEM_CRON_WRITE"},
		{name: "clean", cron: true, status: "ok", detail: "none left over"},
		{name: "leftover", cron: true, left: map[string]any{"id": int64(7),
			"description": rootJobPrefix + "copy px-a@x into px-b"}, status: "warn",
			detail: "ids 7"},
		{name: "someone else's entry", cron: true, left: map[string]any{"id": int64(3),
			"description": "nightly backup"}, status: "ok", detail: "none left over"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.virtModel()
			if tt.cron {
				c := s.cronModel(func(string) (string, int) { return "", 0 })
				if tt.left != nil {
					c.entries[tt.left["id"].(int64)] = tt.left
				}
			}
			if tt.roles != nil {
				s.handle("auth.me", func(*fakeReq) (any, *fakeErr) {
					return map[string]any{"pw_name": "pixels", "privilege": map[string]any{
						"roles": tt.roles}}, nil
				})
			}
			b := dialFake(t, s)
			var got Finding
			for _, f := range b.(Diagnoser).Diagnose(testCtx(t), "", "") {
				if f.Name == "root jobs" {
					got = f
				}
			}
			if got.Status != tt.status || !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("root jobs finding = %+v, want %s mentioning %q", got, tt.status,
					tt.detail)
			}
		})
	}
}
