package sim

import (
	"strings"
	"testing"
)

// methodsFile is the 25.04 method table, read from the shared tree and never copied.
const methodsFile = "../../../shared/truenas/methods-25.04.json"

func TestSchemaAcceptsTheUsualFlow(t *testing.T) {
	s := startServer(t, Options{SchemaFile: methodsFile})
	c := login(t, s)
	c.mustCall(nil, "core.subscribe", "core.get_jobs")
	c.mustCall(nil, "system.version")
	c.mustCall(nil, "interface.query", []any{})
	c.mustCall(nil, "network.general.summary")
	c.mustCall(nil, "virt.global.config")
	c.mustJob("virt.instance.create", map[string]any{"name": "px-a", "image": "debian/12",
		"cpu": "2", "memory": 2 << 30, "autostart": true, "devices": []any{map[string]any{
			"dev_type": "NIC", "readonly": false, "nic_type": "MACVLAN", "parent": "eno1"}}})
	c.mustCall(nil, "virt.instance.query", []any{[]any{"name", "^", "px-"}})
	c.mustCall(nil, "virt.instance.get_instance", "px-a")
	ds := datasetOf("px-a")
	c.mustCall(nil, "zfs.snapshot.create", map[string]any{"dataset": ds, "name": "clean"})
	c.mustCall(nil, "zfs.snapshot.query", []any{[]any{"dataset", "=", ds}})
	c.mustJob("virt.instance.stop", "px-a", map[string]any{"timeout": 120})
	c.mustCall(nil, "zfs.snapshot.rollback", ds+"@clean", map[string]any{"recursive": true})
	c.mustJob("virt.instance.start", "px-a")
	c.mustCall(nil, "zfs.snapshot.delete", ds+"@clean")
	c.mustJob("virt.instance.delete", "px-a")
}

func TestSchemaRefusals(t *testing.T) {
	s := startServer(t, Options{SchemaFile: methodsFile})
	c := login(t, s)

	m := c.call("virt.instance.query", "not-a-list")
	if m.Error == nil || m.Error.Code != codeInvalidParams || m.Error.Data.Error != 22 ||
		!strings.HasPrefix(m.Error.Data.Reason, "[EINVAL] filters") {
		t.Fatalf("query with bad filters: %+v", m.Error)
	}

	m = c.call("system.version", 1)
	if m.Error == nil || !strings.Contains(m.Error.Data.Reason, "Too many arguments") {
		t.Fatalf("extra argument: %+v", m.Error)
	}

	tests := []struct {
		name   string
		method string
		params []any
		want   string
	}{
		{"create wrong type", "virt.instance.create",
			[]any{map[string]any{"name": "px-a", "image": "debian/12", "cpu": 2}},
			"virt_instance_create.cpu"},
		{"create missing image", "virt.instance.create",
			[]any{map[string]any{"name": "px-a"}}, "virt_instance_create"},
		{"stop wrong type", "virt.instance.stop",
			[]any{"px-a", map[string]any{"timeout": "soon"}}, "stop_args.timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := c.job(tt.method, tt.params...)
			if j.State != jobFailed || j.ExcInfo["type"] != "VALIDATION" ||
				!strings.Contains(deref(j.Error), tt.want) {
				t.Fatalf("job %s error %q exc_info %v", j.State, deref(j.Error), j.ExcInfo)
			}
		})
	}
}
