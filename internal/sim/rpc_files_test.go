package sim

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestFileReceive(t *testing.T) {
	s := startServer(t, Options{})
	c := login(t, s)
	c.createContainer("px-a")
	c.mustJob("virt.instance.create", map[string]any{"name": "px-off", "image": "debian/12",
		"autostart": false})
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	keys := rootfsPrefix + "px-a/rootfs/root/.ssh/authorized_keys"

	tests := []struct {
		name     string
		params   []any
		wantCode int
		wantText string
	}{
		{"write", []any{keys, b64("ssh-ed25519 AAAA test\n"), map[string]any{"mode": 0o600}},
			0, ""},
		{"append", []any{keys, b64("second\n"), map[string]any{"append": true}}, 0, ""},
		{"empty", []any{keys, ""}, codeInvalidParams, "content"},
		{"stopped", []any{rootfsPrefix + "px-off/rootfs/etc/x", b64("x")}, codeCallError,
			"No such file"},
		{"outside", []any{"/etc/passwd", b64("x")}, codeCallError, "Permission denied"},
		{"escape", []any{rootfsPrefix + "px-a/rootfs/../../px-off/rootfs/x", b64("x")},
			codeCallError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := c.call("filesystem.file_receive", tt.params...)
			if tt.wantCode == 0 {
				if m.Error != nil || string(m.Result) != "true" {
					t.Fatalf("reply %s %+v", m.Result, m.Error)
				}
				return
			}
			if m.Error == nil || m.Error.Code != tt.wantCode ||
				!strings.Contains(m.Error.Data.Reason, tt.wantText) {
				t.Fatalf("error %+v, want code %d with %q", m.Error, tt.wantCode, tt.wantText)
			}
		})
	}

	data, err := boxOf(t, s, "px-a").ReadFile("/root/.ssh/authorized_keys")
	if err != nil || string(data) != "ssh-ed25519 AAAA test\nsecond\n" {
		t.Fatalf("authorized_keys = %q, %v", data, err)
	}
	var st struct {
		Type string `json:"type"`
		Size int    `json:"size"`
		Mode int    `json:"mode"`
	}
	c.mustCall(&st, "filesystem.stat", keys)
	if st.Type != "FILE" || st.Size != len(data) || st.Mode&0o777 != 0o600 {
		t.Fatalf("stat = %+v", st)
	}
	m := c.call("filesystem.stat", rootfsPrefix+"px-a/rootfs/nope")
	if m.Error == nil || m.Error.Code != codeCallError || m.Error.Data.Error != 2 {
		t.Fatalf("stat of a missing path: %+v", m.Error)
	}
}

func TestListdir(t *testing.T) {
	s := startServer(t, Options{})
	c := login(t, s)
	c.createContainer("px-a")
	dir := rootfsPrefix + "px-a/rootfs/var/lib/report"
	for _, name := range []string{"ip-127.77.0.2", "note"} {
		c.mustCall(nil, "filesystem.file_receive", dir+"/"+name,
			base64.StdEncoding.EncodeToString([]byte("x")))
	}

	var entries []struct {
		Name string `json:"name"`
		Path string `json:"path"`
		Type string `json:"type"`
	}
	c.mustCall(&entries, "filesystem.listdir", dir, []any{[]any{"name", "^", "ip-"}})
	if len(entries) != 1 || entries[0].Name != "ip-127.77.0.2" || entries[0].Type != "FILE" ||
		entries[0].Path != dir+"/ip-127.77.0.2" {
		t.Fatalf("listdir = %+v", entries)
	}

	tests := []struct {
		name, path, errname string
	}{
		{"missing", dir + "/nope", "ENOENT"},
		{"file", dir + "/note", "ENOTDIR"},
		{"outside", "/etc", "ENOENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := c.call("filesystem.listdir", tt.path)
			if m.Error == nil || m.Error.Code != codeCallError || m.Error.Data.Errname != tt.errname {
				t.Fatalf("listdir %s: %+v", tt.path, m.Error)
			}
		})
	}
}
