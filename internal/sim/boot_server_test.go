package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestBootHooks(t *testing.T) {
	for _, v := range bootVersions {
		t.Run(v.version, func(t *testing.T) {
			s := startServer(t, Options{Version: v.version})
			c := login(t, s)
			start, stop := v.create(c, "px-a")
			b := boxOf(t, s, "px-a")
			wants := "/etc/systemd/system/multi-user.target.wants/"
			writeFiles(t, b, [][3]string{
				{"/etc/systemd/system/addr.service", "[Unit]\nDescription=addr\n[Service]\n" +
					"Type=oneshot\nExecStart=/bin/sh -c 'hostname -I > /srv/unit-ran'\n", ""},
				{wants + "bad.service", "[Service]\nExecStart=/bin/sh -c 'exit 3'\n", ""},
				{"/etc/rc.local", "#!/bin/sh\necho rc > /srv/rc-ran\n", "x"},
				{"/etc/local.d/a.start", "#!/bin/sh\necho local > /srv/local-ran\n", "x"},
			})
			if out, _, status, _ := runScript(t, b, "ln -s ../addr.service "+wants+
				"addr.service", ""); status != 0 {
				t.Fatalf("linking the unit: %q %d", out, status)
			}

			start()
			rec, err := ReadRecord(s.opts.Dir)
			if err != nil || rec.SSHHosts["px-a"] == "" {
				t.Fatalf("record: %+v, %v", rec, err)
			}
			files := map[string]string{"/srv/unit-ran": rec.SSHHosts["px-a"] + " \n",
				"/srv/rc-ran": "rc\n"}
			for p, want := range files {
				waitFor(t, p, func() bool {
					data, err := b.ReadFile(p)
					return err == nil && string(data) == want
				})
			}
			for _, line := range []string{"boot: /bin/sh -c 'hostname -I > /srv/unit-ran'",
				"boot: /etc/rc.local",
				"boot failed: /bin/sh -c 'exit 3': exit status 3"} {
				waitFor(t, "log line "+line, func() bool { return logHas(b, line) })
			}
			if _, err := b.ReadFile("/srv/local-ran"); err == nil || logHas(b, "local.d") {
				t.Errorf("a systemd container ran OpenRC's local.d scripts")
			}

			stop()
			if a := b.Addrs(); a != nil {
				t.Errorf("stopped container has addresses %v", a)
			}
		})
	}
}

func TestBootOpenRC(t *testing.T) {
	s := startServer(t, Options{Version: "25.04"})
	c := login(t, s)
	start, _ := bootVersions[0].create(c, "px-a")
	b := boxOf(t, s, "px-a")
	writeFiles(t, b, [][3]string{
		{"/etc/rc.local", "#!/bin/sh\necho rc >> /srv/order\n", "x"},
		{"/etc/local.d/a.start", "#!/bin/sh\necho a >> /srv/order; exit 1\n", "x"},
		{"/etc/local.d/b.start", "#!/bin/sh\necho b >> /srv/order\n", "x"},
		{"/etc/local.d/c.start", "#!/bin/sh\necho not executable >> /srv/order\n", ""},
		{"/etc/local.d/d.stop", "#!/bin/sh\necho stop >> /srv/order\n", "x"},
		{"/etc/systemd/system/unused.service", "[Service]\nExecStart=/bin/false\n", ""},
	})
	start()
	waitFor(t, "local.d scripts", func() bool {
		return logHas(b, "boot: /etc/local.d/b.start")
	})
	waitFor(t, "the last script's output", func() bool {
		data, _ := b.ReadFile("/srv/order")
		return strings.HasSuffix(string(data), "b\n")
	})
	if data, _ := b.ReadFile("/srv/order"); string(data) != "rc\na\nb\n" {
		t.Errorf("boot order %q, want rc, a, b", data)
	}
	if !logHas(b, "boot failed: /etc/local.d/a.start: exit status 1") {
		t.Errorf("a failing local.d script was not logged")
	}
}

