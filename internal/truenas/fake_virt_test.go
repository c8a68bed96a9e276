package truenas

import (
	"encoding/json"
	"fmt"
)

// fakeVirt is the 25.x virt state the fake serves: instances by name, snapshots by id, and
// switches for the faults the tests inject.
type fakeVirt struct {
	s          *fakeServer
	instances  map[string]map[string]any
	snaps      []map[string]any
	txg        int
	deleteBusy int // fail this many deletes as busy; -1 for always
	ifaces     []any
	routes     []string
	paths      map[string]string // host path -> filesystem.stat type; absent means ENOENT
}

// virtModel installs virt.*, zfs.snapshot.*, interface and file handlers on the fake.
func (s *fakeServer) virtModel() *fakeVirt {
	v := &fakeVirt{s: s, instances: map[string]map[string]any{}, paths: map[string]string{}}
	s.schemas = loadSchemas(s.t)
	s.handle("virt.global.config", func(*fakeReq) (any, *fakeErr) {
		return map[string]any{"id": 1, "pool": "tank", "dataset": "tank/.ix-virt",
			"storage_pools": []string{"tank"}, "state": "INITIALIZED"}, nil
	})
	s.handle("virt.instance.query", v.query)
	s.handle("virt.instance.create", v.create)
	s.handle("virt.instance.start", v.setStatus("RUNNING"))
	s.handle("virt.instance.stop", v.stop)
	s.handle("virt.instance.delete", v.delete)
	s.handle("interface.query", func(*fakeReq) (any, *fakeErr) { return v.ifaces, nil })
	s.handle("network.general.summary", func(*fakeReq) (any, *fakeErr) {
		return map[string]any{"default_routes": v.routes}, nil
	})
	s.handle("filesystem.file_receive", func(*fakeReq) (any, *fakeErr) { return true, nil })
	s.handle("filesystem.stat", v.stat)
	for _, ns := range []string{"zfs.snapshot", "pool.snapshot"} {
		s.handle(ns+".create", v.snapCreate)
		s.handle(ns+".query", v.snapQuery)
		s.handle(ns+".rollback", v.snapRollback)
		s.handle(ns+".delete", v.snapDelete)
	}
	return v
}

// add puts an instance in the fake's table.
func (v *fakeVirt) add(name, status string, aliases ...map[string]any) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	if aliases == nil {
		aliases = []map[string]any{}
	}
	v.instances[name] = map[string]any{"id": name, "name": name, "type": "CONTAINER",
		"status": status, "cpu": "2", "memory": 2 << 30, "aliases": aliases,
		"storage_pool": "tank", "image": map[string]any{"os": "Ubuntu", "release": "noble",
			"description": "Ubuntu noble amd64"}}
}

func (v *fakeVirt) query(r *fakeReq) (any, *fakeErr) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	out := []any{}
	for name, in := range v.instances {
		if nameMatches(r.Params, name) {
			out = append(out, in)
		}
	}
	return out, nil
}

func (v *fakeVirt) create(r *fakeReq) (any, *fakeErr) {
	var p []map[string]any
	_ = json.Unmarshal(r.Params, &p)
	name, _ := p[0]["name"].(string)
	v.s.mu.Lock()
	_, dup := v.instances[name]
	v.s.mu.Unlock()
	if dup {
		msg := fmt.Sprintf("[EINVAL] virt_instance_create.name: Name '%s' already exists\n", name)
		return r.startJob("virt.instance.create", nil, msg, map[string]any{"type": "VALIDATION",
			"errno": nil, "extra": []any{[]any{"virt_instance_create.name", "exists", 22}}}), nil
	}
	status := "STOPPED"
	if p[0]["autostart"] == true {
		status = "RUNNING"
	}
	v.add(name, status)
	v.s.mu.Lock()
	entry := v.instances[name]
	v.s.mu.Unlock()
	return r.startJob("virt.instance.create", entry, "", nil), nil
}

// missing is the FAILED-job shape of an unknown instance.
func (v *fakeVirt) missing(r *fakeReq, method, name string) int64 {
	return r.startJob(method, nil, "[ENOENT] None: VirtInstance "+name+" does not exist",
		map[string]any{"type": "VALIDATION", "errno": 2, "extra": nil})
}

func (v *fakeVirt) setStatus(status string) fakeHandler {
	return func(r *fakeReq) (any, *fakeErr) {
		var p []any
		_ = json.Unmarshal(r.Params, &p)
		name, _ := p[0].(string)
		v.s.mu.Lock()
		in, ok := v.instances[name]
		if ok {
			in["status"] = status
		}
		v.s.mu.Unlock()
		if !ok {
			return v.missing(r, "virt.instance.start", name), nil
		}
		return r.startJob("virt.instance.start", true, "", nil), nil
	}
}

