package sim

// The zfs command that cron jobs run (cron_shell.go): a subset of the OpenZFS CLI over the
// simulator's datasets (zfs.go), with OpenZFS's wording for errors and its exit statuses
// (1 for a failure, 2 for a usage error). Options the simulator does not play are refused
// with a message that says so, rather than ignored.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

// zfsUsage is the usage line of each simulated subcommand.
var zfsUsage = map[string]string{
	"list": "list [-Hpr] [-o property[,...]] [-t type[,...]] " +
		"[filesystem|snapshot] ...",
	"get": "get [-Hpr] [-o field[,...]] [-t type[,...]] [-s source[,...]]\n" +
		"\t    <\"all\" | property[,...]> [filesystem|snapshot] ...",
	"set":      "set <property=value> ... <filesystem> ...",
	"snapshot": "snapshot <filesystem>@<snap> ...",
	"rollback": "rollback [-rRf] <snapshot>",
	"destroy":  "destroy [-rRf] <filesystem>\n\tdestroy <filesystem>@<snap>[,<snap>]...",
	"send":     "send <snapshot>",
	"receive":  "receive [-uv] [-o <property>=<value>] ... <filesystem|snapshot>",
	"rename":   "rename [-fu] <filesystem> <filesystem>",
}

// zfsOrder is the order subcommands appear in the general usage.
var zfsOrder = []string{"list", "get", "set", "snapshot", "rollback", "destroy", "send",
	"receive", "rename"}

// zfsUnsimulated are real subcommands the simulator does not play.
var zfsUnsimulated = map[string]bool{"create": true, "clone": true, "promote": true,
	"inherit": true, "upgrade": true, "userspace": true, "groupspace": true,
	"projectspace": true, "project": true, "mount": true, "unmount": true, "umount": true,
	"share": true, "unshare": true, "bookmark": true, "hold": true, "holds": true,
	"release": true, "diff": true, "allow": true, "unallow": true, "load-key": true,
	"unload-key": true, "change-key": true, "redact": true, "wait": true, "jail": true,
	"unjail": true, "zone": true, "unzone": true, "program": true, "version": true}

// zfsStreamMagic starts every stream zfs send writes; what follows is one JSON line naming
// the sent snapshot. The stream carries no data: zfs recv copies the snapshot's tree.
const zfsStreamMagic = "\x00\x00PIXELS-SIM-ZFS-STREAM\x00"

// zfsStream is the header of a send stream.
type zfsStream struct {
	Snapshot string `json:"snapshot"`
	TXG      int64  `json:"txg"`
}

// zfsCmd is one run of the zfs command. Its output is recorded while the server's lock is
// held and written out after, so that a reader of its output never waits on the lock.
type zfsCmd struct {
	s     *Server
	stdin io.Reader
	out   *recorder
	sub   string
}

// recorder keeps what a command writes to stdout and stderr, in order.
type recorder struct {
	mu     sync.Mutex
	chunks []chunk
}

// chunk is one write of a recorder.
type chunk struct {
	err  bool
	data []byte
}

// stream returns a writer for stdout (err false) or stderr (err true).
func (r *recorder) stream(err bool) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.chunks = append(r.chunks, chunk{err: err, data: bytes.Clone(p)})
		return len(p), nil
	})
}

// replay writes what was recorded to the real streams.
func (r *recorder) replay(stdout, stderr io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.chunks {
		w := stdout
		if c.err {
			w = stderr
		}
		if _, err := w.Write(c.data); err != nil {
			return
		}
	}
	r.chunks = nil
}

