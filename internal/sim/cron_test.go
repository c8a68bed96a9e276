package sim

import (
	"context"
	"strings"
	"testing"
	"time"
)

// cronEntry is a cron job entry as the tests read it.
type cronEntry struct {
	ID          int    `json:"id"`
	User        string `json:"user"`
	Command     string `json:"command"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled"`
	Stdout      bool   `json:"stdout"`
	Stderr      bool   `json:"stderr"`
	Schedule    struct {
		Minute, Hour, Dom, Month, Dow string
	} `json:"schedule"`
}

func TestCronCreateQueryDelete(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{SchemaFile: methodsFile})
	c := login(t, s)

	var e cronEntry
	c.mustCall(&e, "cronjob.create", map[string]any{"user": "root", "command": "echo hi",
		"enabled": false, "schedule": map[string]any{"hour": "3"}})
	if e.ID != 1 || e.User != "root" || e.Command != "echo hi" || e.Enabled || !e.Stdout ||
		e.Stderr || e.Description != "" || e.Schedule.Minute != "00" || e.Schedule.Hour != "3" ||
		e.Schedule.Dom != "*" || e.Schedule.Month != "*" || e.Schedule.Dow != "*" {
		t.Fatalf("created entry %+v", e)
	}
	var second cronEntry
	c.mustCall(&second, "cronjob.create", map[string]any{"user": "root", "command": "true"})
	if second.ID != 2 || !second.Enabled {
		t.Fatalf("second entry %+v", second)
	}

	var list []cronEntry
	c.mustCall(&list, "cronjob.query", []any{[]any{"id", "=", 2}})
	if len(list) != 1 || list[0].Command != "true" {
		t.Fatalf("query by id: %+v", list)
	}
	var got cronEntry
	c.mustCall(&got, "cronjob.get_instance", 1)
	if got != e {
		t.Fatalf("get_instance = %+v, want %+v", got, e)
	}
	m := c.call("cronjob.get_instance", 99)
	if m.Error == nil || m.Error.Code != codeInvalidParams ||
		m.Error.Data.Reason != "[ENOENT] None: CronJob 99 does not exist" {
		t.Fatalf("get_instance of a missing entry: %+v", m.Error)
	}

	refusals := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"unknown user", map[string]any{"user": "alice", "command": "true"},
			"[EINVAL] cron_job_create.user: Specified user does not exist"},
		{"empty command", map[string]any{"user": "root", "command": ""},
			"[EINVAL] cron_job_create.command: Please specify a command for cronjob task."},
		{"missing command", map[string]any{"user": "root"}, "command"},
		{"extra key", map[string]any{"user": "root", "command": "true", "when": "now"},
			"when"},
	}
	for _, r := range refusals {
		m := c.call("cronjob.create", r.params)
		if m.Error == nil || m.Error.Code != codeInvalidParams ||
			!strings.Contains(m.Error.Data.Reason, r.want) {
			t.Fatalf("%s: %+v", r.name, m.Error.Data)
		}
	}
	// Without the schema checker the handler refuses on its own.
	plain := login(t, startServer(t, Options{}))
	for _, r := range refusals {
		m := plain.call("cronjob.create", r.params)
		if m.Error == nil || m.Error.Code != codeInvalidParams ||
			!strings.Contains(m.Error.Data.Reason, r.want) {
			t.Fatalf("%s without schema: %+v", r.name, m.Error)
		}
	}

	if j := c.mustJob("cronjob.run", 1, false); string(j.Result) != "null" {
		t.Fatalf("run result %s", j.Result)
	}
	var ok bool
	c.mustCall(&ok, "cronjob.delete", 1)
	if !ok {
		t.Fatalf("delete returned false")
	}
	m = c.call("cronjob.delete", 1)
	if m.Error == nil || m.Error.Code != codeInvalidParams ||
		m.Error.Data.Reason != "[ENOENT] None: CronJob 1 does not exist" {
		t.Fatalf("deleting a missing entry: %+v", m.Error)
	}
	c.mustCall(&list, "cronjob.query")
	if len(list) != 1 || list[0].ID != 2 {
		t.Fatalf("after delete: %+v", list)
	}
}

