package bindings

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pixels-dev/pixels/internal/truenas"
)

// rcLocal starts sshd at boot, installing it first on images that lack it. It is policy, so
// it lives here rather than in the client: the same file serves every API generation.
const rcLocal = `#!/bin/sh
# Written by pixels: make sure sshd runs so pixels can reach this container.
if ! command -v sshd >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get install -y -qq openssh-server
  elif command -v apk >/dev/null 2>&1; then
    apk add --no-cache openssh && ssh-keygen -A
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y openssh-server
  elif command -v pacman >/dev/null 2>&1; then
    pacman -Sy --noconfirm openssh
  fi
fi
systemctl enable --now ssh 2>/dev/null || systemctl enable --now sshd 2>/dev/null || \
  rc-service sshd start 2>/dev/null || /usr/sbin/sshd
exit 0
`

const rcLocalUnit = `[Unit]
Description=pixels: start sshd (rc.local)
ConditionFileIsExecutable=/etc/rc.local
After=network-online.target

[Service]
Type=oneshot
ExecStart=/etc/rc.local
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
`

// provision writes what pixels needs inside a new container: our public key for root, DNS
// servers when configured, and sshd started at boot. A copy of another container also gets
// its own hostname and a fresh machine id ("uninitialized" makes systemd generate one at
// boot; a shared id would give both containers the same DHCP client id). It then restarts
// the container so the boot hook runs.
func (m *module) provision(ctx context.Context, b truenas.Backend, pxName string,
	dns []string, copied bool) error {
	cl, err := m.d.SSH()
	if err != nil {
		return err
	}
	key, err := cl.AuthorizedKey()
	if err != nil {
		return err
	}
	files := []struct {
		path string
		data string
		mode uint32
	}{
		{"/root/.ssh/authorized_keys", strings.TrimSpace(key) + "\n", 0o600},
		{"/etc/rc.local", rcLocal, 0o755},
		{"/etc/systemd/system/pixels-sshd.service", rcLocalUnit, 0o644},
		{"/etc/systemd/system/multi-user.target.wants/pixels-sshd.service", rcLocalUnit, 0o644},
	}
	if copied {
		files = append(files, []struct {
			path string
			data string
			mode uint32
		}{
			{"/etc/hostname", pxName + "\n", 0o644},
			{"/etc/machine-id", "uninitialized\n", 0o444},
		}...)
	}
	if len(dns) > 0 {
		var conf strings.Builder
		conf.WriteString("# Written by pixels\n[Resolve]\nDNS=")
		conf.WriteString(strings.Join(dns, " "))
		conf.WriteString("\n")
		files = append(files, struct {
			path string
			data string
			mode uint32
		}{"/etc/systemd/resolved.conf.d/pixels.conf", conf.String(), 0o644})
	}
	for _, f := range files {
		// WriteFile's errors name the path already.
		if err := b.WriteFile(ctx, pxName, f.path, []byte(f.data), f.mode, 0, 0); err != nil {
			return err
		}
	}
	// The container is brand new, so nothing is lost by not waiting for its shutdown.
	if err := b.Stop(ctx, pxName, truenas.StopOptions{Timeout: 30 * time.Second, Force: true},
		nil); err != nil {
		return fmt.Errorf("restarting to run the boot hook: %w", err)
	}
	if err := b.Start(ctx, pxName, nil); err != nil {
		return fmt.Errorf("restarting to run the boot hook: %w", err)
	}
	return nil
}