// writerFunc adapts a function to io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// zfs runs one zfs command line (args without the program name) and returns its exit
// status. It never touches the host: it reads and changes the simulator's datasets only.
func (s *Server) zfs(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	z := &zfsCmd{s: s, stdin: stdin, out: &recorder{}}
	defer z.out.replay(stdout, stderr)
	if len(args) == 0 {
		return z.generalUsage()
	}
	z.sub = args[0]
	switch args[0] {
	case "list":
		return z.list(args[1:])
	case "get":
		return z.get(args[1:])
	case "set":
		return z.set(args[1:])
	case "snapshot", "snap":
		z.sub = "snapshot"
		return z.snapshot(args[1:])
	case "rollback":
		return z.rollback(args[1:])
	case "destroy":
		return z.destroy(args[1:])
	case "send":
		return z.send(args[1:], stdout)
	case "receive", "recv":
		z.sub = "receive"
		return z.receive(args[1:])
	case "rename":
		return z.rename(args[1:])
	}
	if zfsUnsimulated[args[0]] {
		return z.fail("cannot run 'zfs %s': the simulator does not play this command "+
			"(it plays %s)", args[0], strings.Join(zfsOrder, ", "))
	}
	z.errf("unrecognized command '%s'\n", args[0])
	return z.generalUsage()
}

// errf writes to stderr.
func (z *zfsCmd) errf(format string, a ...any) {
	fmt.Fprintf(z.out.stream(true), format, a...)
}

// printf writes to stdout.
func (z *zfsCmd) printf(format string, a ...any) {
	fmt.Fprintf(z.out.stream(false), format, a...)
}

// fail prints one error line and returns status 1.
func (z *zfsCmd) fail(format string, a ...any) int {
	z.errf(format+"\n", a...)
	return 1
}

// usage prints the usage of the current subcommand and returns status 2.
func (z *zfsCmd) usage() int {
	z.errf("usage:\n\t%s\n", zfsUsage[z.sub])
	return 2
}

// generalUsage prints every simulated subcommand and returns status 2.
func (z *zfsCmd) generalUsage() int {
	z.errf("usage: zfs command args ...\nwhere 'command' is one of the following:\n\n")
	for _, sub := range zfsOrder {
		z.errf("\t%s\n", zfsUsage[sub])
	}
	return 2
}

// lock takes the server's lock; the returned function releases it.
func (z *zfsCmd) lock() func() {
	z.s.mu.Lock()
	return z.s.mu.Unlock
}

// zfsOpts holds parsed options: letter -> values (one empty value per flag use).
type zfsOpts map[byte][]string

// has reports whether a flag was given.
func (o zfsOpts) has(c byte) bool { return len(o[c]) > 0 }

// parseOpts reads options the way zfs's getopt does: grouped letters, values attached or
// in the next word, options and operands in any order, "--" ending options. spec lists the
// letters, each followed by ':' when it takes a value; letters in unsupported are real zfs
// options the simulator refuses. ok is false after a usage error was printed.
func (z *zfsCmd) parseOpts(args []string, spec, unsupported string) (zfsOpts, []string, bool) {
	opts := zfsOpts{}
	var operands []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			operands = append(operands, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			operands = append(operands, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(spec, c)
			switch {
			case strings.IndexByte(unsupported, c) >= 0:
				z.errf("the simulator does not support 'zfs %s -%c'\n", z.sub, c)
				return nil, nil, false
			case k < 0 || c == ':':
				z.errf("invalid option '%c'\n", c)
				z.usage()
				return nil, nil, false
			case k+1 < len(spec) && spec[k+1] == ':':
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						z.errf("missing argument for '%c' option\n", c)
						z.usage()
						return nil, nil, false
					}
					i++
					val = args[i]
				}
				opts[c] = append(opts[c], val)
				j = len(a)
			default:
				opts[c] = append(opts[c], "")
			}
		}
	}
	return opts, operands, true
}

// splitList splits comma separated option values.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// openFailed prints that a dataset or snapshot does not exist and returns status 1.
func (z *zfsCmd) openFailed(name string) int {
	return z.fail("cannot open '%s': dataset does not exist", name)
}

// findSnapshot finds a snapshot by "dataset@label". Called with mu held.
func (z *zfsCmd) findSnapshot(id string) *snapshot {
	return z.s.st.findSnapshot(id)
}

// row is one line of zfs list or zfs get: a dataset or one of its snapshots.
type row struct {
	ds dsRef
	sn *snapshot
}

// name is the row's dataset or snapshot name.
func (r row) name() string {
	if r.sn != nil {
		return r.sn.id()
	}
	return r.ds.name
}

// rowProp returns a property of a row.
func (pc *propCtx) rowProp(r row, prop string, parsable bool) (string, string, bool) {
	if r.sn != nil {
		return pc.snapProp(r.sn, prop, parsable)
	}
	return pc.get(r.ds, prop, parsable)
}

