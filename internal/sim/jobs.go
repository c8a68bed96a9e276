package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Job states, as TrueNAS names them.
const (
	jobWaiting = "WAITING"
	jobRunning = "RUNNING"
	jobSuccess = "SUCCESS"
	jobFailed  = "FAILED"
)

// keepJobs is how many jobs core.get_jobs remembers.
const keepJobs = 1000

// jobTable numbers, runs and remembers jobs, and serialises jobs per container name.
type jobTable struct {
	s     *Server
	mu    sync.Mutex
	next  int
	jobs  map[int]*job
	order []int
	locks map[string]chan struct{}
}

// job is one long-running call. Its fields are guarded by jobTable.mu.
type job struct {
	id       int
	method   string
	args     []any
	msgID    json.RawMessage
	user     string
	state    string
	percent  float64
	desc     any
	result   any
	failure  *jobFailure
	started  *time.Time
	finished *time.Time
	done     chan struct{}
	logs     bool    // the job keeps a log, as jobs declared with logs=True do
	excerpt  *string // logs_excerpt once the log is closed
}

// jobFailure is how a job ends in FAILED: the error text and the exc_info object.
type jobFailure struct {
	msg     string
	excInfo map[string]any
}

// Error returns the job's error text.
func (f *jobFailure) Error() string { return f.msg }

// jobCallError fails a job with a CallError of the given errno.
func jobCallError(errno int, format string, args ...any) *jobFailure {
	msg := fmt.Sprintf(format, args...)
	return &jobFailure{
		msg: fmt.Sprintf("[%s] %s", errname(errno), msg),
		excInfo: map[string]any{"repr": fmt.Sprintf("CallError(%q)", msg), "type": "CallError",
			"errno": errno, "extra": nil},
	}
}

// jobValidation fails a job with ValidationErrors: one line per error, errno null.
func jobValidation(errs ...fieldError) *jobFailure {
	msg := ""
	extra := make([]any, 0, len(errs))
	for _, f := range errs {
		msg += f.reasonLine() + "\n"
		extra = append(extra, f.triple())
	}
	return &jobFailure{msg: msg, excInfo: map[string]any{"repr": "ValidationErrors()",
		"type": "VALIDATION", "errno": nil, "extra": extra}}
}

// jobNotFound fails a job the way a single InstanceNotFound does.
func jobNotFound(name string) *jobFailure {
	return jobInstanceNotFound(fmt.Sprintf("VirtInstance %s does not exist", name))
}

// jobInstanceNotFound fails a job with an InstanceNotFound carrying msg.
func jobInstanceNotFound(msg string) *jobFailure {
	f := fieldError{msg: msg, errno: errnoENOENT}
	return &jobFailure{msg: f.reasonLine(), excInfo: map[string]any{
		"repr": "InstanceNotFound()", "type": "VALIDATION", "errno": errnoENOENT,
		"extra": []any{f.triple()}}}
}

// newJobTable makes an empty table; ids start at 1.
func newJobTable(s *Server) *jobTable {
	return &jobTable{s: s, next: 1, jobs: map[int]*job{}, locks: map[string]chan struct{}{}}
}

// jobRun is what a job body sees: progress reporting and cancellable sleeps.
type jobRun struct {
	t   *jobTable
	j   *job
	ctx context.Context
}

// progress reports a progress change and emits it.
func (r *jobRun) progress(percent float64, desc string) {
	r.t.mu.Lock()
	r.j.percent, r.j.desc = percent, desc
	r.t.mu.Unlock()
	r.t.emit(r.j, "changed")
}

// keepLogs gives the job a log, whose path the job entry shows from now on.
func (r *jobRun) keepLogs() {
	r.t.mu.Lock()
	r.j.logs = true
	r.t.mu.Unlock()
}

// setExcerpt records the job's logs_excerpt; the terminal event carries it.
func (r *jobRun) setExcerpt(excerpt string) {
	r.t.mu.Lock()
	r.j.excerpt = &excerpt
	r.t.mu.Unlock()
}

// sleep waits d, or fails when the server closes.
func (r *jobRun) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.ctx.Done():
		return jobCallError(errnoEFAULT, "Job aborted: simulator shutting down")
	}
}

// submit creates a WAITING job, emits "added", and returns it with a start function that
// runs body on its own goroutine once the lock of container name (if any) is free.
func (t *jobTable) submit(cl *call, name string,
	body func(*jobRun) (any, error)) (*job, func()) {
	var args []any
	for _, raw := range cl.args {
		var v any
		_ = json.Unmarshal(raw, &v)
		args = append(args, v)
	}
	if args == nil {
		args = []any{}
	}

	t.mu.Lock()
	j := &job{id: t.next, method: cl.method, args: args, msgID: cl.id, user: "root",
		state: jobWaiting, done: make(chan struct{})}
	t.next++
	t.jobs[j.id] = j
	t.order = append(t.order, j.id)
	t.prune()
	t.mu.Unlock()
	t.emit(j, "added")

	var once sync.Once
	start := func() {
		once.Do(func() {
			t.s.workers.Add(1)
			go func() {
				defer t.s.workers.Done()
				t.run(cl.c, j, name, body)
			}()
		})
	}
	return j, start
}

