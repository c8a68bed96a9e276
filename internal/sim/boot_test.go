package sim

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBoxAddrs(t *testing.T) {
	b := newTestBox(t)
	b.SetAddrs([]string{"127.77.0.2"}, time.Time{})

	tests := []struct {
		name   string
		script string
		stdout string
		status int
	}{
		{name: "hostname -I", script: "hostname -I", stdout: "127.77.0.2 \n"},
		{name: "ip one-line global", script: "ip -o addr show scope global",
			stdout: "2: eth0    inet 127.77.0.2/8 brd 127.255.255.255 scope global eth0\\" +
				"       valid_lft forever preferred_lft forever\n"},
		{name: "ip -4 dev", script: "ip -4 -o addr show dev eth0 | grep -c 'inet 127.77.0.2/8'",
			stdout: "1\n"},
		{name: "ip -6 global is empty", script: "ip -6 -o addr show scope global", stdout: ""},
		{name: "ip a lists lo", script: "ip a | grep -c 'inet 127.0.0.1/8 scope host lo'",
			stdout: "1\n"},
		{name: "ip unknown device", script: "ip addr show dev eth9 2>&1; echo $?",
			stdout: "Device \"eth9\" does not exist.\n1\n"},
		{name: "script reads the address", script: `
			addrs=$(ip -o addr show scope global | while read -r n dev fam cidr rest; do
				echo "${cidr%/*}"; done)
			[ -n "$addrs" ] || addrs=$(hostname -I)
			for a in $addrs; do echo "got $a"; done
			for a in $(hostname -I); do echo "also $a"; done`,
			stdout: "got 127.77.0.2\nalso 127.77.0.2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, status, _ := runScript(t, b, tt.script, "")
			if out != tt.stdout || status != tt.status {
				t.Errorf("stdout %q status %d (stderr %q); want %q %d", out, status, errOut,
					tt.stdout, tt.status)
			}
		})
	}
}

func TestBoxAddrsHidden(t *testing.T) {
	tests := []struct {
		name  string
		addrs []string
		from  time.Time
	}{
		{name: "stopped", addrs: nil},
		{name: "lease not yet", addrs: []string{"127.77.0.9"}, from: time.Now().Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBox(t)
			b.SetAddrs(tt.addrs, tt.from)
			out, _, _, _ := runScript(t, b,
				`echo "[$(hostname -I)]"; ip -o addr show scope global | wc -l`, "")
			if out != "[]\n0\n" {
				t.Errorf("output %q, want no address", out)
			}
		})
	}
}

func TestExecStarts(t *testing.T) {
	tests := []struct {
		name string
		unit string
		want []string
	}{
		{name: "simple", unit: "[Unit]\nDescription=x\n[Service]\nExecStart=/usr/bin/x -a\n",
			want: []string{"/usr/bin/x -a"}},
		{name: "oneshot list", unit: "[Service]\r\nType=oneshot\r\nExecStart=/a\r\n" +
			"ExecStart=-/b 1\r\n# ExecStart=/c\r\n", want: []string{"/a", "/b 1"}},
		{name: "reset", unit: "[Service]\nExecStart=/a\nExecStart=\nExecStart=/b\n",
			want: []string{"/b"}},
		{name: "continuation", unit: "[Service]\nExecStart=/bin/sh -c \\\n  'echo hi'\n",
			want: []string{"/bin/sh -c    'echo hi'"}},
		{name: "argv0", unit: "[Service]\nExecStart=@/usr/sbin/d daemon -f\n",
			want: []string{"/usr/sbin/d -f"}},
		{name: "other sections", unit: "[Install]\nExecStart=/nope\n", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := execStarts(tt.unit); !slices.Equal(got, tt.want) {
				t.Errorf("execStarts = %q, want %q", got, tt.want)
			}
		})
	}
}

// bootVersions drive each API generation through create (stopped), start and stop.
var bootVersions = []struct {
	version string
	create  func(c *testClient, name string) (start, stop func())
}{
	{version: "25.04", create: func(c *testClient, name string) (func(), func()) {
		c.mustJob("virt.instance.create", map[string]any{"name": name, "image": "debian/12",
			"autostart": false})
		return func() { c.mustJob("virt.instance.start", name) },
			func() { c.mustJob("virt.instance.stop", name, map[string]any{"force": true}) }
	}},
	{version: "26", create: func(c *testClient, name string) (func(), func()) {
		image := map[string]any{"name": "debian:bookworm:amd64:default",
			"version": "20260802_05:24"}
		var e testEntry26
		if err := json.Unmarshal(c.mustJob("container.create", map[string]any{"name": name,
			"image": image}).Result, &e); err != nil {
			c.t.Fatal(err)
		}
		return func() { c.mustCall(nil, "container.start", e.ID) },
			func() { c.mustJob("container.stop", e.ID, map[string]any{"force": true}) }
	}},
}

// writeFiles writes in-container files (path, content, mode) into a box.
func writeFiles(t *testing.T, b *Box, files [][3]string) {
	t.Helper()
	for _, f := range files {
		mode := 0o644
		if f[2] == "x" {
			mode = 0o755
		}
		if err := b.WriteFile(f[0], []byte(f[1]), os.FileMode(mode), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// logHas reports whether a box's command log holds a line with the given text.
func logHas(b *Box, text string) bool {
	lines, _ := b.Log()
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, text) })
}