// collect gathers the rows for operands (all datasets when there are none), with
// filesystems and/or snapshots, and descendants with recursive. It prints an error per
// missing operand and reports whether all were found. Called with mu held.
func (z *zfsCmd) collect(operands []string, fsys, snaps, recursive bool) ([]row, bool) {
	all := z.s.datasets()
	add := func(rows []row, d dsRef) []row {
		if fsys {
			rows = append(rows, row{ds: d})
		}
		if snaps {
			for _, sn := range z.s.st.snapshotsOf(d.name) {
				rows = append(rows, row{ds: d, sn: sn})
			}
		}
		return rows
	}
	var rows []row
	if len(operands) == 0 {
		for _, d := range all {
			rows = add(rows, d)
		}
		return rows, true
	}
	ok := true
	for _, op := range operands {
		if ds, _, isSnap := strings.Cut(op, "@"); isSnap {
			sn := z.findSnapshot(op)
			if sn == nil {
				z.openFailed(op)
				ok = false
				continue
			}
			rows = append(rows, row{ds: z.s.lookupDS(ds), sn: sn})
			continue
		}
		d := z.s.lookupDS(op)
		if d.kind == dsMissing {
			z.openFailed(op)
			ok = false
			continue
		}
		rows = add(rows, d)
		if recursive {
			for _, child := range all {
				if strings.HasPrefix(child.name, op+"/") {
					rows = add(rows, child)
				}
			}
		}
	}
	return rows, ok
}

// types reads -t values into whether filesystems and snapshots are wanted; ok is false
// after a usage error.
func (z *zfsCmd) types(values []string, fsys, snaps bool) (bool, bool, bool) {
	if len(values) == 0 {
		return fsys, snaps, true
	}
	fsys, snaps = false, false
	for _, t := range splitList(values) {
		switch t {
		case "filesystem":
			fsys = true
		case "snapshot", "snap":
			snaps = true
		case "all":
			fsys, snaps = true, true
		case "volume", "bookmark":
			// the simulator has none
		default:
			z.errf("invalid type '%s'\n", t)
			z.usage()
			return false, false, false
		}
	}
	return fsys, snaps, true
}

// propList reads a property list, refusing unknown names; ok is false after a usage error.
func (z *zfsCmd) propList(list []string) ([]string, bool) {
	var out []string
	for _, p := range list {
		full := canonProp(p)
		if full == "" {
			z.errf("bad property list: invalid property '%s'\n", p)
			z.usage()
			return nil, false
		}
		out = append(out, full)
	}
	return out, true
}

// printTable prints rows of cells: tab separated with scripted, else aligned under a header
// with right-aligned sizes.
func (z *zfsCmd) printTable(header []string, cells [][]string, scripted bool, right map[int]bool) {
	if scripted {
		for _, c := range cells {
			z.printf("%s\n", strings.Join(c, "\t"))
		}
		return
	}
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len(h)
	}
	for _, c := range cells {
		for i, v := range c {
			width[i] = max(width[i], len(v))
		}
	}
	line := func(c []string) {
		parts := make([]string, len(c))
		for i, v := range c {
			switch {
			case right[i]:
				parts[i] = fmt.Sprintf("%*s", width[i], v)
			case i == len(c)-1:
				parts[i] = v
			default:
				parts[i] = fmt.Sprintf("%-*s", width[i], v)
			}
		}
		z.printf("%s\n", strings.Join(parts, "  "))
	}
	line(header)
	for _, c := range cells {
		line(c)
	}
}

// columnTitles are the headers zfs list prints for native properties.
var columnTitles = map[string]string{"available": "AVAIL", "referenced": "REFER",
	"compression": "COMPRESS", "readonly": "RDONLY"}