func TestBootHookEnds(t *testing.T) {
	unit := "[Service]\nExecStart=/bin/sh -c 'echo up > /srv/up; sleep 300; echo late > /srv/late'\n"
	tests := []struct {
		name  string
		limit time.Duration
		end   func(t *testing.T, s *Server, stop func())
		logs  string
	}{
		{name: "stop", limit: bootHookLimit, end: func(t *testing.T, s *Server, stop func()) {
			stop()
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.boots) != 0 {
				t.Errorf("boot still tracked after stop: %v", s.boots)
			}
		}},
		{name: "timeout", limit: 50 * time.Millisecond, logs: "still running after 50ms",
			end: func(t *testing.T, s *Server, stop func()) {}},
		{name: "close", limit: bootHookLimit, end: func(t *testing.T, s *Server, stop func()) {
			done := make(chan error, 1)
			go func() { done <- s.Close() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Close: %v", err)
				}
			case <-time.After(testTimeout):
				t.Fatalf("Close did not end a running boot hook within %s", testTimeout)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Options{Version: "26"})
			s.mu.Lock()
			s.bootLimit = tt.limit
			s.mu.Unlock()
			c := login(t, s)
			start, stop := bootVersions[1].create(c, "px-a")
			b := boxOf(t, s, "px-a")
			writeFiles(t, b, [][3]string{
				{"/etc/systemd/system/default.target.wants/slow.service", unit, ""}})
			start()
			waitFor(t, "hook start", func() bool {
				_, err := b.ReadFile("/srv/up")
				return err == nil
			})
			tt.end(t, s, stop)
			if tt.logs != "" {
				waitFor(t, "log "+tt.logs, func() bool { return logHas(b, tt.logs) })
			} else if logHas(b, "boot failed") {
				t.Errorf("a hook ended by its container was logged as failed")
			}
			if _, err := b.ReadFile("/srv/late"); err == nil {
				t.Errorf("the hook ran to its end")
			}
		})
	}
}

// reporterScript is the address reporter pixels' client installs on 26 (a copy of the text
// in internal/truenas/lxc_net.go, used here only as test input).
const reporterScript = `#!/bin/sh
# Installed by pixels. TrueNAS 26 does not report container addresses, so this writes them
# as empty files named ip-ADDRESS in /var/lib/pixels/net, which pixels lists from the NAS.
dir=/var/lib/pixels/net
rm -rf "$dir"
n=0
while [ "$n" -lt 120 ]; do
	addrs=$(ip -o addr show scope global 2>/dev/null | awk '{split($4, a, "/"); print a[1]}')
	[ -n "$addrs" ] || addrs=$(hostname -I 2>/dev/null)
	[ -n "$addrs" ] && break
	n=$((n + 1))
	sleep 1
done
mkdir -p "$dir.new"
for a in $addrs; do : > "$dir.new/ip-$a"; done
rm -rf "$dir"
mv "$dir.new" "$dir"
`

// reporterUnit is the unit that runs it (also copied from the client, as test input).
const reporterUnit = `[Unit]
Description=Report this container's addresses to pixels
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/sbin/pixels-net-report

[Install]
WantedBy=multi-user.target
`

func TestBootReporter26(t *testing.T) {
	s := startServer(t, Options{Version: "26"})
	c := login(t, s)
	start, stop := bootVersions[1].create(c, "px-a")
	rootfs := lxcPrefix + "px-a"
	for _, f := range []struct {
		path, content string
		mode          int
	}{
		{"/usr/local/sbin/pixels-net-report", reporterScript, 0o755},
		{"/etc/systemd/system/pixels-net-report.service", reporterUnit, 0o644},
		{"/etc/systemd/system/multi-user.target.wants/pixels-net-report.service", reporterUnit,
			0o644},
		{"/etc/local.d/pixels-net-report.start",
			"#!/bin/sh\n/usr/local/sbin/pixels-net-report &\n", 0o755},
	} {
		c.mustCall(nil, "filesystem.file_receive", rootfs+f.path,
			base64.StdEncoding.EncodeToString([]byte(f.content)),
			map[string]any{"mode": f.mode, "uid": 0, "gid": 0})
	}

	for round := range 2 { // a second boot reports afresh
		start()
		rec, err := ReadRecord(s.opts.Dir)
		if err != nil || rec.SSHHosts["px-a"] == "" {
			t.Fatalf("record: %+v, %v", rec, err)
		}
		want := "ip-" + rec.SSHHosts["px-a"]
		var names []string
		waitFor(t, fmt.Sprintf("round %d: %s listed", round, want), func() bool {
			var entries []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			}
			m := c.call("filesystem.listdir", rootfs+"/var/lib/pixels/net")
			if m.Error != nil || json.Unmarshal(m.Result, &entries) != nil {
				return false
			}
			names = names[:0]
			for _, e := range entries {
				names = append(names, e.Name+":"+e.Type)
			}
			return strings.Join(names, ",") == want+":FILE"
		})
		b := boxOf(t, s, "px-a")
		waitFor(t, "log line", func() bool {
			return logHas(b, "boot: /usr/local/sbin/pixels-net-report")
		})
		stop()
	}
}
