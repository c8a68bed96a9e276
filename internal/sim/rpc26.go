package sim

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// TrueNAS 26 replaced virt.* with container.* (libvirt LXC): integer ids, a status object,
// no address in any reply, create never starts, start is synchronous. This file plays
// 26.0.0-BETA.3; see truenas-api-26.md.

// registry26 is the simulated container image registry: name -> versions, oldest first.
var registry26 = map[string][]string{
	"ubuntu:noble:amd64:default":    {"20260701_07:42", "20260801_07:42"},
	"debian:bookworm:amd64:default": {"20260702_05:24", "20260802_05:24"},
	"alpine:edge:amd64:default":     {"20260703_13:00", "20260803_13:00"},
}

// settings26 are the create keys besides name, image, pool and uuid, with their defaults.
var settings26 = map[string]any{
	"description": "", "cpuset": nil, "autostart": true, "time": "LOCAL", "shutdown_timeout": 90,
	"init": "/sbin/init", "initdir": nil, "initenv": map[string]any{}, "inituser": nil,
	"initgroup": nil, "idmap": map[string]any{"type": "DEFAULT"},
	"capabilities_policy": "DEFAULT", "capabilities_state": map[string]any{},
}

// hostname26 is the name rule of container.create (RFC 1123-like labels).
var hostname26 = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?` +
	`(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)

// methods26 returns the method table of 26: no virt.*, no zfs.snapshot.*.
func (s *Server) methods26(common map[string]handlerFunc) map[string]handlerFunc {
	for name := range common {
		if strings.HasPrefix(name, "virt.") || strings.HasPrefix(name, "zfs.snapshot.") {
			delete(common, name)
		}
	}
	for name, h := range map[string]handlerFunc{
		"container.query":                     s.containerQuery,
		"container.get_instance":              s.containerGet,
		"container.update":                    s.containerUpdate,
		"container.create":                    s.containerCreate,
		"container.start":                     s.containerStart,
		"container.stop":                      s.containerStop,
		"container.delete":                    s.containerDelete,
		"container.pool_choices":              s.poolChoices,
		"container.image.query_registry":      s.queryRegistry,
		"container.device.nic_attach_choices": s.nicAttachChoices,
		"container.device.create":             s.deviceCreate,
		"lxc.config":                          s.lxcConfig,
	} {
		common[name] = h
	}
	return common
}

// entry26 renders a container as container.query does. Called with mu held.
func (s *Server) entry26(in *instance) map[string]any {
	e := map[string]any{"id": in.ID, "uuid": in.UUID, "name": in.Name,
		"dataset": s.dataset(in.Name), "devices": devices26(in), "default_network": nil}
	if len(in.Devices) == 0 {
		e["default_network"] = "truenasbr0"
	}
	for k, def := range settings26 {
		e[k] = def
		if v, ok := in.Settings[k]; ok {
			e[k] = v
		}
	}
	status := map[string]any{"state": statusStopped, "pid": nil, "domain_state": nil}
	if in.Status == statusRunning {
		status = map[string]any{"state": statusRunning, "pid": 40000 + in.ID,
			"domain_state": "RUNNING"}
	}
	e["status"] = status
	return e
}

// devices26 lists a container's devices in the 26 shape.
func devices26(in *instance) []any {
	out := []any{}
	for _, d := range in.Devices {
		out = append(out, d)
	}
	return out
}

// byID finds a container by integer id. Called with mu held.
func (s *Server) byID(id int) *instance {
	for _, in := range s.st.Instances {
		if in.ID == id && id != 0 {
			return in
		}
	}
	return nil
}

// notFound26 is the synchronous miss of get_instance and friends.
func notFound26(id int) *rpcError {
	return invalidParams(fieldError{msg: fmt.Sprintf("Container %d does not exist", id),
		errno: errnoENOENT})
}

// containerEntries renders every container, by id.
func (s *Server) containerEntries() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*instance, 0, len(s.st.Instances))
	for _, in := range s.st.Instances {
		s.ensureID(in)
		list = append(list, in)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	out := make([]map[string]any, 0, len(list))
	for _, in := range list {
		out = append(out, s.entry26(in))
	}
	return out
}

// ensureID gives a container kept from a 25.x state its 26 identity. Called with mu held.
func (s *Server) ensureID(in *instance) {
	if in.ID != 0 {
		return
	}
	s.st.NextID++
	in.ID, in.UUID = s.st.NextID, uuid()
}

