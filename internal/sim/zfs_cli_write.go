package sim

// zfs set, snapshot, rollback and destroy: the commands that change a dataset in place.

import (
	"strings"
)

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
