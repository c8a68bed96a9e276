package truenas

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeServer is a small TrueNAS stand-in for unit tests: a JSON-RPC WebSocket on 127.0.0.1
// with overridable handlers, job machinery with selectable event timing, and a call log.
// It is not the simulator (internal/sim); it models only what each test needs.
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server
	url string

	mu         sync.Mutex
	apiKey     string
	version    string
	loginReply string // forces auth.login_ex's response_type when set
	handlers   map[string]fakeHandler
	calls      []fakeCall
	jobs       map[int64]map[string]any
	nextJob    int64
	jobMode    string // "events" (after the reply), "early" (before it) or "none" (poll only)
	flood      int    // unrelated terminal job events sent before each job reply
	inFlight   int
	maxFlight  int
	sessions   []*fakeSess
	schemas    *schemaSet // when set, requests are checked against the 25.04 schemas
	mutePings  bool       // stop answering WebSocket pings
	messageIDs bool       // jobs list the request ids that started them (25.10+)
}

// fakeCall is one request the fake received.
type fakeCall struct {
	Method string
	Params json.RawMessage
}

// fakeSess is one client connection.
type fakeSess struct {
	ws  *websocket.Conn
	wmu sync.Mutex
}

// fakeReq is one request being handled; after runs once the reply is written.
type fakeReq struct {
	s      *fakeServer
	ss     *fakeSess
	ID     json.RawMessage
	Params json.RawMessage
	after  []func()
}

type fakeHandler func(r *fakeReq) (any, *fakeErr)

// fakeErr is a JSON-RPC error member as the fake sends it.
type fakeErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// callErr builds a -32001 CallError reply.
func callErr(errno int, errname, msg string) *fakeErr {
	return &fakeErr{Code: -32001, Message: "Method call error", Data: map[string]any{
		"error": errno, "errname": errname, "reason": "[" + errname + "] " + msg,
		"trace": nil, "extra": nil,
	}}
}

// validationErr builds a -32602 reply whose real errno is only in extra.
func validationErr(errno int, errname, attr, msg string) *fakeErr {
	return &fakeErr{Code: -32602, Message: "Invalid params", Data: map[string]any{
		"error": 22, "errname": "EINVAL", "reason": "[" + errname + "] " + attr + ": " + msg,
		"trace": nil, "extra": []any{[]any{nil, msg, errno}},
	}}
}

func newFake(t *testing.T) *fakeServer {
	t.Helper()
	s := &fakeServer{
		t: t, apiKey: "1-secretkeyvalue", version: "TrueNAS-25.04.2.4",
		handlers: map[string]fakeHandler{}, jobs: map[int64]map[string]any{},
		jobMode: "events",
	}
	s.handle("auth.login_ex", s.login)
	s.handle("core.subscribe", func(*fakeReq) (any, *fakeErr) { return "sub-1", nil })
	s.handle("system.version", func(*fakeReq) (any, *fakeErr) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.version, nil
	})
	s.handle("core.get_jobs", s.getJobs)

	up := websocket.Upgrader{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/current" {
			http.NotFound(w, r)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		ss := &fakeSess{ws: ws}
		ws.SetPingHandler(func(data string) error {
			s.mu.Lock()
			mute := s.mutePings
			s.mu.Unlock()
			if mute {
				return nil
			}
			ss.wmu.Lock()
			defer ss.wmu.Unlock()
			return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		s.mu.Lock()
		s.sessions = append(s.sessions, ss)
		s.mu.Unlock()
		s.serve(ss)
	}))
	s.url = "ws://" + s.srv.Listener.Addr().String()
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) close() {
	s.mu.Lock()
	for _, ss := range s.sessions {
		_ = ss.ws.Close()
	}
	s.mu.Unlock()
	s.srv.Close()
}

func (s *fakeServer) handle(method string, h fakeHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[method] = h
}

// serve reads requests and answers each on its own goroutine, as TrueNAS runs calls
// concurrently.
func (s *fakeServer) serve(ss *fakeSess) {
	for {
		_, b, err := ss.ws.ReadMessage()
		if err != nil {
			return
		}
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if json.Unmarshal(b, &req) != nil {
			continue
		}
		s.mu.Lock()
		s.calls = append(s.calls, fakeCall{Method: req.Method, Params: req.Params})
		h := s.handlers[req.Method]
		s.inFlight++
		s.maxFlight = max(s.maxFlight, s.inFlight)
		s.mu.Unlock()

		go func() {
			r := &fakeReq{s: s, ss: ss, ID: req.ID, Params: req.Params}
			var res any
			var ferr *fakeErr
			if err := s.checkSchema(req.Method, req.Params); err != nil {
				s.t.Errorf("request refused by the 25.04 schema: %v", err)
				ferr = validationErr(22, "EINVAL", req.Method, err.Error())
			} else if h == nil {
				ferr = &fakeErr{Code: -32601, Message: "Method does not exist"}
			} else {
				res, ferr = h(r)
			}
			s.mu.Lock()
			s.inFlight--
			s.mu.Unlock()
			if ferr == errNoReply {
				return
			}
			msg := map[string]any{"jsonrpc": "2.0", "id": req.ID}
			if ferr != nil {
				msg["error"] = ferr
			} else {
				msg["result"] = res
			}
			ss.send(msg)
			for _, f := range r.after {
				f()
			}
		}()
	}
}

