package sim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// jobEvent is a decoded core.get_jobs collection_update.
type jobEvent struct {
	Msg    string   `json:"msg"`
	ID     int      `json:"id"`
	Fields jobEntry `json:"fields"`
}

func TestCreateJobEvents(t *testing.T) {
	s := startServer(t, Options{Faults: "job_time=20ms"})
	c := login(t, s)
	c.mustCall(nil, "core.subscribe", "core.get_jobs")

	var id int
	c.mustCall(&id, "virt.instance.create", map[string]any{"name": "px-a", "image": "debian/12"})
	final := c.waitJob(id)
	if final.State != jobSuccess {
		t.Fatalf("create failed: %s", deref(final.Error))
	}

	// Wait for the terminal event too: events and polls race.
	deadline := time.Now().Add(testTimeout)
	var states []string
	var sawProgress bool
	replyAt, addedAt := -1, -1
	for time.Now().Before(deadline) {
		states, sawProgress, replyAt, addedAt = nil, false, -1, -1
		for i, m := range c.messages() {
			if m.Method == "" && string(m.Result) == jsonInt(id) && replyAt < 0 {
				replyAt = i
			}
			if m.Method != "collection_update" {
				continue
			}
			var ev jobEvent
			if err := json.Unmarshal(m.Params, &ev); err != nil || ev.ID != id {
				continue
			}
			if ev.Msg == "added" {
				addedAt = i
			}
			if ev.Fields.Progress.Description != nil &&
				strings.HasPrefix(*ev.Fields.Progress.Description, "rootfs:") {
				sawProgress = true
			}
			if len(states) == 0 || states[len(states)-1] != ev.Fields.State {
				states = append(states, ev.Fields.State)
			}
		}
		if len(states) > 0 && states[len(states)-1] == jobSuccess {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if addedAt < 0 || replyAt < 0 || addedAt > replyAt {
		t.Fatalf("added event at %d, reply at %d: want the event first", addedAt, replyAt)
	}
	if strings.Join(states, ",") != "WAITING,RUNNING,SUCCESS" {
		t.Fatalf("states %v", states)
	}
	if !sawProgress {
		t.Fatalf("no download progress event")
	}

	var inst struct {
		Status  string `json:"status"`
		Aliases []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"aliases"`
	}
	if err := json.Unmarshal(final.Result, &inst); err != nil {
		t.Fatalf("decoding result %s: %v", final.Result, err)
	}
	if inst.Status != statusRunning || len(inst.Aliases) != 1 ||
		!strings.HasPrefix(inst.Aliases[0].Address, "127.") {
		t.Fatalf("created instance %+v", inst)
	}
}

// jsonInt renders an int as JSON.
func jsonInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestCreateValidation(t *testing.T) {
	s := startServer(t, Options{})
	c := login(t, s)
	c.createContainer("px-a")

	tests := []struct {
		name      string
		spec      map[string]any
		wantError string
		wantType  string
	}{
		{"duplicate", map[string]any{"name": "px-a", "image": "debian/12"},
			"[EINVAL] virt_instance_create.name: Name 'px-a' already exists\n", "VALIDATION"},
		{"unknown key", map[string]any{"name": "px-b", "image": "debian/12", "cpus": "2"},
			"[EINVAL] virt_instance_create.cpus: Extra inputs are not permitted\n", "VALIDATION"},
		{"small memory", map[string]any{"name": "px-b", "image": "debian/12", "memory": 0},
			"[EINVAL] virt_instance_create.memory:", "VALIDATION"},
		{"unknown image", map[string]any{"name": "px-b", "image": "ubuntu/99.04"},
			"[EFAULT] Failed to create instance:", "CallError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := c.job("virt.instance.create", tt.spec)
			if j.State != jobFailed || !strings.HasPrefix(deref(j.Error), tt.wantError) ||
				j.ExcInfo["type"] != tt.wantType {
				t.Fatalf("job %s error %q exc_info %v", j.State, deref(j.Error), j.ExcInfo)
			}
		})
	}

	var all []map[string]any
	c.mustCall(&all, "virt.instance.query", []any{}, map[string]any{"select": []any{"name"}})
	if len(all) != 1 || len(all[0]) != 1 || all[0]["name"] != "px-a" {
		t.Fatalf("failed creates left instances behind: %v", all)
	}
}

func TestQueryAndGet(t *testing.T) {
	s := startServer(t, Options{})
	c := login(t, s)
	c.createContainer("px-a")
	c.mustJob("virt.instance.create", map[string]any{"name": "px-b", "image": "alpine/3.20",
		"autostart": false})
	c.createContainer("other")

	tests := []struct {
		name    string
		filters []any
		want    string
	}{
		{"prefix", []any{[]any{"name", "^", "px-"}}, "px-a,px-b"},
		{"equal", []any{[]any{"name", "=", "px-b"}}, "px-b"},
		{"not equal", []any{[]any{"name", "!=", "px-b"}}, "other,px-a"},
		{"in", []any{[]any{"name", "in", []any{"other", "px-b"}}}, "other,px-b"},
		{"status", []any{[]any{"status", "=", "STOPPED"}}, "px-b"},
		{"or", []any{[]any{"OR", []any{[]any{"name", "=", "px-a"}, []any{"name", "=", "other"}}}},
			"other,px-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []struct {
				Name string `json:"name"`
			}
			c.mustCall(&got, "virt.instance.query", tt.filters)
			var names []string
			for _, g := range got {
				names = append(names, g.Name)
			}
			if strings.Join(names, ",") != tt.want {
				t.Fatalf("names %v, want %s", names, tt.want)
			}
		})
	}

	var one map[string]any
	c.mustCall(&one, "virt.instance.get_instance", "px-b")
	if one["status"] != statusStopped || one["autostart"] != false {
		t.Fatalf("get_instance px-b = %v", one)
	}

	m := c.call("virt.instance.get_instance", "px-gone")
	if m.Error == nil || m.Error.Code != codeInvalidParams || m.Error.Data == nil ||
		m.Error.Data.Error != 22 ||
		m.Error.Data.Reason != "[ENOENT] None: VirtInstance px-gone does not exist" ||
		len(m.Error.Data.Extra) != 1 {
		t.Fatalf("get_instance of a missing name: %+v", m.Error)
	}

	m = c.call("virt.instance.query", []any{[]any{"name", "=", "nope"}},
		map[string]any{"get": true})
	if m.Error == nil || m.Error.Code != codeCallError || m.Error.Data.Reason != "MatchNotFound()" {
		t.Fatalf("query get with no match: %+v", m.Error)
	}
}

func TestStartStop(t *testing.T) {
	s := startServer(t, Options{})
	c := login(t, s)
	c.createContainer("px-a")

	steps := []struct {
		name      string
		method    string
		params    []any
		wantState string
		wantError string
	}{
		{"stop without timeout", "virt.instance.stop", []any{"px-a", map[string]any{}},
			jobFailed, "Timeout should be set if force is disabled"},
		{"stop without options", "virt.instance.stop", []any{"px-a"},
			jobFailed, "Timeout should be set if force is disabled"},
		{"stop with timeout", "virt.instance.stop", []any{"px-a", map[string]any{"timeout": 30}},
			jobSuccess, ""},
		{"stop when stopped", "virt.instance.stop", []any{"px-a", map[string]any{"force": true}},
			jobFailed, "[EFAULT] Failed to stop instance"},
		{"start", "virt.instance.start", []any{"px-a"}, jobSuccess, ""},
		{"start when running", "virt.instance.start", []any{"px-a"}, jobFailed,
			"[EFAULT] Failed to start instance"},
		{"restart", "virt.instance.restart", []any{"px-a", map[string]any{"timeout": 5}},
			jobSuccess, ""},
		{"start missing", "virt.instance.start", []any{"px-gone"}, jobFailed,
			"[ENOENT] None: VirtInstance px-gone does not exist"},
	}
	for _, st := range steps {
		j := c.job(st.method, st.params...)
		if j.State != st.wantState || !strings.Contains(deref(j.Error), st.wantError) {
			t.Fatalf("%s: state %s error %q", st.name, j.State, deref(j.Error))
		}
	}
}

func TestDeleteBusyFault(t *testing.T) {
	s := startServer(t, Options{Faults: "job_time=5ms,delete_busy=1"})
	c := login(t, s)
	c.createContainer("px-a")
	c.mustCall(nil, "zfs.snapshot.create", map[string]any{
		"dataset": datasetOf("px-a"), "name": "one"})

	j := c.job("virt.instance.delete", "px-a")
	if j.State != jobFailed || !strings.Contains(deref(j.Error), "busy") {
		t.Fatalf("first delete: %s %q, want a busy failure", j.State, deref(j.Error))
	}
	c.mustJob("virt.instance.delete", "px-a")

	var left []map[string]any
	c.mustCall(&left, "virt.instance.query")
	var snaps []map[string]any
	c.mustCall(&snaps, "zfs.snapshot.query")
	if len(left) != 0 || len(snaps) != 0 {
		t.Fatalf("after delete: instances %v snapshots %v", left, snaps)
	}
	rec, err := ReadRecord(s.opts.Dir)
	if err != nil || len(rec.SSHPorts) != 0 {
		t.Fatalf("record after delete: %+v, %v", rec, err)
	}
}

func TestJobsSerialisePerContainer(t *testing.T) {
	s := startServer(t, Options{Faults: "job_time=50ms"})
	c := login(t, s)
	c.createContainer("px-a")

	// Without per-container serialisation the start would see RUNNING and fail.
	var stopID, startID int
	c.mustCall(&stopID, "virt.instance.stop", "px-a", map[string]any{"timeout": 10})
	c.mustCall(&startID, "virt.instance.start", "px-a")
	for _, id := range []int{stopID, startID} {
		if j := c.waitJob(id); j.State != jobSuccess {
			t.Fatalf("job %d: %s %q", id, j.State, deref(j.Error))
		}
	}
	if startID != stopID+1 {
		t.Fatalf("job ids %d, %d are not sequential", stopID, startID)
	}
}
