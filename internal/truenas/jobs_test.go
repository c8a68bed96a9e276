package truenas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCallJob(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		flood    int
		errText  string
		exc      any
		kind     error
		reason   string
		progress bool
	}{
		{name: "events after the reply", mode: "events", progress: true},
		{name: "terminal event before the reply", mode: "early"},
		{name: "no events, poll fallback", mode: "none"},
		{name: "10000 unrelated events", mode: "early", flood: 10000},
		{name: "failed job", mode: "events", errText: "[EFAULT] Failed to start instance: boom.",
			reason: "[EFAULT] Failed to start instance: boom."},
		{name: "failed validation not found", mode: "early",
			errText: "[ENOENT] None: VirtInstance px-x does not exist",
			exc:     map[string]any{"type": "VALIDATION", "errno": 2}, kind: ErrNotFound,
			reason: "[ENOENT] None: VirtInstance px-x does not exist"},
		{name: "failed validation exists", mode: "none",
			errText: "[EINVAL] virt_instance_create.name: Name 'px-a' already exists\n",
			exc: map[string]any{"type": "VALIDATION", "errno": nil,
				"extra": []any{[]any{"virt_instance_create.name", "exists", 22}}},
			kind:   ErrExists,
			reason: "[EINVAL] virt_instance_create.name: Name 'px-a' already exists"},
		{name: "failed busy", mode: "none", errText: "[EFAULT] dataset is busy", kind: ErrBusy,
			reason: "[EFAULT] dataset is busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.jobMode, s.flood = tt.mode, tt.flood
			s.handle("test.job", func(r *fakeReq) (any, *fakeErr) {
				return r.startJob("test.job", map[string]any{"answer": 42}, tt.errText, tt.exc), nil
			})
			c := connOf(t, dialFake(t, s))

			var mu sync.Mutex
			var seen []string
			progress := func(pct float64, desc string) {
				mu.Lock()
				seen = append(seen, fmt.Sprintf("%g %s", pct, desc))
				mu.Unlock()
			}
			var out struct{ Answer int }
			err := c.CallJob(testCtx(t), "test.job", []any{"x"}, &out, progress)

			if tt.errText == "" {
				if err != nil {
					t.Fatalf("CallJob: %v", err)
				}
				if out.Answer != 42 {
					t.Errorf("result = %+v, want answer 42", out)
				}
			} else {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("CallJob error = %v, want *Error", err)
				}
				if e.JobID != 1 || e.Reason != tt.reason || e.Kind != tt.kind {
					t.Errorf("job error = %+v, want job 1 reason %q kind %v", e, tt.reason, tt.kind)
				}
			}
			if n := c.jobs.buffered(); n > maxBufferedJobs {
				t.Errorf("buffered job events = %d, bound %d", n, maxBufferedJobs)
			}
			if tt.flood > 0 && c.jobs.buffered() < maxBufferedJobs/2 {
				t.Errorf("buffered = %d after a flood; the buffer seems unused", c.jobs.buffered())
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.progress && (len(seen) == 0 || seen[0] != "42 working") {
				t.Errorf("progress descriptions = %q, want a RUNNING update", seen)
			}
		})
	}
}

func TestCallJobDeadline(t *testing.T) {
	s := newFake(t)
	s.jobMode = "none"
	s.handle("test.job", func(r *fakeReq) (any, *fakeErr) {
		id := r.startJob("test.job", true, "", nil)
		s.mu.Lock()
		s.jobs[id]["state"] = "RUNNING" // never finishes
		s.mu.Unlock()
		return id, nil
	})
	c := connOf(t, dialFake(t, s))

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	err := c.CallJob(ctx, "test.job", nil, nil, nil)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CallJob error = %v, want ErrTimeout", err)
	}
	if polls := len(s.callsTo("core.get_jobs")); polls < 2 {
		t.Errorf("core.get_jobs polled %d times, want repeated polling", polls)
	}
}

func TestJobTrackerBound(t *testing.T) {
	tr := newJobTracker()
	for i := range int64(10_000) {
		tr.update(jobEntry{ID: i + 1, State: jobRunning})
		tr.update(jobEntry{ID: i + 1, State: jobSuccess})
	}
	if n := tr.buffered(); n != maxBufferedJobs {
		t.Fatalf("buffered = %d, want %d", n, maxBufferedJobs)
	}
	// The newest survive and are delivered at once; the oldest were evicted.
	select {
	case j := <-tr.wait(10_000, nil).done:
		if j.ID != 10_000 {
			t.Errorf("delivered job %d", j.ID)
		}
	default:
		t.Error("newest terminal event was not buffered")
	}
	select {
	case <-tr.wait(1, nil).done:
		t.Error("oldest event should have been evicted")
	default:
	}
}