func (s *fakeServer) checkSchema(method string, params json.RawMessage) error {
	s.mu.Lock()
	sch := s.schemas
	s.mu.Unlock()
	if sch == nil {
		return nil
	}
	return sch.check(method, params)
}

// errNoReply makes the fake never answer a request.
var errNoReply = &fakeErr{Code: 1}

func (ss *fakeSess) send(msg any) {
	b, _ := json.Marshal(msg)
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	_ = ss.ws.WriteMessage(websocket.TextMessage, b)
}

func (s *fakeServer) login(r *fakeReq) (any, *fakeErr) {
	var p []map[string]any
	_ = json.Unmarshal(r.Params, &p)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.loginReply != "":
		return map[string]any{"response_type": s.loginReply}, nil
	case len(p) == 1 && (p[0]["api_key"] == s.apiKey || p[0]["password"] == "pw"):
		return map[string]any{"response_type": "SUCCESS", "user_info": nil}, nil
	}
	return map[string]any{"response_type": "AUTH_ERR"}, nil
}

// jobEvent sends a core.get_jobs collection_update to the session.
func (ss *fakeSess) jobEvent(job map[string]any) {
	params := map[string]any{"msg": "changed", "collection": "core.get_jobs", "id": job["id"],
		"fields": job}
	ss.send(map[string]any{"jsonrpc": "2.0", "method": "collection_update", "params": params})
}

// startJob registers a job that ends with result, or FAILED with errText when not empty,
// and schedules its events according to the fake's job mode.
func (r *fakeReq) startJob(method string, result any, errText string, exc any) int64 {
	s := r.s
	s.mu.Lock()
	s.nextJob++
	id := s.nextJob
	job := map[string]any{"id": id, "method": method, "state": "SUCCESS", "result": result,
		"error": nil, "exc_info": nil, "progress": map[string]any{"percent": 100,
			"description": "done"}, "time_finished": map[string]any{"$date": 1754000000000}}
	if errText != "" {
		job["state"], job["error"], job["exc_info"], job["result"] = "FAILED", errText, exc, nil
	}
	var args any
	_ = json.Unmarshal(r.Params, &args)
	job["arguments"] = args
	if s.messageIDs {
		var reqID string
		_ = json.Unmarshal(r.ID, &reqID)
		job["message_ids"] = []string{reqID}
	}
	s.jobs[id] = job
	mode, flood := s.jobMode, s.flood
	s.mu.Unlock()

	for i := range flood {
		r.ss.jobEvent(map[string]any{"id": 1_000_000 + i, "state": "SUCCESS", "result": true})
	}
	switch mode {
	case "early":
		r.ss.jobEvent(job)
	case "events":
		r.after = append(r.after, func() {
			r.ss.jobEvent(map[string]any{"id": id, "method": method, "state": "RUNNING",
				"progress": map[string]any{"percent": 42, "description": "working"}})
			r.ss.jobEvent(job)
		})
	}
	return id
}

func (s *fakeServer) getJobs(r *fakeReq) (any, *fakeErr) {
	var p [][][]any
	_ = json.Unmarshal(r.Params, &p)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	if len(p) == 0 || len(p[0]) == 0 {
		// No filter: the newest job, as {"order_by": ["-id"], "limit": 1} asks.
		var newest int64
		for id := range s.jobs {
			newest = max(newest, id)
		}
		if newest > 0 {
			out = append(out, s.jobs[newest])
		}
		return out, nil
	}
	if len(p[0][0]) != 3 {
		return out, nil
	}
	f := p[0][0]
	for id, j := range s.jobs {
		if (f[0] == "id" && float64(id) == f[2]) || (f[0] == "method" && j["method"] == f[2]) {
			out = append(out, j)
		}
	}
	return out, nil
}

// callsTo returns the params of every call to method, in order.
func (s *fakeServer) callsTo(method string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []json.RawMessage
	for _, c := range s.calls {
		if c.Method == method {
			out = append(out, c.Params)
		}
	}
	return out
}

// dialFake logs in to the fake with short timing knobs.
func dialFake(t *testing.T, s *fakeServer) Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := Dial(ctx, DialOptions{Host: s.url, APIKey: s.apiKey,
		PollInterval: 20 * time.Millisecond, RetryInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// testCtx is a context with a deadline generous for CI and short enough to end a hang.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// nameMatches applies a query's first filter, ["name", "=" or "^", value], to name; a query
// without filters matches everything.
func nameMatches(params json.RawMessage, name string) bool {
	var p [][][]any
	_ = json.Unmarshal(params, &p)
	if len(p) == 0 || len(p[0]) == 0 || len(p[0][0]) != 3 {
		return true
	}
	f := p[0][0]
	want, _ := f[2].(string)
	switch f[1] {
	case "=":
		return name == want
	case "^":
		return strings.HasPrefix(name, want)
	}
	return true
}
