package truenas

import (
	"context"
	"fmt"
	"strings"
)

// TrueNAS 26 returns no container address in any API reply. The route pixels takes (the
// 26 reference, §6 option 2): at create it installs a small reporter in the container's root
// filesystem that, at each boot, writes the container's global addresses as empty files
// named ip-ADDRESS under reportDir; the adapter lists that directory through
// filesystem.listdir. The reporter clears the directory first, so addresses of an earlier
// boot vanish as soon as it runs; until it reports, the container shows no address and
// callers waiting for one keep polling.
//
// Scope: systemd images run it through a unit in multi-user.target.wants and OpenRC images
// through /etc/local.d (which needs the "local" service), which covers the images TrueNAS
// offers; other inits, and images without `ip` or `hostname -I`, report nothing, and such a
// container waits for an address until its deadline. It was written against the 26
// reference and the simulator, not yet run on a real 26 system.
const reportDir = "/var/lib/pixels/net"

// staleMark is a file pixels writes into reportDir before it starts a container. A report
// left by an earlier boot, by the checkpoint a container was restored to, or by the
// container a copy was made from names addresses that may belong to another machine; the
// reporter removes the whole directory, marker included, once it reports this boot's.
const staleMark = "stale"

const reporterScript = `#!/bin/sh
# Installed by pixels. TrueNAS 26 does not report container addresses, so this writes them
# as empty files named ip-ADDRESS in ` + reportDir + `, which pixels lists from the NAS.
dir=` + reportDir + `
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

const reporterUnit = `[Unit]
Description=Report this container's addresses to pixels
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/sbin/pixels-net-report

[Install]
WantedBy=multi-user.target
`

const reporterOpenRC = "#!/bin/sh\n/usr/local/sbin/pixels-net-report &\n"

// reporterFiles are the files installReporter writes: path, content, mode.
var reporterFiles = []struct {
	path, content string
	mode          uint32
}{
	{"/usr/local/sbin/pixels-net-report", reporterScript, 0o755},
	{"/etc/systemd/system/pixels-net-report.service", reporterUnit, 0o644},
	// A unit file placed in a .wants directory adds the dependency by its name; the
	// file_receive API cannot make the usual symlink.
	{"/etc/systemd/system/multi-user.target.wants/pixels-net-report.service", reporterUnit,
		0o644},
	{"/etc/local.d/pixels-net-report.start", reporterOpenRC, 0o755},
}

// installReporter writes the reporter into a freshly created container, owned by root.
func (x *lxc) installReporter(ctx context.Context, e *lxcEntry) error {
	for _, f := range reporterFiles {
		err := receiveFile(ctx, x.c, e.rootfs()+f.path, []byte(f.content), f.mode, 0, 0)
		if err != nil {
			return err
		}
	}
	return nil
}

// addresses reads what the reporter wrote. A missing directory just means "no address yet".
func (x *lxc) addresses(ctx context.Context, e lxcEntry) (v4, v6 []string) {
	var entries []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	err := x.c.Call(ctx, "filesystem.listdir", []any{e.rootfs() + reportDir}, &entries)
	if err != nil {
		x.c.log.Debug("truenas no address report yet", "name", e.Name, "err", err)
		return nil, nil
	}
	var as []alias
	for _, en := range entries {
		if en.Name == staleMark {
			return nil, nil
		}
		if addr, ok := strings.CutPrefix(en.Name, "ip-"); ok && en.Type != "DIRECTORY" {
			as = append(as, alias{Address: addr})
		}
	}
	return splitAliases(as)
}

// markStale flags whatever report the container's tree holds as not from its next boot.
func (x *lxc) markStale(ctx context.Context, e *lxcEntry) error {
	err := receiveFile(ctx, x.c, e.rootfs()+reportDir+"/"+staleMark,
		[]byte("written by pixels before a start; the address reporter removes it\n"), 0o644,
		0, 0)
	if err != nil {
		return fmt.Errorf("marking the old address report stale: %w", err)
	}
	return nil
}
