package sim

// ZFS properties of the simulated datasets, for zfs get, list and set. The simulator keeps
// a small set: a few read-only statistics computed from the files, the inheritable
// mountpoint, compression and readonly, canmount, and user properties (names with a
// colon). Values are stored and shown as given; there is no altroot, so the layout's
// defaults are spelled with their /mnt paths.

import (
	"fmt"
	"hash/fnv"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// zfsProps are the native properties the simulator knows, in the order zfs get all
// prints them.
var zfsProps = []string{"type", "creation", "used", "available", "referenced", "mounted",
	"origin", "mountpoint", "compression", "readonly", "createtxg", "canmount", "guid"}

// propAliases maps the short names zfs accepts to the full ones.
var propAliases = map[string]string{"avail": "available", "refer": "referenced",
	"compress": "compression", "rdonly": "readonly"}

// inheritable lists the native properties a child inherits.
var inheritable = map[string]bool{"mountpoint": true, "compression": true, "readonly": true}

// settable lists the native properties zfs set may change, with a check of the value.
var settable = map[string]func(string) string{
	"mountpoint": func(v string) string {
		if v == "legacy" || v == "none" || strings.HasPrefix(v, "/") {
			return ""
		}
		return "'mountpoint' must be an absolute path, 'none', or 'legacy'"
	},
	"canmount":    oneOf("canmount", "on", "off", "noauto"),
	"readonly":    oneOf("readonly", "on", "off"),
	"compression": oneOf("compression", "on", "off", "lz4", "gzip", "zle", "lzjb", "zstd"),
}

// oneOf checks a value against a fixed list, with the wording of zfs.
func oneOf(prop string, values ...string) func(string) string {
	return func(v string) string {
		for _, ok := range values {
			if v == ok {
				return ""
			}
		}
		return fmt.Sprintf("'%s' must be one of '%s'", prop, strings.Join(values, " | "))
	}
}

// canonProp returns the full name of a property, or "" when the simulator does not know it.
// User properties (with a colon) are always known.
func canonProp(name string) string {
	if full, ok := propAliases[name]; ok {
		return full
	}
	for _, p := range zfsProps {
		if p == name {
			return name
		}
	}
	if name == "name" || isUserProp(name) {
		return name
	}
	return ""
}

// isUserProp reports whether a name is a user property (module:property).
func isUserProp(name string) bool {
	return strings.Contains(name, ":") && !strings.HasPrefix(name, ":")
}

// poolSize is the pretend size of the pool; available is what the datasets leave of it.
const poolSize = int64(1) << 40

// layoutOwnSize is what a layout dataset refers to by itself.
const layoutOwnSize = 96 << 10

// propCtx answers property look-ups for one command, computing the sizes once.
type propCtx struct {
	s     *Server
	sizes map[string][2]int64 // dataset -> {referenced, used}
}

// newPropCtx prepares property look-ups. Called with mu held.
func (s *Server) newPropCtx() *propCtx {
	return &propCtx{s: s, sizes: map[string][2]int64{}}
}

// size returns referenced and used bytes of a dataset, a layout one counting its
// descendants. Called with mu held.
func (pc *propCtx) size(r dsRef) (int64, int64) {
	if v, ok := pc.sizes[r.name]; ok {
		return v[0], v[1]
	}
	var refer, used int64
	switch r.kind {
	case dsLayout:
		refer, used = layoutOwnSize, layoutOwnSize
		for _, d := range pc.s.datasets() {
			if parentOf(d.name) == r.name {
				_, u := pc.size(d)
				used += u
			}
		}
	case dsContainer, dsLoose:
		dir := pc.s.dataDir(r)
		refer = dirSize(filepath.Join(dir, "rootfs"))
		used = refer + dirSize(filepath.Join(dir, "snapshots"))
	}
	pc.sizes[r.name] = [2]int64{refer, used}
	return refer, used
}

// dirSize adds up the regular files under a host directory; unreadable parts count zero.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			n += info.Size()
		}
		return nil
	})
	return n
}

// propValue returns a native or user property of a dataset with its source: "-" for
// statistics, "local", "default", or "inherited from <dataset>". ok is false for a user
// property that is set nowhere. Called with mu held.
func (s *Server) propValue(r dsRef, prop string) (string, string) {
	v, src, _ := s.newPropCtx().get(r, prop, false)
	return v, src
}