// list runs zfs list.
func (z *zfsCmd) list(args []string) int {
	opts, operands, ok := z.parseOpts(args, "Hpro:t:d:s:S:j", "dsSj")
	if !ok {
		return 2
	}
	columns := []string{"name", "used", "available", "referenced", "mountpoint"}
	if opts.has('o') {
		if columns, ok = z.propList(splitList(opts['o'])); !ok {
			return 2
		}
	}
	fsys, snaps, ok := z.types(opts['t'], true, false)
	if !ok {
		return 2
	}
	defer z.lock()()
	rows, found := z.collect(operands, fsys, snaps, opts.has('r'))
	pc := z.s.newPropCtx()
	header := make([]string, len(columns))
	right := map[int]bool{}
	for i, c := range columns {
		header[i] = strings.ToUpper(c)
		if t, ok := columnTitles[c]; ok {
			header[i] = t
		}
		if c == "used" || c == "available" || c == "referenced" {
			right[i] = true
		}
	}
	cells := make([][]string, 0, len(rows))
	for _, r := range rows {
		c := make([]string, len(columns))
		for i, col := range columns {
			c[i], _, _ = pc.rowProp(r, col, opts.has('p'))
		}
		cells = append(cells, c)
	}
	if len(cells) == 0 && len(operands) == 0 {
		z.errf("no datasets available\n")
		return 0
	}
	if len(cells) > 0 {
		z.printTable(header, cells, opts.has('H'), right)
	}
	if !found {
		return 1
	}
	return 0
}

// getFields and getSources are what zfs get's -o and -s accept.
var (
	getFields  = map[string]bool{"name": true, "property": true, "value": true, "source": true}
	getSources = map[string]bool{"local": true, "default": true, "inherited": true,
		"temporary": true, "received": true, "none": true}
)

// get runs zfs get.
func (z *zfsCmd) get(args []string) int {
	opts, operands, ok := z.parseOpts(args, "Hpro:s:t:d:j", "dj")
	if !ok {
		return 2
	}
	fields := []string{"name", "property", "value", "source"}
	if opts.has('o') {
		fields = nil
		for _, f := range splitList(opts['o']) {
			if f == "all" {
				fields = []string{"name", "property", "value", "source"}
				continue
			}
			if !getFields[f] {
				z.errf("invalid column name '%s'\n", f)
				return z.usage()
			}
			fields = append(fields, f)
		}
	}
	sources := map[string]bool{}
	for _, src := range splitList(opts['s']) {
		if !getSources[src] {
			z.errf("invalid source '%s'\n", src)
			return z.usage()
		}
		sources[src] = true
	}
	fsys, snaps, ok := z.types(opts['t'], true, true)
	if !ok {
		return 2
	}
	if len(operands) == 0 {
		z.errf("missing property argument\n")
		return z.usage()
	}
	var props []string
	all := operands[0] == "all"
	if !all {
		if props, ok = z.propList(splitList(operands[:1])); !ok {
			return 2
		}
	}

	defer z.lock()()
	// A named filesystem's snapshots show only with -r; named snapshots always.
	rows, found := z.collect(operands[1:], fsys, snaps && (opts.has('r') ||
		len(operands) == 1), opts.has('r'))
	pc := z.s.newPropCtx()
	var cells [][]string
	for _, r := range rows {
		names := props
		if all {
			names = z.allProps(r)
		}
		for _, p := range names {
			value, source, _ := pc.rowProp(r, p, opts.has('p'))
			if len(sources) > 0 && !sources[sourceKind(source)] {
				continue
			}
			c := make([]string, 0, len(fields))
			for _, f := range fields {
				c = append(c, map[string]string{"name": r.name(), "property": p,
					"value": value, "source": source}[f])
			}
			cells = append(cells, c)
		}
	}
	header := make([]string, len(fields))
	for i, f := range fields {
		header[i] = strings.ToUpper(f)
	}
	if len(cells) > 0 {
		z.printTable(header, cells, opts.has('H'), nil)
	}
	if !found {
		return 1
	}
	return 0
}

// allProps lists what zfs get all shows for a row. Called with mu held.
func (z *zfsCmd) allProps(r row) []string {
	if r.sn != nil {
		return []string{"type", "creation", "used", "referenced", "createtxg"}
	}
	var out []string
	for _, p := range zfsProps {
		if p != "createtxg" {
			out = append(out, p)
		}
	}
	return append(out, z.s.userProps(r.ds)...)
}