// stop follows the server's rule: neither a timeout nor force is refused, and a stop of a
// stopped instance fails like Incus does.
func (v *fakeVirt) stop(r *fakeReq) (any, *fakeErr) {
	var p []json.RawMessage
	_ = json.Unmarshal(r.Params, &p)
	var name string
	_ = json.Unmarshal(p[0], &name)
	args := map[string]any{"timeout": -1.0, "force": false}
	if len(p) > 1 {
		_ = json.Unmarshal(p[1], &args)
	}
	if args["force"] != true && args["timeout"] == -1.0 {
		return r.startJob("virt.instance.stop", nil,
			"[EINVAL] stop_args: Timeout should be set if force is disabled", nil), nil
	}
	v.s.mu.Lock()
	in, ok := v.instances[name]
	was := ""
	if ok {
		was, in["status"] = in["status"].(string), "STOPPED"
	}
	v.s.mu.Unlock()
	switch {
	case !ok:
		return v.missing(r, "virt.instance.stop", name), nil
	case was == "STOPPED" || was == "UNKNOWN":
		return r.startJob("virt.instance.stop", nil, "[EFAULT] The instance is already stopped",
			nil), nil
	}
	return r.startJob("virt.instance.stop", true, "", nil), nil
}

func (v *fakeVirt) delete(r *fakeReq) (any, *fakeErr) {
	var p []string
	_ = json.Unmarshal(r.Params, &p)
	v.s.mu.Lock()
	_, ok := v.instances[p[0]]
	busy := v.deleteBusy != 0
	if busy && v.deleteBusy > 0 {
		v.deleteBusy--
	}
	if ok && !busy {
		delete(v.instances, p[0])
	}
	v.s.mu.Unlock()
	switch {
	case !ok:
		return v.missing(r, "virt.instance.delete", p[0]), nil
	case busy:
		return r.startJob("virt.instance.delete", nil,
			"[EFAULT] Failed to delete instance: dataset is busy", nil), nil
	}
	return r.startJob("virt.instance.delete", true, "", nil), nil
}

func (v *fakeVirt) snapCreate(r *fakeReq) (any, *fakeErr) {
	var p []map[string]string
	_ = json.Unmarshal(r.Params, &p)
	id := p[0]["dataset"] + "@" + p[0]["name"]
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	for _, sn := range v.snaps {
		if sn["id"] == id {
			return nil, callErr(17, "EEXIST", "Failed to snapshot "+id+": dataset already exists")
		}
	}
	v.txg += 10
	sn := map[string]any{"id": id, "name": id, "snapshot_name": p[0]["name"],
		"dataset": p[0]["dataset"], "pool": "tank", "type": "SNAPSHOT",
		"properties": map[string]any{
			"createtxg": map[string]any{"rawvalue": fmt.Sprint(v.txg),
				"parsed": fmt.Sprint(v.txg)},
			"creation":   map[string]any{"rawvalue": fmt.Sprint(1754042400 + v.txg), "parsed": nil},
			"referenced": map[string]any{"rawvalue": "851443712", "parsed": 851443712 + v.txg},
		}}
	v.snaps = append(v.snaps, sn)
	return sn, nil
}

func (v *fakeVirt) snapQuery(r *fakeReq) (any, *fakeErr) {
	var p [][][]string
	_ = json.Unmarshal(r.Params, &p)
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	out := []any{}
	for _, sn := range v.snaps {
		if sn["dataset"] == p[0][0][2] {
			out = append(out, sn)
		}
	}
	return out, nil
}

func (v *fakeVirt) snapRollback(r *fakeReq) (any, *fakeErr) {
	var p []json.RawMessage
	_ = json.Unmarshal(r.Params, &p)
	var id string
	_ = json.Unmarshal(p[0], &id)
	opts := map[string]bool{}
	if len(p) > 1 {
		_ = json.Unmarshal(p[1], &opts)
	}
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	for i, sn := range v.snaps {
		if sn["id"] != id {
			continue
		}
		if i < len(v.snaps)-1 && !opts["recursive"] {
			return nil, callErr(14, "EFAULT", "Failed to rollback snapshot: more recent "+
				"snapshots or bookmarks exist")
		}
		v.snaps = v.snaps[:i+1]
		return nil, nil
	}
	return nil, validationErr(2, "ENOENT", "None", "Snapshot "+id+" not found")
}

func (v *fakeVirt) snapDelete(r *fakeReq) (any, *fakeErr) {
	var p []string
	_ = json.Unmarshal(r.Params, &p)
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	for i, sn := range v.snaps {
		if sn["id"] == p[0] {
			v.snaps = append(v.snaps[:i], v.snaps[i+1:]...)
			return true, nil
		}
	}
	return nil, validationErr(2, "ENOENT", "None", "Snapshot "+p[0]+" does not exist")
}

// stat answers filesystem.stat from paths as 25.x does: the entry itself is lstat'ed, so a
// link reports SYMLINK, and anything not listed is missing (as is a dangling link). The type
// "ELOOP" plays a link loop, an OSError that reaches the client as a plain EINVAL.
func (v *fakeVirt) stat(r *fakeReq) (any, *fakeErr) {
	var p []string
	_ = json.Unmarshal(r.Params, &p)
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	typ, ok := v.paths[p[0]]
	switch {
	case !ok:
		return nil, callErr(2, "ENOENT", "Path "+p[0]+" not found")
	case typ == "ELOOP":
		return nil, &fakeErr{Code: -32001, Message: "Method call error", Data: map[string]any{
			"error": 22, "errname": "EINVAL", "reason": "[Errno 40] Too many levels of " +
				"symbolic links", "trace": nil, "extra": nil}}
	}
	return map[string]any{"realpath": p[0], "type": typ, "size": 0, "mode": 0o100644,
		"uid": 0, "gid": 0}, nil
}