func TestCronRun(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{})
	c := login(t, s)

	j := c.cronJobRun("echo hello; echo oops >&2", cronOpts{})
	if j.State != jobSuccess || deref(j.Progress.Description) != "Execution of Cron Task complete." ||
		j.Progress.Percent != 100 || !strings.HasPrefix(deref(j.LogsPath), "/var/log/jobs/") {
		t.Fatalf("run: %+v", j)
	}
	want := "hello\noops\nExecuted CronTask - echo hello; echo oops >&2: hello\noops\n"
	if deref(j.Logs) != want {
		t.Fatalf("logs_excerpt %q, want %q", deref(j.Logs), want)
	}

	// stdout: true appends "> /dev/null", which covers the last command only, as on TrueNAS.
	j = c.cronJobRun("echo first; echo second", cronOpts{stdout: true})
	if deref(j.Logs) != "first\nExecuted CronTask - echo first; echo second > /dev/null: first\n" {
		t.Fatalf("stdout discarded: %q", deref(j.Logs))
	}
	j = c.cronJobRun("echo kept; { echo gone >&2; }", cronOpts{stderr: true})
	if deref(j.Logs) != "kept\nExecuted CronTask - echo kept; { echo gone >&2; } "+
		"2> /dev/null: kept\n" {
		t.Fatalf("stderr discarded: %q", deref(j.Logs))
	}
	j = c.cronJobRun("true", cronOpts{stdout: true, stderr: true})
	if j.State != jobSuccess || j.Logs == nil || *j.Logs != "" {
		t.Fatalf("silent run: %s logs %v", j.State, j.Logs)
	}

	j = c.cronJobRun("i=0; while [ $i -lt 30 ]; do echo line$i; i=$((i+1)); done",
		cronOpts{})
	lines := strings.Split(strings.TrimSuffix(deref(j.Logs), "\n"), "\n")
	if len(lines) != 21 || lines[0] != "line0" || lines[9] != "line9" ||
		lines[10] != "... 40 more lines ..." || lines[11] != "line20" || lines[20] != "line29" {
		t.Fatalf("long output excerpt:\n%s", deref(j.Logs))
	}

	j = c.cronJobRun("echo bad; exit 3", cronOpts{stdout: true})
	if j.State != jobFailed ||
		deref(j.Error) != `[EFAULT] CronTask "echo bad; exit 3 > /dev/null" exited with 3 `+
			`(non-zero) exit status.` ||
		j.ExcInfo["type"] != "CallError" || j.ExcInfo["errno"] != float64(errnoEFAULT) ||
		!strings.HasPrefix(deref(j.Logs), "bad\n") {
		t.Fatalf("failing run: %s %q %v %q", j.State, deref(j.Error), j.ExcInfo, deref(j.Logs))
	}

	j = c.job("cronjob.run", 99)
	if j.State != jobFailed || deref(j.Error) != "[ENOENT] None: CronJob 99 does not exist" ||
		j.ExcInfo["type"] != "VALIDATION" {
		t.Fatalf("running a missing entry: %s %q %v", j.State, deref(j.Error), j.ExcInfo)
	}

	var e cronEntry
	c.mustCall(&e, "cronjob.create", map[string]any{"user": "root", "command": "echo ran",
		"enabled": false, "stdout": false})
	j = c.job("cronjob.run", e.ID, true)
	if j.State != jobFailed || deref(j.Error) != "[EINVAL] Cron job is disabled" ||
		j.Logs != nil && strings.Contains(*j.Logs, "ran") {
		t.Fatalf("skip_disabled on a disabled entry: %s %q %q", j.State, deref(j.Error),
			deref(j.Logs))
	}
	if j = c.job("cronjob.run", e.ID); j.State != jobSuccess || !strings.HasPrefix(deref(j.Logs),
		"ran\n") {
		t.Fatalf("running a disabled entry without skip_disabled: %s %q", j.State, deref(j.Logs))
	}
}

func TestCronPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, err := New(Options{Dir: dir, Faults: "job_time=5ms"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := login(t, s1)
	c.mustCall(nil, "cronjob.create", map[string]any{"user": "root", "command": "echo left"})
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err := ReadLeftovers(dir); err != nil || l.CronJobs != 1 || len(l.Datasets) != 0 {
		t.Fatalf("leftovers of a stopped simulator: %+v, %v", l, err)
	}

	s2 := startServer(t, Options{Dir: dir})
	c2 := login(t, s2)
	var list []cronEntry
	c2.mustCall(&list, "cronjob.query")
	if len(list) != 1 || list[0].Command != "echo left" {
		t.Fatalf("entries after restart: %+v", list)
	}
	var e cronEntry
	c2.mustCall(&e, "cronjob.create", map[string]any{"user": "root", "command": "true"})
	if e.ID != 2 {
		t.Fatalf("id after restart = %d, want 2", e.ID)
	}
	if j := c2.job("cronjob.run", 1); j.State != jobSuccess {
		t.Fatalf("running a kept entry: %s %s", j.State, deref(j.Error))
	}
}

func TestCronRunsBesideOtherJobsAndStopsWithTheServer(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{})
	c := login(t, s)
	var slow, quick cronEntry
	c.mustCall(&slow, "cronjob.create", map[string]any{"user": "root", "command": "sleep 60"})
	c.mustCall(&quick, "cronjob.create", map[string]any{"user": "root", "command": "echo hi"})
	var slowJob int
	c.mustCall(&slowJob, "cronjob.run", slow.ID)
	deadline := time.Now().Add(testTimeout)
	for {
		var j jobEntry
		c.mustCall(&j, "core.get_jobs", []any{[]any{"id", "=", slowJob}},
			map[string]any{"get": true})
		if deref(j.Progress.Description) == "Executing Cron Task" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slow job never started: %+v", j)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if j := c.job("cronjob.run", quick.ID); j.State != jobSuccess {
		t.Fatalf("quick job beside a running one: %s %s", j.State, deref(j.Error))
	}

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatalf("Close waited for a sleeping cron job")
	}
	s.jobs.mu.Lock()
	j := s.jobs.jobs[slowJob]
	s.jobs.mu.Unlock()
	if _, rerr := s.jobs.outcome(j); rerr == nil ||
		!strings.Contains(rerr.Data.Reason, "shutting down") {
		t.Fatalf("slow job after shutdown: %+v", rerr)
	}
}

func TestCronShellStopsWithItsContext(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.runCron(ctx, "sleep 60; echo never", &cronOutput{})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("a cancelled script reported success")
		}
	case <-time.After(testTimeout):
		t.Fatalf("the script outlived its context")
	}
}