// TestCallJobSurvivesDrop drops the connection right after the job id is returned; the
// client must reconnect and find the job's end by polling (B08, reconnect variant).
func TestCallJobSurvivesDrop(t *testing.T) {
	s := newFake(t)
	s.jobMode = "none"
	s.handle("test.job", func(r *fakeReq) (any, *fakeErr) {
		id := r.startJob("test.job", "done", "", nil)
		r.after = append(r.after, func() { _ = r.ss.ws.Close() })
		return id, nil
	})
	c := connOf(t, dialFake(t, s))

	var out string
	if err := c.CallJob(testCtx(t), "test.job", nil, &out, nil); err != nil {
		t.Fatalf("CallJob across a dropped connection: %v", err)
	}
	if out != "done" {
		t.Errorf("result = %q", out)
	}
	if n := len(s.callsTo("auth.login_ex")); n != 2 {
		t.Errorf("logins = %d, want 2 (the reconnect logs in again)", n)
	}
}

func TestCallJobUnknownToServer(t *testing.T) {
	s := newFake(t)
	s.handle("test.job", func(*fakeReq) (any, *fakeErr) { return 999, nil }) // never stored
	c := connOf(t, dialFake(t, s))

	err := c.CallJob(testCtx(t), "test.job", nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no longer knows") {
		t.Fatalf("CallJob = %v, want an error saying the job is unknown", err)
	}
}

// TestCallJobDropBeforeReply drops the connection after the job started but before its id
// was sent; the client must find the job on the NAS after reconnecting.
func TestCallJobDropBeforeReply(t *testing.T) {
	tests := []struct {
		name       string
		messageIDs bool
		started    bool
		older      bool // an identical, finished job exists from before
		foreign    bool // ... started by another connection, unheard of by this one
		ok         bool
	}{
		{name: "25.10 finds it by message id", messageIDs: true, started: true, older: true,
			ok: true},
		{name: "25.04 finds it by arguments", started: true, ok: true},
		{name: "25.04 skips an older identical job", started: true, older: true, ok: true},
		{name: "25.04 skips an identical job another client finished", started: true,
			foreign: true, ok: true},
		{name: "25.04 takes no job another client finished for ours", foreign: true},
		{name: "request lost before any job", started: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.jobMode, s.messageIDs = "none", tt.messageIDs
			s.handle("test.job", func(r *fakeReq) (any, *fakeErr) {
				if tt.started {
					r.startJob("test.job", "ours", "", nil)
				}
				_ = r.ss.ws.Close()
				return nil, errNoReply
			})
			if tt.older {
				s.handle("test.old", func(r *fakeReq) (any, *fakeErr) {
					return r.startJob("test.job", "old", "", nil), nil
				})
			}
			if tt.foreign {
				s.jobs[41] = map[string]any{"id": int64(41), "method": "test.job",
					"arguments": []any{"x"}, "state": "SUCCESS", "result": "theirs"}
				s.nextJob = 41
			}
			c := connOf(t, dialFake(t, s))
			ctx := testCtx(t)
			if tt.older {
				if err := c.CallJob(ctx, "test.old", []any{"x"}, nil, nil); err != nil {
					t.Fatal(err)
				}
			}

			var out string
			err := c.CallJob(ctx, "test.job", []any{"x"}, &out, nil)
			if !tt.ok {
				if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "no job") {
					t.Fatalf("CallJob = %v, want ErrUnreachable saying no job was found", err)
				}
				return
			}
			if err != nil || out != "ours" {
				t.Fatalf("CallJob = %q, %v; want our job's result", out, err)
			}
		})
	}
}

func TestJobErrorOddShapes(t *testing.T) {
	tests := []struct {
		name, entry, reason string
		errno               int
		kind                error
	}{
		{"error as object, errno as string",
			`{"id":5,"state":"FAILED","error":{"x":1},` +
				`"exc_info":{"type":"CallError","errno":"16"}}`,
			`{"x":1}`, 16, ErrBusy},
		{"aborted without text", `{"id":6,"state":"ABORTED","error":null}`,
			"job 6 ended aborted", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j jobEntry
			if err := json.Unmarshal([]byte(tt.entry), &j); err != nil {
				t.Fatalf("decoding job entry: %v", err)
			}
			e := jobError("m", j)
			if e.Reason != tt.reason || e.Errno != tt.errno || e.Kind != tt.kind {
				t.Errorf("jobError = %+v, want reason %q errno %d kind %v", e, tt.reason,
					tt.errno, tt.kind)
			}
		})
	}
}