// run takes the container's lock, runs body and records the outcome.
func (t *jobTable) run(c *conn, j *job, name string, body func(*jobRun) (any, error)) {
	r := &jobRun{t: t, j: j, ctx: t.s.ctx}
	if name != "" {
		lock := t.lockFor(name)
		select {
		case lock <- struct{}{}:
			defer func() { <-lock }()
		case <-r.ctx.Done():
			t.finish(j, nil, jobCallError(errnoEFAULT, "Job aborted: simulator shutting down"))
			return
		}
	}

	now := time.Now()
	t.mu.Lock()
	j.state, j.started = jobRunning, &now
	t.mu.Unlock()
	t.emit(j, "changed")
	if c != nil && t.s.faults.take(&t.s.faults.dropConnMidjob) {
		t.s.log.Debug("fault: dropping connection mid-job", "job", j.id)
		c.close()
	}

	result, err := body(r)
	t.finish(j, result, err)
}

// finish records a terminal state and emits it.
func (t *jobTable) finish(j *job, result any, err error) {
	now := time.Now()
	t.mu.Lock()
	j.finished = &now
	if err != nil {
		f, ok := err.(*jobFailure)
		if !ok {
			f = jobCallError(errnoEFAULT, "%s", err.Error())
		}
		j.state, j.failure = jobFailed, f
	} else {
		j.state, j.result, j.percent = jobSuccess, result, 100
	}
	t.mu.Unlock()
	t.emit(j, "changed")
	close(j.done)
}

// lockFor returns the one-slot lock of a container name.
func (t *jobTable) lockFor(name string) chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.locks[name]
	if !ok {
		l = make(chan struct{}, 1)
		t.locks[name] = l
	}
	return l
}

// prune forgets the oldest finished jobs beyond keepJobs. Called with mu held.
func (t *jobTable) prune() {
	for len(t.order) > keepJobs {
		old := t.jobs[t.order[0]]
		if old.finished == nil {
			return
		}
		delete(t.jobs, old.id)
		t.order = t.order[1:]
	}
}

// emit sends a core.get_jobs collection_update for j.
func (t *jobTable) emit(j *job, msg string) {
	t.mu.Lock()
	fields := t.entry(j)
	t.mu.Unlock()
	t.s.broadcast("core.get_jobs", map[string]any{"msg": msg, "id": j.id, "fields": fields})
}

// entries returns every remembered job entry in id order.
func (t *jobTable) entries() []map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]map[string]any, 0, len(t.order))
	for _, id := range t.order {
		out = append(out, t.entry(t.jobs[id]))
	}
	return out
}

// entry renders a job as TrueNAS does. Called with mu held.
func (t *jobTable) entry(j *job) map[string]any {
	e := map[string]any{
		"id": j.id, "method": j.method, "arguments": j.args, "transient": false,
		"description": nil, "abortable": false, "logs_path": nil, "logs_excerpt": nil,
		"progress": map[string]any{"percent": j.percent, "description": j.desc, "extra": nil},
		"result":   nil, "result_encoding_error": nil, "error": nil, "exception": nil,
		"exc_info": nil, "state": j.state, "time_started": date(j.started),
		"time_finished": date(j.finished),
		"credentials": map[string]any{"type": "API_KEY",
			"data": map[string]any{"username": j.user}},
	}
	if t.s.ver.poolAPI {
		ids := []any{}
		if len(j.msgID) > 0 {
			ids = append(ids, j.msgID)
		}
		e["message_ids"] = ids
	}
	if j.logs {
		e["logs_path"] = fmt.Sprintf("/var/log/jobs/%d.log", j.id)
	}
	if j.excerpt != nil {
		e["logs_excerpt"] = *j.excerpt
	}
	if j.state == jobSuccess {
		e["result"] = j.result
	}
	if j.failure != nil {
		e["error"] = j.failure.msg
		e["exception"] = "Traceback (most recent call last):\n  (simulated)\n" + j.failure.msg
		e["exc_info"] = j.failure.excInfo
	}
	return e
}

// date encodes a time the way TrueNAS's JSON does, {"$date": epoch ms}; nil stays null.
func date(t *time.Time) any {
	if t == nil {
		return nil
	}
	return map[string]any{"$date": t.UnixMilli()}
}
