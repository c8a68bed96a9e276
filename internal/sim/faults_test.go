package sim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec    string
		wantErr string
		check   func(*faults) bool
	}{
		{"", "", func(f *faults) bool { return f.jobTime == defaultJobTime }},
		{"delete_busy=2, ip_late=5s", "", func(f *faults) bool {
			return f.deleteBusy == 2 && f.ipLate == 5*time.Second
		}},
		{"stop_hang,early_events,strict_rollback,drop_conn_midjob=1,job_time=1ms", "",
			func(f *faults) bool {
				return f.stopHang && f.earlyEvents && f.strictRollback && f.dropConnMidjob == 1 &&
					f.jobTime == time.Millisecond
			}},
		{"delete_busy", "missing value", nil},
		{"ip_late=soon", "invalid duration", nil},
		{"disk_full", "unknown fault", nil},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			f, err := parseFaults(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(f) {
				t.Fatalf("parseFaults(%q) = %+v, %v", tt.spec, f, err)
			}
		})
	}
}

func TestIPLateFault(t *testing.T) {
	s := startServer(t, Options{Faults: "job_time=1ms,ip_late=300ms"})
	c := login(t, s)
	c.createContainer("px-a")
	aliases := func() int {
		var inst struct {
			Aliases []any `json:"aliases"`
		}
		c.mustCall(&inst, "virt.instance.get_instance", "px-a")
		return len(inst.Aliases)
	}
	if n := aliases(); n != 0 {
		t.Fatalf("aliases right after start: %d, want none", n)
	}
	deadline := time.Now().Add(testTimeout)
	for aliases() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no alias after ip_late passed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStopHangFault(t *testing.T) {
	s := startServer(t, Options{Faults: "job_time=1ms,stop_hang"})
	c := login(t, s)
	c.createContainer("px-a")
	j := c.job("virt.instance.stop", "px-a", map[string]any{"timeout": 0})
	if j.State != jobFailed || !strings.Contains(deref(j.Error), "Failed shutting down instance") {
		t.Fatalf("graceful stop under stop_hang: %s %q", j.State, deref(j.Error))
	}
	c.mustJob("virt.instance.stop", "px-a", map[string]any{"force": true})
}

func TestEarlyEventsFault(t *testing.T) {
	s := startServer(t, Options{Faults: "job_time=1ms,early_events"})
	c := login(t, s)
	c.mustCall(nil, "core.subscribe", "core.get_jobs")
	var id int
	c.mustCall(&id, "virt.instance.create", map[string]any{"name": "px-a", "image": "debian/12"})

	terminalAt, replyAt := -1, -1
	for i, m := range c.messages() {
		if m.Method == "" && string(m.Result) == jsonInt(id) {
			replyAt = i
		}
		var ev jobEvent
		if m.Method == "collection_update" && json.Unmarshal(m.Params, &ev) == nil &&
			ev.ID == id && ev.Fields.State == jobSuccess {
			terminalAt = i
		}
	}
	if terminalAt < 0 || terminalAt > replyAt {
		t.Fatalf("terminal event at %d, reply at %d: want the event first", terminalAt, replyAt)
	}
}

func TestDropConnMidjobFault(t *testing.T) {
	s := startServer(t, Options{Faults: "job_time=1ms,drop_conn_midjob=1"})
	c := login(t, s)
	var id int
	c.mustCall(&id, "virt.instance.create", map[string]any{"name": "px-a", "image": "debian/12"})
	select {
	case <-c.closed:
	case <-time.After(testTimeout):
		t.Fatalf("connection not dropped mid-job")
	}
	c2 := login(t, s)
	if j := c2.waitJob(id); j.State != jobSuccess {
		t.Fatalf("job after reconnect: %s %q", j.State, deref(j.Error))
	}
}

func TestBlockingJobs(t *testing.T) {
	s := startServer(t, Options{Version: "25.10"})
	c := login(t, s)
	c.mustCall(nil, "core.set_options", map[string]any{"legacy_jobs": false})
	var inst map[string]any
	c.mustCall(&inst, "virt.instance.create", map[string]any{"name": "px-a", "image": "debian/12"})
	if inst["name"] != "px-a" || inst["status"] != statusRunning {
		t.Fatalf("blocking create returned %v", inst)
	}
	m := c.call("virt.instance.stop", "px-a", map[string]any{})
	if m.Error == nil || !strings.Contains(m.Error.Data.Reason, "Timeout should be set") {
		t.Fatalf("blocking stop without timeout: %+v", m.Error)
	}
}

func TestStrictRollbackFault(t *testing.T) {
	s := startServer(t, Options{Faults: "job_time=1ms,strict_rollback"})
	c := login(t, s)
	c.createContainer("px-a")
	ds := datasetOf("px-a")
	c.mustCall(nil, "zfs.snapshot.create", map[string]any{"dataset": ds, "name": "one"})
	m := c.call("zfs.snapshot.rollback", ds+"@one")
	if m.Error == nil || m.Error.Data.Errname != "EBUSY" {
		t.Fatalf("rollback of a running container under strict_rollback: %+v", m.Error)
	}
	c.mustJob("virt.instance.stop", "px-a", map[string]any{"force": true})
	c.mustCall(nil, "zfs.snapshot.rollback", ds+"@one")
}
