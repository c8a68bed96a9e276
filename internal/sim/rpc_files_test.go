package sim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"syscall"
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

// plantLinks puts links into px-a's tree: /etc/hostname -> /etc/passwd (absolute, as a
// checkpoint could hold), /srv/keys -> /root/.ssh (a directory), /etc/dangling -> a missing
// file, and a self-loop in /loops.
func plantLinks(t *testing.T, s *Server) {
	t.Helper()
	root, err := boxOf(t, s, "px-a").fsRoot()
	if err != nil {
		t.Fatal(err)
	}
	steps := []error{
		root.Remove("etc/hostname"),
		root.Symlink("/etc/passwd", "etc/hostname"),
		root.Symlink("/root/.ssh", "srv/keys"),
		root.WriteFile("root/.ssh/authorized_keys", []byte("key\n"), 0o600),
		root.Symlink("/nowhere/file", "etc/dangling"),
		root.Mkdir("loops", 0o755),
		root.Symlink("/loops/self", "loops/self"),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatalf("planting links: %v", err)
	}
}

func TestStatSymlinks(t *testing.T) {
	for _, ver := range []string{"25.04", "25.10", "26"} {
		t.Run(ver, func(t *testing.T) {
			s := startServer(t, Options{Version: ver})
			c := login(t, s)
			prefix := rootfsPrefix + "px-a/rootfs"
			if ver == "26" {
				prefix = lxcPrefix + "px-a"
				image := map[string]any{"name": "debian:bookworm:amd64:default",
					"version": "20260802_05:24"}
				c.mustJob("container.create", map[string]any{"name": "px-a", "image": image})
				c.mustCall(nil, "filesystem.file_receive", prefix+"/tmp/x",
					base64.StdEncoding.EncodeToString([]byte("x"))) // opens the tree
			} else {
				c.createContainer("px-a")
			}
			plantLinks(t, s)

			tests := []struct {
				name, path string
				typ, real  string // want type and realpath; "" wants an error
				ifmt       int    // want mode&S_IFMT
				errno      int
				reason     string
			}{
				{"plain file", "/etc/passwd", "FILE", "/etc/passwd", syscall.S_IFREG, 0, ""},
				{"directory", "/etc", "DIRECTORY", "/etc", syscall.S_IFDIR, 0, ""},
				{"link to a file", "/etc/hostname", "SYMLINK", "/etc/passwd", syscall.S_IFREG,
					0, ""},
				{"link to a directory", "/srv/keys", "SYMLINK", "/root/.ssh", syscall.S_IFDIR,
					0, ""},
				{"through a linked directory", "/srv/keys/authorized_keys", "FILE",
					"/srv/keys/authorized_keys", syscall.S_IFREG, 0, ""},
				{"dangling link", "/etc/dangling", "", "", 0, 2, "not found"},
				{"missing", "/etc/nope", "", "", 0, 2, "not found"},
				{"loop", "/loops/self", "", "", 0, 22, "Too many levels of symbolic links"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					m := c.call("filesystem.stat", prefix+tt.path)
					if tt.typ == "" {
						if m.Error == nil || m.Error.Code != codeCallError ||
							m.Error.Data.Error != tt.errno ||
							!strings.Contains(m.Error.Data.Reason, tt.reason) {
							t.Fatalf("stat = %s %+v, want errno %d with %q", m.Result,
								m.Error, tt.errno, tt.reason)
						}
						return
					}
					var st struct {
						Type     string `json:"type"`
						Realpath string `json:"realpath"`
						Mode     int    `json:"mode"`
					}
					if m.Error != nil || json.Unmarshal(m.Result, &st) != nil {
						t.Fatalf("stat: %+v", m.Error)
					}
					if st.Type != tt.typ || st.Realpath != prefix+tt.real ||
						st.Mode&syscall.S_IFMT != tt.ifmt {
						t.Fatalf("stat = %+v, want type %s, realpath %s, format %o", st,
							tt.typ, prefix+tt.real, tt.ifmt)
					}
				})
			}
		})
	}
}

func TestListdirSymlinks(t *testing.T) {
	s := startServer(t, Options{})
	c := login(t, s)
	c.createContainer("px-a")
	plantLinks(t, s)
	prefix := rootfsPrefix + "px-a/rootfs"

	type entry struct {
		Name     string `json:"name"`
		Path     string `json:"path"`
		Type     string `json:"type"`
		Realpath string `json:"realpath"`
	}
	var etc []entry
	c.mustCall(&etc, "filesystem.listdir", prefix+"/etc")
	got := map[string]entry{}
	for _, e := range etc {
		got[e.Name] = e
	}
	if e := got["hostname"]; e.Type != "SYMLINK" || e.Realpath != prefix+"/etc/passwd" ||
		e.Path != prefix+"/etc/hostname" {
		t.Errorf("hostname entry = %+v, want a SYMLINK resolving to /etc/passwd", e)
	}
	if e := got["passwd"]; e.Type != "FILE" {
		t.Errorf("passwd entry = %+v, want a FILE", e)
	}
	if e, ok := got["dangling"]; ok {
		t.Errorf("dangling link listed as %+v; the server skips it", e)
	}

	// A link to a directory lists the target, with paths under the name asked for.
	var keys []entry
	c.mustCall(&keys, "filesystem.listdir", prefix+"/srv/keys")
	if len(keys) != 1 || keys[0].Name != "authorized_keys" || keys[0].Type != "FILE" ||
		keys[0].Path != prefix+"/srv/keys/authorized_keys" {
		t.Errorf("listdir through a link = %+v", keys)
	}

	// One looping entry fails the whole listing, as the server stats every entry.
	m := c.call("filesystem.listdir", prefix+"/loops")
	if m.Error == nil || m.Error.Code != codeCallError ||
		!strings.Contains(m.Error.Data.Reason, "Too many levels") {
		t.Errorf("listdir of a directory with a loop: %s %+v", m.Result, m.Error)
	}
}