// sourceKind maps a source column to the word -s filters on.
func sourceKind(source string) string {
	switch {
	case source == "-":
		return "none"
	case strings.HasPrefix(source, "inherited"):
		return "inherited"
	}
	return source
}

// set runs zfs set.
func (z *zfsCmd) set(args []string) int {
	_, operands, ok := z.parseOpts(args, "u", "")
	if !ok {
		return 2
	}
	if len(operands) == 0 {
		z.errf("missing arguments\n")
		return z.usage()
	}
	var assigns [][2]string
	var targets []string
	for _, op := range operands {
		key, value, isAssign := strings.Cut(op, "=")
		switch {
		case isAssign && len(targets) > 0:
			z.errf("invalid argument order\n")
			return z.usage()
		case isAssign:
			assigns = append(assigns, [2]string{key, value})
		default:
			targets = append(targets, op)
		}
	}
	if len(assigns) == 0 {
		z.errf("missing property=value argument(s)\n")
		return z.usage()
	}
	if len(targets) == 0 {
		z.errf("missing dataset name(s)\n")
		return z.usage()
	}

	defer z.lock()()
	status := 0
	for _, t := range targets {
		if strings.Contains(t, "@") {
			if z.findSnapshot(t) == nil {
				status = z.openFailed(t)
				continue
			}
			status = z.fail("cannot set property for '%s': this property can not be modified "+
				"for snapshots", t)
			continue
		}
		d := z.s.lookupDS(t)
		if d.kind == dsMissing {
			status = z.openFailed(t)
			continue
		}
		props := z.s.localProps(d)
		valid := true
		for _, a := range assigns {
			if msg := checkSet(a[0], a[1]); msg != "" {
				status = z.fail("cannot set property for '%s': %s", t, msg)
				valid = false
				break
			}
			props[canonProp(a[0])] = a[1]
		}
		if !valid {
			continue
		}
		z.s.setProps(d.name, props)
		if err := z.s.st.save(z.s.opts.Dir); err != nil {
			status = z.fail("cannot set property for '%s': %v", t, err)
		}
	}
	return status
}

// checkSet returns why zfs set refuses key=value, or "".
func checkSet(key, value string) string {
	full := canonProp(key)
	switch {
	case full == "":
		return fmt.Sprintf("invalid property '%s'", key)
	case isUserProp(full):
		return ""
	case settable[full] == nil:
		return fmt.Sprintf("'%s' is readonly", full)
	}
	return settable[full](value)
}

// checkLabel returns why a snapshot label is not valid, or "".
func checkLabel(label string) string {
	switch {
	case label == "":
		return "empty component or misplaced '@' or '#' delimiter in name"
	case label == ".":
		return "self reference, '.' is found in name"
	case label == "..":
		return "parent reference, '..' is found in name"
	}
	for _, c := range label {
		if !strings.ContainsRune(snapshotChars, c) {
			return fmt.Sprintf("invalid character '%c' in name", c)
		}
	}
	return ""
}

// checkName returns why a dataset name is not valid, or "".
func checkName(name string) string {
	if strings.ContainsAny(name, "@#") {
		return "snapshot delimiter '@' is not expected here"
	}
	for _, part := range strings.Split(name, "/") {
		if msg := checkLabel(part); msg != "" {
			return msg
		}
	}
	return ""
}

// snapshotChars are the characters of a valid name component.
const snapshotChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:"

// snapshot runs zfs snapshot.
func (z *zfsCmd) snapshot(args []string) int {
	_, operands, ok := z.parseOpts(args, "ro:", "ro")
	if !ok {
		return 2
	}
	if len(operands) == 0 {
		z.errf("missing snapshot argument\n")
		return z.usage()
	}
	defer z.lock()()
	for _, op := range operands {
		ds, _, found := strings.Cut(op, "@")
		if !found {
			return z.usage()
		}
		if z.s.lookupDS(ds).kind == dsMissing {
			z.openFailed(ds)
			return z.usage()
		}
	}
	status := 0
	for _, op := range operands {
		ds, label, _ := strings.Cut(op, "@")
		d := z.s.lookupDS(ds)
		switch msg := checkLabel(label); {
		case msg != "":
			status = z.fail("cannot create snapshot '%s': %s", op, msg)
		case z.findSnapshot(op) != nil:
			status = z.fail("cannot create snapshot '%s': dataset already exists", op)
		default:
			if _, err := z.s.takeSnapshot(d, label); err != nil {
				status = z.fail("cannot create snapshot '%s': %v", op, err)
			}
		}
	}
	if status != 0 && len(operands) > 1 {
		z.errf("no snapshots were created\n")
	}
	return status
}

