package bindings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pixels-dev/pixels/internal/ssh"
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

// provFile is one file provisioning writes into a container.
type provFile struct {
	path string
	data string
	mode uint32
}

// provision writes what pixels needs inside a new container: our public key for root, DNS
// servers when configured, and sshd started at boot. A copy of another container goes
// through provisionCopy first. It then restarts the container so the boot hook runs.
func (m *module) provision(ctx context.Context, b truenas.Backend, pxName string,
	dns []string, srcName string, warn func(string, ...any)) (err error) {
	copied := srcName != ""
	cl, err := m.d.SSH()
	if err != nil {
		return err
	}
	if copied {
		done, cerr := m.provisionCopy(ctx, b, cl, pxName, srcName, dns, warn)
		if done || cerr != nil {
			return cerr
		}
		// TrueNAS 26, and the copy refused pixels' key: the API route below writes it in.
		defer func() {
			if err != nil {
				err = fmt.Errorf("the copy does not accept pixels' SSH key, and writing it "+
					"in through the NAS failed (restore the key in %q's "+
					"/root/.ssh/authorized_keys and copy again): %w", bare(srcName), err)
			}
		}()
	}
	key, err := cl.AuthorizedKey()
	if err != nil {
		return err
	}
	files := []provFile{
		{"/root/.ssh/authorized_keys", strings.TrimSpace(key) + "\n", 0o600},
		{"/etc/rc.local", rcLocal, 0o755},
		{"/etc/systemd/system/pixels-sshd.service", rcLocalUnit, 0o644},
		{"/etc/systemd/system/multi-user.target.wants/pixels-sshd.service", rcLocalUnit, 0o644},
	}
	if copied {
		files = append(files, []provFile{
			{"/etc/hostname", pxName + "\n", 0o644},
			{"/etc/machine-id", "uninitialized\n", 0o444},
		}...)
	}
	if len(dns) > 0 {
		files = append(files, provFile{"/etc/systemd/resolved.conf.d/pixels.conf", resolvedConf(dns), 0o644})
	}
	for _, f := range files {
		// WriteFile's errors name the path already.
		if err := b.WriteFile(ctx, pxName, f.path, []byte(f.data), f.mode, 0, 0); err != nil {
			return err
		}
	}
	if copied {
		warn("the copy %q did not accept pixels' SSH key (its source's "+
			"/root/.ssh/authorized_keys lacked it), so pixels wrote its key in through the "+
			"NAS: that file now holds only pixels' key", bare(pxName))
	}
	return restart(ctx, b, pxName)
}

// restart stops and starts a container that pixels has just made, so its boot hooks run.
// Nothing is lost by not waiting for its shutdown.
func restart(ctx context.Context, b truenas.Backend, pxName string) error {
	if err := b.Stop(ctx, pxName, truenas.StopOptions{Timeout: 30 * time.Second, Force: true},
		nil); err != nil {
		return fmt.Errorf("restarting to run the boot hook: %w", err)
	}
	if err := b.Start(ctx, pxName, nil); err != nil {
		return fmt.Errorf("restarting to run the boot hook: %w", err)
	}
	return nil
}

