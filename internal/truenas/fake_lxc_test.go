package truenas

import (
	"encoding/json"
)

// fakeLXC is the TrueNAS 26 container.* state the fake serves. Snapshot handlers come from
// the virt model (they work on any dataset); protect switches on RC.1's refusal.
type fakeLXC struct {
	s       *fakeServer
	virt    *fakeVirt // the snapshot handlers' state
	byName  map[string]map[string]any
	nextID  int
	reports map[string][]string // listdir path -> entry names
}

// lxcModel installs container.* handlers; rc selects RC.1 behaviour (delete is a job with
// options, snapshot writes on container datasets are refused).
func (s *fakeServer) lxcModel(rc bool) *fakeLXC {
	v := s.virtModel()
	x := &fakeLXC{s: s, virt: v, byName: map[string]map[string]any{}, reports: map[string][]string{}}
	s.schemas = nil // the 25.04 schemas do not describe 26
	s.handle("container.query", x.query)
	s.handle("container.image.query_registry", func(*fakeReq) (any, *fakeErr) {
		v := []any{map[string]any{"version": "20260701"}, map[string]any{"version": "20260801"}}
		return []any{
			map[string]any{"name": "ubuntu:noble:arm64:default", "versions": v},
			map[string]any{"name": "ubuntu:noble:amd64:default", "versions": v},
			map[string]any{"name": "alpine:3.20:amd64:default", "versions": v},
		}, nil
	})
	s.handle("container.create", x.create)
	s.handle("container.device.create", func(*fakeReq) (any, *fakeErr) {
		return map[string]any{"id": 7}, nil
	})
	s.handle("container.start", x.setState("RUNNING"))
	s.handle("container.update", func(*fakeReq) (any, *fakeErr) { return map[string]any{}, nil })
	s.handle("container.stop", x.stop)
	s.handle("container.delete", x.delete(rc))
	s.handle("filesystem.listdir", x.listdir)
	if rc {
		refuse := func(*fakeReq) (any, *fakeErr) {
			f := validationErr(13, "EACCES", "zfs.resource.snapshot.create",
				"'tank/.truenas_containers/containers/px-a' is a protected path.")
			return nil, f
		}
		for _, m := range []string{"create", "rollback", "delete"} {
			s.handle("pool.snapshot."+m, refuse)
		}
	}
	return x
}

func (x *fakeLXC) add(name, state string) map[string]any {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.nextID++
	e := map[string]any{"id": x.nextID, "name": name, "description": "",
		"dataset": "tank/.truenas_containers/containers/" + name, "shutdown_timeout": 90,
		"status": map[string]any{"state": state, "pid": nil, "domain_state": nil}}
	x.byName[name] = e
	return e
}

func (x *fakeLXC) byID(raw json.RawMessage) map[string]any {
	var id float64
	_ = json.Unmarshal(raw, &id)
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	for _, e := range x.byName {
		if float64(e["id"].(int)) == id {
			return e
		}
	}
	return nil
}

func (x *fakeLXC) query(r *fakeReq) (any, *fakeErr) {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	out := []any{}
	for name, e := range x.byName {
		if nameMatches(r.Params, name) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (x *fakeLXC) create(r *fakeReq) (any, *fakeErr) {
	var p []map[string]any
	_ = json.Unmarshal(r.Params, &p)
	e := x.add(p[0]["name"].(string), "STOPPED")
	x.s.mu.Lock()
	e["description"] = p[0]["description"]
	x.s.mu.Unlock()
	return r.startJob("container.create", e, "", nil), nil
}

func (x *fakeLXC) setState(state string) fakeHandler {
	return func(r *fakeReq) (any, *fakeErr) {
		var p []json.RawMessage
		_ = json.Unmarshal(r.Params, &p)
		e := x.byID(p[0])
		if e == nil {
			return nil, validationErr(2, "ENOENT", "None", "Container does not exist")
		}
		x.s.mu.Lock()
		e["status"] = map[string]any{"state": state}
		x.s.mu.Unlock()
		return nil, nil
	}
}

func (x *fakeLXC) stop(r *fakeReq) (any, *fakeErr) {
	var p []json.RawMessage
	_ = json.Unmarshal(r.Params, &p)
	e := x.byID(p[0])
	x.s.mu.Lock()
	running := e != nil && e["status"].(map[string]any)["state"] == "RUNNING"
	if running {
		e["status"] = map[string]any{"state": "STOPPED"}
	}
	x.s.mu.Unlock()
	if !running {
		return r.startJob("container.stop", nil, "Domain 'x' is not active", nil), nil
	}
	return r.startJob("container.stop", nil, "", nil), nil
}

func (x *fakeLXC) delete(rc bool) fakeHandler {
	return func(r *fakeReq) (any, *fakeErr) {
		var p []json.RawMessage
		_ = json.Unmarshal(r.Params, &p)
		if !rc && len(p) != 1 {
			return nil, validationErr(22, "EINVAL", "container.delete", "Too many arguments")
		}
		e := x.byID(p[0])
		if e == nil {
			return nil, validationErr(2, "ENOENT", "None", "Container does not exist")
		}
		x.s.mu.Lock()
		delete(x.byName, e["name"].(string))
		x.s.mu.Unlock()
		if rc {
			return r.startJob("container.delete", nil, "", nil), nil
		}
		return nil, nil
	}
}

func (x *fakeLXC) listdir(r *fakeReq) (any, *fakeErr) {
	var p []string
	_ = json.Unmarshal(r.Params, &p)
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	names, ok := x.reports[p[0]]
	if !ok {
		return nil, callErr(2, "ENOENT", "Path "+p[0]+" not found")
	}
	out := []any{}
	for _, n := range names {
		out = append(out, map[string]any{"name": n, "type": "FILE"})
	}
	return out, nil
}