// rollback runs zfs rollback.
func (z *zfsCmd) rollback(args []string) int {
	opts, operands, ok := z.parseOpts(args, "rRf", "")
	if !ok {
		return 2
	}
	switch {
	case len(operands) < 1:
		z.errf("missing dataset argument\n")
		return z.usage()
	case len(operands) > 1:
		z.errf("too many arguments\n")
		return z.usage()
	}
	id := operands[0]
	defer z.lock()()
	ds, _, isSnap := strings.Cut(id, "@")
	if !isSnap {
		if z.s.lookupDS(id).kind == dsMissing {
			return z.openFailed(id)
		}
		return z.fail("cannot open '%s': operation not applicable to datasets of this type", id)
	}
	sn := z.findSnapshot(id)
	if sn == nil {
		return z.openFailed(id)
	}
	d := z.s.lookupDS(ds)
	newer := z.s.newerThan(sn)
	if len(newer) > 0 && !opts.has('r') && !opts.has('R') {
		z.errf("cannot rollback to '%s': more recent snapshots or bookmarks exist\n", id)
		z.errf("use '-r' to force deletion of the following snapshots and bookmarks:\n")
		for _, n := range newer {
			z.errf("%s\n", n.id())
		}
		return 1
	}
	if z.s.faults.strictRollback && z.s.busy(d) {
		return z.fail("cannot rollback '%s': dataset is busy", ds)
	}
	err := z.s.rollbackTo(sn, newer)
	if serr := z.s.st.save(z.s.opts.Dir); err == nil {
		err = serr
	}
	if err != nil {
		return z.fail("cannot rollback '%s': %v", ds, err)
	}
	return 0
}

// destroy runs zfs destroy.
func (z *zfsCmd) destroy(args []string) int {
	opts, operands, ok := z.parseOpts(args, "rRfnpvd", "npvd")
	if !ok {
		return 2
	}
	switch {
	case len(operands) < 1:
		z.errf("missing dataset argument\n")
		return z.usage()
	case len(operands) > 1:
		z.errf("too many arguments\n")
		return z.usage()
	}
	target := operands[0]
	recursive := opts.has('r') || opts.has('R')
	defer z.lock()()
	if ds, labels, isSnap := strings.Cut(target, "@"); isSnap {
		return z.destroySnapshots(ds, strings.Split(labels, ","))
	}
	d := z.s.lookupDS(target)
	if d.kind == dsMissing {
		return z.openFailed(target)
	}
	if d.kind == dsLayout && d.name == pool && !recursive {
		z.errf("cannot destroy '%s': operation does not apply to pools\n", d.name)
		z.errf("use 'zfs destroy -r %s' to destroy all datasets in the pool\n", d.name)
		z.errf("use 'zpool destroy %s' to destroy the pool itself\n", d.name)
		return 1
	}
	if !recursive {
		var children []string
		for _, sn := range z.s.st.snapshotsOf(d.name) {
			children = append(children, sn.id())
		}
		for _, other := range z.s.datasets() {
			if strings.HasPrefix(other.name, d.name+"/") {
				children = append(children, other.name)
			}
		}
		if len(children) > 0 {
			z.errf("cannot destroy '%s': filesystem has children\n", d.name)
			z.errf("use '-r' to destroy the following datasets:\n")
			for _, c := range children {
				z.errf("%s\n", c)
			}
			return 1
		}
	}
	if d.kind == dsLayout {
		return z.fail("cannot destroy '%s': the simulator keeps its pool layout; destroy the "+
			"datasets below it one by one", d.name)
	}
	if z.s.busy(d) {
		return z.fail("cannot unmount '%s': pool or dataset is busy", z.s.mountPath(d))
	}
	if err := z.s.destroyDataset(d); err != nil {
		return z.fail("cannot destroy '%s': %v", d.name, err)
	}
	return 0
}