// provisionCopy gives a copy of container srcName what must differ from its source: its own
// hostname, also in /etc/hosts, its own SSH host keys, and a fresh machine id ("uninitialized" makes systemd make
// one at the next boot; a shared id would give both the same DHCP client id), and the
// configured DNS servers.
//
// The copy boots the source's system, which already runs sshd and accepts pixels' key, so
// these writes go over SSH, inside the container, and the restart that follows applies
// them. That keeps the source's authorized_keys as it was, and it matters on TrueNAS 25.x:
// its file API writes from the NAS's side and follows the links in a container's files on
// the NAS itself. A source filesystem may hold links planted by anything that ran in it,
// and a dangling one is invisible to every 25.x read call (see checkNoSymlinks), so pixels
// never writes into a copied filesystem through that API.
//
// done is false when the copy refuses pixels' key on TrueNAS 26, where the file API is
// safe: provision then writes everything through it, as for a new container.
func (m *module) provisionCopy(ctx context.Context, b truenas.Backend, cl *ssh.Client,
	pxName, srcName string, dns []string, warn func(string, ...any)) (done bool, err error) {
	c, err := b.Get(ctx, pxName)
	if err != nil {
		return false, err
	}
	if c.Status != "RUNNING" {
		if err := b.Start(ctx, pxName, nil); err != nil {
			return false, err
		}
	}
	c, err = m.waitFor(ctx, b, pxName, "ssh", true)
	if errors.Is(err, ssh.ErrAuth) {
		key, kerr := cl.AuthorizedKey()
		if kerr != nil {
			return false, kerr
		}
		if !strings.HasPrefix(b.Version(), "25.") {
			return false, nil
		}
		return false, fmt.Errorf("the copy does not accept pixels' SSH key: the system it "+
			"was copied from lacks it in /root/.ssh/authorized_keys. On TrueNAS %s pixels "+
			"writes into a copied system only over SSH (the NAS's file API would follow "+
			"links in it on the NAS itself). Put this line back in %q's "+
			"/root/.ssh/authorized_keys (pixels cannot reach it either; from a shell on the "+
			"NAS: sudo incus exec %s -- sh -c 'cat >> /root/.ssh/authorized_keys'), then "+
			"copy its current state (--from %s) or a checkpoint taken after that: %s",
			b.Version(), bare(srcName), srcName, bare(srcName), strings.TrimSpace(key))
	}
	if err != nil {
		return false, fmt.Errorf("reaching the copy to give it its own identity: %w", err)
	}
	addr := m.addr(c)
	files := []provFile{
		{"/etc/hostname", pxName + "\n", 0o644},
		{"/etc/machine-id", "uninitialized\n", 0o444},
	}
	if len(dns) > 0 {
		files = append(files, provFile{"/etc/systemd/resolved.conf.d/pixels.conf", resolvedConf(dns), 0o644})
	}
	var hosts strings.Builder
	code, err := cl.Exec(ctx, addr, ssh.ExecRequest{Argv: []string{"cat", "/etc/hosts"},
		Stdout: &hosts})
	if err != nil {
		return false, fmt.Errorf("reading the copy's /etc/hosts: %w", err)
	}
	if renamed, ok := renameHost(hosts.String(), srcName, pxName); code == 0 && ok {
		files = append(files, provFile{"/etc/hosts", renamed, 0o644})
	}
	for _, f := range files {
		if err := cl.WriteFile(ctx, addr, f.path, []byte(f.data), f.mode, 0, 0); err != nil {
			return false, err
		}
	}
	// Its own SSH host keys too, or the copy could pose as its source. Not fatal: the copy
	// works with the old ones, and the user is told.
	if _, err := cl.RenewHostKeys(ctx, addr, pxName); err != nil {
		warn("the copy %q keeps the SSH host keys of %q (%v)", bare(pxName), bare(srcName), err)
	}
	return true, restart(ctx, b, pxName)
}

// resolvedConf is a systemd-resolved drop-in naming the DNS servers.
func resolvedConf(dns []string) string {
	return "# Written by pixels\n[Resolve]\nDNS=" + strings.Join(dns, " ") + "\n"
}

// renameHost replaces the host name from with to in an /etc/hosts text, where it stands as a
// whole name (a field of a line that is not a comment, or the first label of a dotted name,
// as in "px-a.lan"). ok is false when nothing changed.
func renameHost(hosts, from, to string) (string, bool) {
	lines := strings.SplitAfter(hosts, "\n")
	changed := false
	for i, line := range lines {
		body, comment, hasComment := strings.Cut(line, "#")
		fields := strings.Fields(body)
		if len(fields) < 2 {
			continue
		}
		hit := false
		for j, f := range fields[1:] {
			if f == from || strings.HasPrefix(f, from+".") {
				fields[j+1] = to + strings.TrimPrefix(f, from)
				hit = true
			}
		}
		if !hit {
			continue
		}
		changed = true
		out := strings.Join(fields, "\t")
		if hasComment {
			out += " #" + strings.TrimRight(comment, "\n")
		}
		if strings.HasSuffix(line, "\n") {
			out += "\n"
		}
		lines[i] = out
	}
	return strings.Join(lines, ""), changed
}
