package sim

// zfs list and zfs get: the commands that read datasets and their properties.

import (
	"fmt"
	"strings"
)

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