// destroySnapshots destroys the named snapshots of a dataset; names that do not exist are
// skipped, as zfs does, unless none exists. Called with mu held.
func (z *zfsCmd) destroySnapshots(ds string, labels []string) int {
	if z.s.lookupDS(ds).kind == dsMissing {
		return z.openFailed(ds)
	}
	var found []*snapshot
	for _, l := range labels {
		if sn := z.findSnapshot(ds + "@" + l); sn != nil {
			found = append(found, sn)
		}
	}
	if len(found) == 0 {
		return z.fail("could not find any snapshots to destroy; check snapshot names.")
	}
	status := 0
	for _, sn := range found {
		if err := z.s.dropSnapshot(sn); err != nil {
			status = z.fail("cannot destroy snapshot %s: %v", sn.id(), err)
		}
	}
	if err := z.s.st.save(z.s.opts.Dir); err != nil {
		status = z.fail("cannot destroy snapshots of %s: %v", ds, err)
	}
	return status
}

// send runs zfs send: it writes a stream naming the snapshot, which zfs recv copies from.
func (z *zfsCmd) send(args []string, stdout io.Writer) int {
	_, operands, ok := z.parseOpts(args, "DLPbcehnpsUVvwRi:I:X:t:", "DLPbcehnpsUVvwRiIXt")
	if !ok {
		return 2
	}
	switch {
	case len(operands) < 1:
		z.errf("missing snapshot argument\n")
		return z.usage()
	case len(operands) > 1:
		z.errf("too many arguments\n")
		return z.usage()
	}
	id := operands[0]
	unlock := z.lock()
	sn := z.findSnapshot(id)
	var header zfsStream
	if sn != nil {
		header = zfsStream{Snapshot: sn.id(), TXG: sn.TXG}
	}
	_, _, isSnap := strings.Cut(id, "@")
	exists := z.s.lookupDS(id).kind != dsMissing
	unlock()
	switch {
	case !isSnap && exists:
		return z.fail("cannot send '%s': the simulator sends snapshots only (zfs send %s@<snap>)",
			id, id)
	case sn == nil:
		return z.openFailed(id)
	}
	data, err := json.Marshal(header)
	if err != nil {
		return z.fail("cannot send '%s': %v", id, err)
	}
	if _, err := io.WriteString(stdout, zfsStreamMagic+string(data)+"\n"); err != nil {
		return z.fail("warning: cannot send '%s': %v", id, err)
	}
	return 0
}

// receive runs zfs receive.
func (z *zfsCmd) receive(args []string) int {
	opts, operands, ok := z.parseOpts(args, "vMnsFhuo:x:dAec:", "MnsFhxdAec")
	if !ok {
		return 2
	}
	switch {
	case len(operands) < 1:
		z.errf("missing snapshot argument\n")
		return z.usage()
	case len(operands) > 1:
		z.errf("too many arguments\n")
		return z.usage()
	}
	props := map[string]string{}
	for _, o := range opts['o'] {
		key, value, found := strings.Cut(o, "=")
		if !found {
			z.errf("missing '=' for property=value argument\n")
			return z.usage()
		}
		if msg := checkSet(key, value); msg != "" {
			return z.fail("cannot receive new filesystem stream: %s", msg)
		}
		props[canonProp(key)] = value
	}

	header, status := z.readStream()
	if status != 0 {
		return status
	}
	defer z.lock()()
	src := z.findSnapshot(header.Snapshot)
	if src == nil || src.TXG != header.TXG {
		return z.fail("cannot receive: invalid stream (the snapshot it was sent from is gone " +
			"from the simulator)")
	}
	ds, label, named := strings.Cut(operands[0], "@")
	if !named {
		label = src.Name
	}
	const errbuf = "cannot receive new filesystem stream"
	switch {
	case checkName(ds) != "":
		return z.fail("%s: %s", errbuf, checkName(ds))
	case checkLabel(label) != "":
		return z.fail("%s: %s", errbuf, checkLabel(label))
	case z.s.lookupDS(ds).kind != dsMissing:
		z.errf("%s: destination '%s' exists\n", errbuf, ds)
		return z.fail("must specify -F to overwrite it")
	case parentOf(ds) == "":
		return z.fail("%s: destination '%s' does not exist", errbuf, ds)
	}
	if status := z.checkParent(ds, errbuf, "unable to restore to destination"); status != 0 {
		return status
	}
	if opts.has('v') {
		z.printf("receiving full stream of %s into %s@%s\n", src.id(), ds, label)
	}
	if err := z.s.receiveDataset(src, ds, label, props, !opts.has('u')); err != nil {
		return z.fail("%s: %v", errbuf, err)
	}
	return 0
}

