package sim

// Finding what a container runs at boot: enabled systemd services, rc.local and OpenRC's
// local.d scripts, read from the container's own tree.

import (
	"path"
	"strings"
)

// Where boot hooks live inside a container.
const (
	systemdDir = "/etc/systemd/system"
	rcLocal    = "/etc/rc.local"
	localDir   = "/etc/local.d"
)

// bootHooks lists the hooks of a box in phases: the hooks of a phase start together, and a
// phase starts once the one before has ended. A box is booted by one init, as a real
// container is: systemd when any service is enabled in /etc/systemd/system/*.target.wants
// (each unit once, even when several targets want it), which then also runs an executable
// /etc/rc.local, as its rc-local generator does on Debian and Ubuntu; otherwise OpenRC-style,
// rc.local then the executable /etc/local.d/*.start scripts in order. (pixels installs its
// address reporter for both inits; running both would start it twice.)
func bootHooks(b *Box) [][]bootHook {
	var units []bootHook
	seen := map[string]bool{}
	targets, _ := b.readDir("/", systemdDir)
	for _, t := range targets {
		if !strings.HasSuffix(t.Name(), ".target.wants") {
			continue
		}
		dir := path.Join(systemdDir, t.Name())
		entries, _ := b.readDir("/", dir) // a plain file or dangling link lists nothing
		for _, u := range entries {
			if !strings.HasSuffix(u.Name(), ".service") || seen[u.Name()] {
				continue
			}
			seen[u.Name()] = true
			p := path.Join(dir, u.Name())
			data, err := b.ReadFile(p) // follows the usual symlink to the unit file
			if err != nil {
				units = append(units, bootHook{source: p, err: err})
				continue
			}
			if cmds := execStarts(string(data)); len(cmds) > 0 {
				units = append(units, bootHook{source: p, cmds: cmds})
			}
		}
	}

	var phases [][]bootHook
	if len(units) > 0 {
		phases = append(phases, units)
	}
	if executable(b, rcLocal) {
		phases = append(phases, []bootHook{{source: rcLocal, cmds: []string{rcLocal}}})
	}
	if len(seen) > 0 {
		return phases
	}

	local := bootHook{source: localDir, keepGoing: true}
	scripts, _ := b.readDir("/", localDir)
	for _, sc := range scripts {
		p := path.Join(localDir, sc.Name())
		if strings.HasSuffix(sc.Name(), ".start") && executable(b, p) {
			local.cmds = append(local.cmds, p)
		}
	}
	if len(local.cmds) > 0 {
		phases = append(phases, []bootHook{local})
	}

	return phases
}

// executable reports whether p is a regular file with an execute bit, after links.
func executable(b *Box, p string) bool {
	info, err := b.stat(p, true)

	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// execStarts returns the command lines of a unit's ExecStart= settings in its [Service]
// section, in order; an empty assignment clears the ones before it, as in systemd. The
// commands later run as shell words, which covers systemd's own quoting for the usual cases;
// specifiers (%i) and Environment= are not applied.
func execStarts(unit string) []string {
	var cmds []string
	section := ""
	unit = strings.ReplaceAll(strings.ReplaceAll(unit, "\r\n", "\n"), "\\\n", " ")
	for _, line := range strings.Split(unit, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			section = line
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if section != "[Service]" || !ok || strings.TrimSpace(key) != "ExecStart" {
			continue
		}
		val = strings.TrimSpace(val)
		if val == "" {
			cmds = nil
			continue
		}
		cmds = append(cmds, execCommand(val))
	}

	return cmds
}

// execCommand strips the special prefixes of an ExecStart value ("-" ignore failure, "+",
// "!", ":" privilege and expansion tweaks, "@" a separate argv[0], whose word is dropped).
func execCommand(val string) string {
	cmd := strings.TrimLeft(val, "-@:+!|")
	prefix := val[:len(val)-len(cmd)]
	cmd = strings.TrimSpace(cmd)
	if strings.Contains(prefix, "@") {
		if f := strings.Fields(cmd); len(f) >= 2 {
			cmd = strings.Join(append(f[:1:1], f[2:]...), " ")
		}
	}

	return cmd
}