// get is propValue with sizes from the context; parsable prints numbers and times raw.
func (pc *propCtx) get(r dsRef, prop string, parsable bool) (string, string, bool) {
	s := pc.s
	switch prop {
	case "name":
		return r.name, "-", true
	case "type":
		return "filesystem", "-", true
	case "creation":
		return formatTime(s.created(r), parsable), "-", true
	case "used", "referenced", "available":
		refer, used := pc.size(r)
		n := map[string]int64{"used": used, "referenced": refer}[prop]
		if prop == "available" {
			_, n = pc.size(s.lookupDS(pool))
			n = poolSize - n
		}
		return formatSize(n, parsable), "-", true
	case "mounted":
		return yesNo(s.mounted(r)), "-", true
	case "origin", "createtxg":
		return "-", "-", true
	case "guid":
		// Unique per dataset made: a dataset destroyed and made again under the same name
		// gets another.
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%d", r.kind, s.created(r).UnixNano())
		return strconv.FormatUint(h.Sum64(), 10), "-", true
	case "canmount":
		if v, ok := s.localProps(r)["canmount"]; ok {
			return v, "local", true
		}
		return "on", "default", true
	}

	for name := r.name; name != ""; name = parentOf(name) {
		v, ok := s.localProps(s.lookupDS(name))[prop]
		if !ok {
			continue
		}
		if name == r.name {
			return v, "local", true
		}
		if prop == "mountpoint" && v != "legacy" && v != "none" {
			v += strings.TrimPrefix(r.name, name)
		}
		return v, "inherited from " + name, true
	}
	switch prop {
	case "mountpoint":
		return "/mnt/" + r.name, "default", true
	case "compression", "readonly":
		return "off", "default", true
	}
	return "-", "-", false
}

// snapProp returns a property of a snapshot; the ones that do not apply show "-".
func (pc *propCtx) snapProp(sn *snapshot, prop string, parsable bool) (string, string, bool) {
	switch prop {
	case "name":
		return sn.id(), "-", true
	case "type":
		return "snapshot", "-", true
	case "creation":
		return formatTime(sn.Created, parsable), "-", true
	case "used":
		return formatSize(0, parsable), "-", true
	case "referenced":
		return formatSize(sn.Size, parsable), "-", true
	case "createtxg":
		return strconv.FormatInt(sn.TXG, 10), "-", true
	}
	if isUserProp(prop) {
		return "-", "-", false
	}
	return "-", "-", true
}

// created is when a dataset came to be; the layout pretends to date from the epoch of
// the simulator's first state. Called with mu held.
func (s *Server) created(r dsRef) time.Time {
	switch r.kind {
	case dsContainer:
		return r.in.Created
	case dsLoose:
		return r.loose.Created
	}
	return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
}

// userProps lists the user properties set on a dataset or its ancestors, sorted. Called
// with mu held.
func (s *Server) userProps(r dsRef) []string {
	seen := map[string]bool{}
	for name := r.name; name != ""; name = parentOf(name) {
		for k := range s.localProps(s.lookupDS(name)) {
			if isUserProp(k) {
				seen[k] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// yesNo prints a boolean as zfs does.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// formatTime prints a creation time as zfs does, or as epoch seconds when parsable.
func formatTime(t time.Time, parsable bool) string {
	if parsable {
		return strconv.FormatInt(t.Unix(), 10)
	}
	return t.Local().Format("Mon Jan _2 15:04 2006")
}

// formatSize prints a byte count as zfs does (96K, 1.20M, 812M), or raw when parsable.
func formatSize(n int64, parsable bool) string {
	if parsable {
		return strconv.FormatInt(n, 10)
	}
	units := "BKMGTPE"
	i := 0
	for i < len(units)-1 && n >= int64(1)<<(10*(i+1)) {
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	div := int64(1) << (10 * i)
	if n%div == 0 {
		return fmt.Sprintf("%d%c", n/div, units[i])
	}
	f := float64(n) / float64(div)
	switch {
	case f < 10:
		return fmt.Sprintf("%.2f%c", f, units[i])
	case f < 100:
		return fmt.Sprintf("%.1f%c", f, units[i])
	}
	return fmt.Sprintf("%.0f%c", f, units[i])
}