// readStream reads the header of a send stream from stdin; status is non-zero after an
// error was printed.
func (z *zfsCmd) readStream() (zfsStream, int) {
	var header zfsStream
	in := bufio.NewReader(z.stdin)
	magic := make([]byte, len(zfsStreamMagic))
	n, err := io.ReadFull(in, magic)
	if err != nil && strings.HasPrefix(zfsStreamMagic, string(magic[:n])) {
		return header, z.fail("cannot receive: failed to read from stream")
	}
	if string(magic) != zfsStreamMagic {
		return header, z.fail("cannot receive: invalid stream (bad magic number)")
	}
	line, err := in.ReadString('\n')
	if err != nil || json.Unmarshal([]byte(line), &header) != nil {
		return header, z.fail("cannot receive: invalid stream (checksum mismatch)")
	}
	return header, 0
}

// checkParent refuses a new dataset name whose parent is missing, or is not a layout
// dataset (the simulator nests no deeper). Called with mu held.
func (z *zfsCmd) checkParent(name, errbuf, missing string) int {
	parent := z.s.lookupDS(parentOf(name))
	switch parent.kind {
	case dsMissing:
		if missing == "" {
			return z.fail("%s: parent does not exist", errbuf)
		}
		z.openFailed(parent.name)
		return z.fail("%s: %s", errbuf, missing)
	case dsLayout:
		return 0
	}
	return z.fail("%s: the simulator keeps datasets only directly below %s", errbuf,
		strings.Join(z.s.layout(), ", "))
}

// rename runs zfs rename.
func (z *zfsCmd) rename(args []string) int {
	_, operands, ok := z.parseOpts(args, "pruf", "pr")
	if !ok {
		return 2
	}
	switch {
	case len(operands) < 1:
		z.errf("missing source dataset argument\n")
		return z.usage()
	case len(operands) < 2:
		z.errf("missing target dataset argument\n")
		return z.usage()
	case len(operands) > 2:
		z.errf("too many arguments\n")
		return z.usage()
	}
	from, to := operands[0], operands[1]
	defer z.lock()()
	if strings.Contains(from, "@") {
		if z.findSnapshot(from) == nil {
			return z.openFailed(from)
		}
		return z.fail("cannot rename '%s': the simulator does not rename snapshots", from)
	}
	d := z.s.lookupDS(from)
	if d.kind == dsMissing {
		return z.openFailed(from)
	}
	if from == to {
		return 0
	}
	toErr := fmt.Sprintf("cannot rename to '%s'", to)
	switch {
	case checkName(to) != "":
		return z.fail("%s: %s", toErr, checkName(to))
	case strings.SplitN(to, "/", 2)[0] != strings.SplitN(from, "/", 2)[0] ||
		!strings.Contains(to, "/"):
		return z.fail("%s: datasets must be within same pool", toErr)
	case strings.HasPrefix(to, from+"/"):
		return z.fail("%s: New dataset name cannot be a descendant of current dataset name",
			toErr)
	case d.kind == dsLayout:
		return z.fail("cannot rename '%s': the simulator keeps its pool layout", from)
	}
	if status := z.checkParent(to, fmt.Sprintf("cannot create '%s'", to), ""); status != 0 {
		return status
	}
	if z.s.lookupDS(to).kind != dsMissing {
		return z.fail("cannot rename '%s': dataset already exists", from)
	}
	if z.s.busy(d) {
		return z.fail("cannot unmount '%s': pool or dataset is busy", z.s.mountPath(d))
	}
	if err := z.s.renameDataset(d, to); err != nil {
		return z.fail("cannot rename '%s': %v", from, err)
	}
	return 0
}
