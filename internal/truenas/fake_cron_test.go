package truenas

import (
	"encoding/json"
	"fmt"
	"strings"
)

// fakeCron is the cronjob.* part of the fake: entries by id, and a script runner the test
// supplies, standing in for the NAS's root shell.
type fakeCron struct {
	s       *fakeServer
	next    int64
	entries map[int64]map[string]any
	run     func(command string) (output string, exit int)
	// hold, when set, keeps each run job RUNNING until the test finishes it.
	hold bool
}

// cronModel installs cronjob.create/run/delete handlers that run commands with run.
func (s *fakeServer) cronModel(run func(command string) (string, int)) *fakeCron {
	c := &fakeCron{s: s, entries: map[int64]map[string]any{}, run: run}
	s.handle("cronjob.create", func(r *fakeReq) (any, *fakeErr) {
		var p []map[string]any
		if err := json.Unmarshal(r.Params, &p); err != nil || len(p) != 1 {
			return nil, validationErr(22, "EINVAL", "cron_job_create", "bad params")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		c.next++
		e := p[0]
		e["id"] = c.next
		c.entries[c.next] = e
		return e, nil
	})
	s.handle("cronjob.query", func(r *fakeReq) (any, *fakeErr) {
		// Only the filter pixels sends: [["description", "^", prefix]].
		var p [][][]string
		_ = json.Unmarshal(r.Params, &p)
		s.mu.Lock()
		defer s.mu.Unlock()
		out := []any{}
		for _, e := range c.entries {
			d, _ := e["description"].(string)
			if len(p) == 1 && len(p[0]) == 1 && strings.HasPrefix(d, p[0][0][2]) {
				out = append(out, e)
			}
		}
		return out, nil
	})
	s.handle("cronjob.delete", func(r *fakeReq) (any, *fakeErr) {
		var p []int64
		_ = json.Unmarshal(r.Params, &p)
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(p) != 1 || c.entries[p[0]] == nil {
			return nil, validationErr(2, "ENOENT", "", "CronJob does not exist")
		}
		delete(c.entries, p[0])
		return true, nil
	})
	s.handle("cronjob.run", func(r *fakeReq) (any, *fakeErr) {
		var p []any
		_ = json.Unmarshal(r.Params, &p)
		s.mu.Lock()
		e := c.entries[int64(p[0].(float64))]
		hold := c.hold
		s.mu.Unlock()
		if e == nil {
			return nil, validationErr(2, "ENOENT", "", "CronJob does not exist")
		}
		cmd, _ := e["command"].(string)
		out, exit := c.run(cmd)
		errText := ""
		if exit != 0 {
			errText = fmt.Sprintf("[EFAULT] CronTask %q exited with %d (non-zero) exit status.",
				cmd, exit)
		}
		if hold {
			s.mu.Lock()
			s.jobMode = "none"
			s.mu.Unlock()
		}
		id := r.startJob("cronjob.run", nil, errText, map[string]any{"type": "CallError",
			"errno": 14})
		s.mu.Lock()
		s.jobs[id]["logs_excerpt"] = out
		if hold {
			s.jobs[id]["state"] = "RUNNING"
		}
		s.mu.Unlock()
		return id, nil
	})
	return c
}

// commands returns the command of every cronjob.create call, in order.
func (c *fakeCron) commands() []string {
	var out []string
	for _, raw := range c.s.callsTo("cronjob.create") {
		var p []map[string]any
		_ = json.Unmarshal(raw, &p)
		if len(p) == 1 {
			cmd, _ := p[0]["command"].(string)
			out = append(out, cmd)
		}
	}
	return out
}

// left returns how many cron entries exist.
func (c *fakeCron) left() int {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return len(c.entries)
}
