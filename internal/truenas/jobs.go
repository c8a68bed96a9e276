package truenas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxBufferedJobs bounds the terminal job events kept for jobs nobody waits for yet. Events
// can beat the reply that names their job, so some must be kept; the bound keeps a busy NAS
// from growing the client's memory. A job whose event was dropped is found by polling.
const maxBufferedJobs = 200

// maxPollInterval caps the back-off of the core.get_jobs fallback poll.
const maxPollInterval = 10 * time.Second

// Job states as TrueNAS reports them.
const (
	jobRunning = "RUNNING"
	jobSuccess = "SUCCESS"
	jobFailed  = "FAILED"
	jobAborted = "ABORTED"
)

// jobEntry is the part of a core.get_jobs entry the client reads.
type jobEntry struct {
	ID       int64  `json:"id"`
	Method   string `json:"method"`
	State    string `json:"state"`
	Progress struct {
		Percent     json.RawMessage `json:"percent"`
		Description looseText       `json:"description"`
	} `json:"progress"`
	Result      json.RawMessage `json:"result"`
	Error       looseText       `json:"error"`
	LogsExcerpt looseText       `json:"logs_excerpt"`
	ExcInfo     *struct {
		Type  string          `json:"type"`
		Errno json.RawMessage `json:"errno"`
		Extra json.RawMessage `json:"extra"`
	} `json:"exc_info"`
}

func (j jobEntry) terminal() bool {
	return j.State == jobSuccess || j.State == jobFailed || j.State == jobAborted
}

// jobWaiter is one CallJob waiting for its job's terminal event.
type jobWaiter struct {
	done     chan jobEntry
	progress Progress
}

// jobTracker matches job events to waiters and keeps a bounded ring of terminal events that
// arrived before anyone waited for them.
type jobTracker struct {
	mu       sync.Mutex
	waiters  map[int64]*jobWaiter
	finished map[int64]jobEntry
	ring     [maxBufferedJobs]int64
	next     int
	maxID    int64 // highest job id heard of: any job started later has a higher one
}

func newJobTracker() *jobTracker {
	return &jobTracker{
		waiters:  make(map[int64]*jobWaiter),
		finished: make(map[int64]jobEntry),
	}
}

// update takes one job event from the reader goroutine.
func (t *jobTracker) update(j jobEntry) {
	t.mu.Lock()
	t.maxID = max(t.maxID, j.ID)
	w := t.waiters[j.ID]
	if w == nil {
		if j.terminal() {
			t.remember(j)
		}
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()

	switch {
	case j.terminal():
		select {
		case w.done <- j:
		default:
		}
	case j.State == jobRunning && w.progress != nil:
		pct, _ := strconv.ParseFloat(strings.Trim(string(j.Progress.Percent), `" `), 64)
		w.progress(pct, string(j.Progress.Description))
	}
}

// remember buffers a terminal event, evicting the oldest past the bound. Callers hold mu.
func (t *jobTracker) remember(j jobEntry) {
	if _, ok := t.finished[j.ID]; ok {
		t.finished[j.ID] = j
		return
	}
	if old := t.ring[t.next]; old != 0 {
		delete(t.finished, old)
	}
	t.ring[t.next] = j.ID
	t.next = (t.next + 1) % maxBufferedJobs
	t.finished[j.ID] = j
}

// wait registers interest in job id; an already buffered terminal event is delivered at once.
func (t *jobTracker) wait(id int64, progress Progress) *jobWaiter {
	w := &jobWaiter{done: make(chan jobEntry, 1), progress: progress}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.maxID = max(t.maxID, id)
	t.waiters[id] = w
	if j, ok := t.finished[id]; ok {
		delete(t.finished, id)
		w.done <- j
	}
	return w
}

func (t *jobTracker) forget(id int64) {
	t.mu.Lock()
	delete(t.waiters, id)
	t.mu.Unlock()
}

// saw records that job id exists, without waiting for it.
func (t *jobTracker) saw(id int64) {
	t.mu.Lock()
	t.maxID = max(t.maxID, id)
	t.mu.Unlock()
}

// newest returns the highest job id heard of so far.
func (t *jobTracker) newest() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.maxID
}

// buffered reports how many terminal events are kept, for tests of the bound.
func (t *jobTracker) buffered() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.finished)
}

// CallJob calls a job method and follows the job to its end, decoding the job's result into
// out. Progress (may be nil) gets each RUNNING update. Events are the fast path; a poll of
// core.get_jobs with back-off covers jobs whose events never come. A FAILED job is an *Error
// carrying the job id and the job's error text.
func (c *Conn) CallJob(ctx context.Context, method string, params []any, out any,
	progress Progress) error {
	_, err := c.callJob(ctx, method, params, out, progress)
	return err
}