// containerQuery answers container.query.
func (s *Server) containerQuery(cl *call) (any, *rpcError) {
	return query(s.containerEntries(), cl.args)
}

// containerGet answers container.get_instance.
func (s *Server) containerGet(cl *call) (any, *rpcError) {
	return s.withContainer(cl, func(in *instance) (any, *rpcError) {
		return rawJSON(s.entry26(in)), nil
	})
}

// withContainer runs fn, with mu held, on the container whose id is the call's first
// argument; a missing one is the synchronous not-found error.
func (s *Server) withContainer(cl *call, fn func(*instance) (any, *rpcError)) (any, *rpcError) {
	var id int
	if rerr := arg(cl.args, 0, "id", &id); rerr != nil {
		return nil, rerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.byID(id)
	if in == nil {
		return nil, notFound26(id)
	}
	return fn(in)
}

// emit26 sends a container.query event for a container. Called with mu held.
func (s *Server) emit26(msg string, in *instance) {
	params := map[string]any{"msg": msg, "id": in.ID}
	if msg != "removed" {
		params["fields"] = rawJSON(s.entry26(in))
	}
	s.broadcast("container.query", params)
}

// poolChoices answers container.pool_choices.
func (s *Server) poolChoices(*call) (any, *rpcError) { return map[string]string{pool: pool}, nil }

// lxcConfig answers lxc.config with its defaults.
func (s *Server) lxcConfig(*call) (any, *rpcError) {
	return map[string]any{"id": 1, "preferred_pool": pool, "bridge": nil,
		"v4_network": "172.200.0.0/24", "v6_network": "fd42:4c58:43ae::/64"}, nil
}

// queryRegistry answers container.image.query_registry.
func (s *Server) queryRegistry(*call) (any, *rpcError) {
	names := make([]string, 0, len(registry26))
	for name := range registry26 {
		names = append(names, name)
	}
	sort.Strings(names)
	out := []any{}
	for _, name := range names {
		var vers []any
		for _, v := range registry26[name] {
			vers = append(vers, map[string]any{"version": v})
		}
		out = append(out, map[string]any{"name": name, "versions": vers})
	}
	return out, nil
}

// nicAttachChoices answers container.device.nic_attach_choices.
func (s *Server) nicAttachChoices(*call) (any, *rpcError) {
	return map[string]any{"BRIDGE": []string{}, "MACVLAN": []string{nicName}}, nil
}

// deviceCreate answers container.device.create for NIC devices.
func (s *Server) deviceCreate(cl *call) (any, *rpcError) {
	var p struct {
		Container  int            `json:"container"`
		Attributes map[string]any `json:"attributes"`
	}
	if rerr := arg(cl.args, 0, "container_device_create", &p); rerr != nil {
		return nil, rerr
	}
	if p.Attributes["dtype"] != "NIC" {
		return nil, invalidParams(fieldError{"container_device_create.attributes.dtype",
			"Only NIC devices are simulated", errnoEINVAL})
	}
	if p.Attributes["nic_attach"] != nicName {
		return nil, invalidParams(fieldError{"container_device_create.attributes.nic_attach",
			"Not a valid choice", errnoEINVAL})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.byID(p.Container)
	if in == nil {
		return nil, invalidParams(fieldError{"container_device_create.container",
			fmt.Sprintf("Container %d does not exist", p.Container), errnoENOENT})
	}
	attrs := map[string]any{"dtype": "NIC", "trust_guest_rx_filters": false, "type": "E1000",
		"nic_attach": nicName, "mac": fmt.Sprintf("00:a0:98:%s:%s:%s", randomHex(1),
			randomHex(1), randomHex(1))}
	for k, v := range p.Attributes {
		attrs[k] = v
	}
	s.st.NextID++
	dev := map[string]any{"id": s.st.NextID, "container": in.ID, "attributes": attrs}
	in.Devices = append(in.Devices, dev)
	if err := s.persist(); err != nil {
		return nil, callError(errnoEFAULT, "%v", err)
	}
	s.emit26("changed", in)
	return rawJSON(dev), nil
}

// jobError26 fails a job the way a libvirt error does (type "Error", errno null).
func jobError26(format string, args ...any) *jobFailure {
	msg := fmt.Sprintf(format, args...)
	return &jobFailure{msg: msg, excInfo: map[string]any{"repr": fmt.Sprintf("Error(%q)", msg),
		"type": "Error", "errno": nil, "extra": nil}}
}
