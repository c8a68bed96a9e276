package sim

import (
	"encoding/json"
)

// call is one request being handled.
type call struct {
	s      *Server
	c      *conn
	method string
	args   []json.RawMessage
	id     json.RawMessage
	job    *job   // set by a job method
	start  func() // starts job
}

// handlerFunc answers one method.
type handlerFunc func(*call) (any, *rpcError)

// anonymous lists the methods callable before login.
var anonymous = map[string]bool{
	"auth.login_ex": true, "auth.login_with_api_key": true, "core.ping": true,
	"core.set_options": true,
}

// methods returns the method table of the played version.
func (s *Server) methods() map[string]handlerFunc {
	m := map[string]handlerFunc{
		"auth.login_ex":               s.loginEx,
		"auth.login_with_api_key":     s.loginWithAPIKey,
		"auth.me":                     s.authMe,
		"core.ping":                   func(*call) (any, *rpcError) { return "pong", nil },
		"core.set_options":            s.setOptions,
		"core.subscribe":              s.subscribe,
		"core.unsubscribe":            s.unsubscribe,
		"core.get_jobs":               s.getJobs,
		"system.version":              func(*call) (any, *rpcError) { return s.ver.full, nil },
		"system.version_short":        func(*call) (any, *rpcError) { return s.ver.short, nil },
		"system.info":                 s.systemInfo,
		"virt.global.config":          s.globalConfig,
		"virt.instance.query":         s.instanceQuery,
		"virt.instance.get_instance":  s.instanceGet,
		"virt.instance.create":        s.instanceCreate,
		"virt.instance.start":         s.instanceStart,
		"virt.instance.stop":          s.instanceStop,
		"virt.instance.restart":       s.instanceRestart,
		"virt.instance.delete":        s.instanceDelete,
		"virt.instance.image_choices": s.imageChoices,
		"interface.query":             s.interfaceQuery,
		"network.general.summary":     s.networkSummary,
		"filesystem.file_receive":     s.fileReceive,
		"filesystem.stat":             s.fileStat,
		"filesystem.listdir":          s.fileListdir,
		"zfs.snapshot.create":         s.snapshotCreate,
		"zfs.snapshot.query":          s.snapshotQuery,
		"zfs.snapshot.delete":         s.snapshotDelete,
		"zfs.snapshot.rollback":       s.snapshotRollback,
		"cronjob.create":              s.cronCreate,
		"cronjob.query":               s.cronQuery,
		"cronjob.get_instance":        s.cronGet,
		"cronjob.run":                 s.cronRun,
		"cronjob.delete":              s.cronDelete,
	}
	if s.ver.poolAPI {
		m["pool.snapshot.create"] = s.snapshotCreate
		m["pool.snapshot.query"] = s.snapshotQuery
		m["pool.snapshot.delete"] = s.snapshotDelete
		m["pool.snapshot.rollback"] = s.snapshotRollback
	}
	if s.ver.gen26 {
		return s.methods26(m)
	}
	return m
}

// handle answers one request: envelope, method lookup, login, schema, then the handler.
// A job method's reply goes out after its "added" event and before it starts running,
// unless early_events or legacy_jobs=false ask for the job to finish first.
func (s *Server) handle(c *conn, req request) {
	args, rerr := decodeParams(req.Params)
	if rerr != nil {
		c.reply(req.ID, nil, rerr)
		return
	}
	h, ok := s.table()[req.Method]
	if !ok {
		c.reply(req.ID, nil, bareError(codeNoMethod, "Method does not exist"))
		return
	}
	if !anonymous[req.Method] && !c.authed.Load() {
		c.reply(req.ID, nil, notAuthenticated())
		return
	}

	s.log.Debug("call", "method", req.Method)
	cl := &call{s: s, c: c, method: req.Method, args: args, id: req.ID}
	if s.schema != nil {
		if errs := s.schema.check(req.Method, args); len(errs) > 0 {
			h = schemaRefusal(s.schema.isJob(req.Method), errs)
		}
	}
	result, rerr := h(cl)
	if cl.job == nil || rerr != nil {
		c.reply(req.ID, result, rerr)
		return
	}

	blocking := c.noLegacy.Load()
	if blocking || s.faults.earlyEvents {
		cl.start()
		select {
		case <-cl.job.done:
		case <-s.ctx.Done():
			return
		}
	}
	if blocking {
		result, rerr = s.jobs.outcome(cl.job)
	}
	c.reply(req.ID, result, rerr)
	cl.start()
}

// table returns the method table, built once.
func (s *Server) table() map[string]handlerFunc {
	s.tableOnce.Do(func() { s.methodTable = s.methods() })
	return s.methodTable
}

// outcome turns a finished job into what a blocking (non-legacy) call returns.
func (t *jobTable) outcome(j *job) (any, *rpcError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j.failure == nil {
		return j.result, nil
	}
	errno := errnoEFAULT
	if n, ok := j.failure.excInfo["errno"].(int); ok {
		errno = n
	}
	e := callError(errno, "")
	e.Data.Reason = j.failure.msg
	e.Data.Extra = j.failure.excInfo["extra"]
	return nil, e
}

// startJob submits a job for the call; the handler returns its id.
func (cl *call) startJob(name string, body func(*jobRun) (any, error)) (any, *rpcError) {
	cl.job, cl.start = cl.s.jobs.submit(cl, name, body)
	return cl.job.id, nil
}

// schemaRefusal answers a call whose params break the method's schema: a job that fails
// with VALIDATION for job methods (TrueNAS validates those inside the job), else -32602.
func schemaRefusal(job bool, errs []fieldError) handlerFunc {
	return func(cl *call) (any, *rpcError) {
		if !job {
			return nil, invalidParams(errs...)
		}
		return cl.startJob(nameOf(cl.args), func(*jobRun) (any, error) {
			return nil, jobValidation(errs...)
		})
	}
}