// callJob is CallJob returning the job's final entry too (zero when the server ran the
// method to completion itself), for callers that read its logs.
func (c *Conn) callJob(ctx context.Context, method string, params []any, out any,
	progress Progress) (jobEntry, error) {
	if c.unlabelledJobs.Load() && !c.baseline.Load() {
		c.learnNewestJob(ctx)
	}
	job := &jobCall{progress: progress, before: c.jobs.newest()}
	raw, err := c.call(ctx, method, params, job)
	if err != nil && job.sent && job.waiter == nil && errors.Is(err, ErrUnreachable) &&
		c.reconnect != nil {
		// The connection dropped between request and reply: the job may run anyway.
		if ferr := c.recoverJob(ctx, method, params, job); ferr != nil {
			return jobEntry{}, fmt.Errorf("%w (and after reconnecting: %v)", err, ferr)
		}
		err = nil
	}
	if job.waiter != nil {
		defer c.jobs.forget(job.id)
	}
	if err != nil {
		return jobEntry{}, err
	}
	if job.waiter == nil {
		// Not a job id: the server ran it to completion already (legacy_jobs off).
		return jobEntry{}, decodeResult(method, raw, out)
	}

	j, err := c.awaitJob(ctx, method, job.id, job.waiter)
	if err != nil {
		return jobEntry{}, err
	}
	if j.State != jobSuccess {
		return j, jobError(method, j)
	}
	return j, decodeResult(method, j.Result, out)
}

// learnNewestJob asks for the newest job id before this connection's first job on a server
// whose jobs do not name the request that started them (25.04). Should the connection drop
// before a job's id arrives, recovery then takes only a job newer than that one, never an
// identical job another client finished earlier. Without an answer recovery falls back to
// the ids heard of on this connection.
func (c *Conn) learnNewestJob(ctx context.Context) {
	var jobs []struct {
		ID int64 `json:"id"`
	}
	opts := map[string]any{"order_by": []string{"-id"}, "limit": 1}
	if err := c.Call(ctx, "core.get_jobs", []any{[]any{}, opts}, &jobs); err != nil {
		c.log.Debug("truenas newest job unknown", "err", err)
		return
	}
	if len(jobs) > 0 {
		c.jobs.saw(jobs[0].ID)
	}
	c.baseline.Store(true)
}

// awaitJob waits for the terminal state of job id by event or by poll, within ctx. When
// the connection drops meanwhile and can be renewed, it reconnects and polls at once.
func (c *Conn) awaitJob(ctx context.Context, method string, id int64,
	w *jobWaiter) (jobEntry, error) {
	interval := c.pollInterval / 2
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	timer := time.NewTimer(interval)
	defer timer.Stop()

	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	what := fmt.Sprintf("job %d (%s)", id, method)
	for {
		select {
		case j := <-w.done:
			return j, nil
		case <-ctx.Done():
			return jobEntry{}, fmt.Errorf("%w; the job may still be running on the NAS",
				ctxError(ctx, what))
		case <-s.done:
			if c.reconnect == nil {
				return jobEntry{}, s.lostError(method)
			}
			ns, err := c.renew(ctx, s)
			if err != nil {
				return jobEntry{}, fmt.Errorf("following %s: %w", what, err)
			}
			s = ns
		case <-timer.C:
		}

		var jobs []jobEntry
		filter := []any{[]any{"id", "=", id}}
		err := c.Call(ctx, "core.get_jobs", []any{filter}, &jobs)
		switch {
		case err != nil && ctx.Err() != nil:
			return jobEntry{}, fmt.Errorf("%w; the job may still be running on the NAS",
				ctxError(ctx, what))
		case err != nil && errors.Is(err, ErrUnreachable) && c.reconnect == nil:
			return jobEntry{}, err
		case err != nil:
			c.log.Debug("truenas job poll failed", "job", id, "err", err)
		case len(jobs) == 0:
			return jobEntry{}, fmt.Errorf("following %s: the NAS no longer knows this job "+
				"(did its middleware restart?)", what)
		case jobs[0].terminal():
			return jobs[0], nil
		}
		interval = min(interval*3/2, maxPollInterval)
		timer.Stop()
		timer.Reset(interval)
	}
}

// decodeResult decodes a result into out, ignoring null and a nil out.
func decodeResult(method string, raw json.RawMessage, out any) error {
	if out == nil || len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding %s result: %w", method, err)
	}
	return nil
}

// jobError turns a FAILED or ABORTED job into an *Error, reading "[ENAME] message" from the
// job's error text and the errno from exc_info.
func jobError(method string, j jobEntry) *Error {
	e := &Error{Method: method, JobID: j.ID, Reason: strings.TrimSpace(string(j.Error))}
	if e.Reason == "" {
		e.Reason = fmt.Sprintf("job %d ended %s", j.ID, strings.ToLower(j.State))
	}
	if m := reasonPrefix.FindStringSubmatch(e.Reason); m != nil {
		e.Errname = m[1]
	}
	validation := false
	if x := j.ExcInfo; x != nil {
		validation = x.Type == "VALIDATION"
		if n, err := flexInt(x.Errno); err == nil {
			e.Errno = int(n)
		}
		if errno, ok := extraErrno(x.Extra); ok && errno != 22 {
			e.Errno, e.Errname = errno, errnoNames[errno]
		}
	}
	if e.Errname == "" {
		e.Errname = errnoNames[e.Errno]
	}
	e.Kind = classify(0, e.Errname, e.Reason, validation)
	return e
}
