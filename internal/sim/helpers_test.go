package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

// wireMsg is any message the server sends, decoded loosely on purpose: the tests keep their
// own view of the protocol instead of sharing the client's types.
type wireMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *wireError      `json:"error"`
}

// wireError is the error member of a reply.
type wireError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    *struct {
		Error   int    `json:"error"`
		Errname string `json:"errname"`
		Reason  string `json:"reason"`
		Trace   any    `json:"trace"`
		Extra   []any  `json:"extra"`
	} `json:"data"`
}

// testClient speaks raw JSON-RPC over gorilla/websocket and keeps every message in order.
type testClient struct {
	t  *testing.T
	ws *websocket.Conn

	mu      sync.Mutex
	next    int
	pending map[string]chan wireMsg
	log     []wireMsg
	closed  chan struct{}
}

// startServer runs a server on a fresh directory (or dir) and closes it at test end.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Faults == "" {
		opts.Faults = "job_time=5ms"
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dial connects a client to the server's URL.
func dial(t *testing.T, s *Server) *testClient {
	t.Helper()
	return dialURL(t, s.URL())
}

// dialURL connects a client to a simulator URL.
func dialURL(t *testing.T, url string) *testClient {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dialing %s: %v", url, err)
	}
	c := &testClient{t: t, ws: ws, pending: map[string]chan wireMsg{}, closed: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { ws.Close() })
	return c
}

// login dials and logs in with the server's API key.
func login(t *testing.T, s *Server) *testClient {
	t.Helper()
	return loginURL(t, s.URL(), s.APIKey())
}

// loginURL dials a simulator URL and logs in with key.
func loginURL(t *testing.T, url, key string) *testClient {
	t.Helper()
	c := dialURL(t, url)
	var res struct {
		ResponseType string `json:"response_type"`
	}
	c.mustCall(&res, "auth.login_ex", map[string]any{"mechanism": "API_KEY_PLAIN",
		"username": "root", "api_key": key})
	if res.ResponseType != "SUCCESS" {
		t.Fatalf("login: response_type %q", res.ResponseType)
	}
	return c
}

// read delivers replies to their callers and keeps notifications in the log.
func (c *testClient) read() {
	defer close(c.closed)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var m wireMsg
		if err := json.Unmarshal(data, &m); err != nil {
			c.t.Errorf("undecodable message %s: %v", data, err)
			return
		}
		c.mu.Lock()
		c.log = append(c.log, m)
		ch := c.pending[string(m.ID)]
		c.mu.Unlock()
		if ch != nil && m.Method == "" {
			ch <- m
		}
	}
}

// call sends a request and waits for its reply.
func (c *testClient) call(method string, params ...any) wireMsg {
	c.t.Helper()
	if params == nil {
		params = []any{}
	}
	c.mu.Lock()
	c.next++
	id := fmt.Sprintf("req-%d", c.next)
	ch := make(chan wireMsg, 1)
	c.pending[fmt.Sprintf("%q", id)] = ch
	c.mu.Unlock()

	req := map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}
	if err := c.ws.WriteJSON(req); err != nil {
		c.t.Fatalf("sending %s: %v", method, err)
	}
	select {
	case m := <-ch:
		return m
	case <-c.closed:
		select {
		case m := <-ch: // the reply came just before the connection ended
			return m
		default:
		}
		c.t.Fatalf("%s: connection closed before the reply", method)
	case <-time.After(testTimeout):
		c.t.Fatalf("%s: no reply within %s", method, testTimeout)
	}
	return wireMsg{}
}

// mustCall calls and decodes the result into out (if not nil), failing on an error reply.
func (c *testClient) mustCall(out any, method string, params ...any) {
	c.t.Helper()
	m := c.call(method, params...)
	if m.Error != nil {
		reason := ""
		if m.Error.Data != nil {
			reason = m.Error.Data.Reason
		}
		c.t.Fatalf("%s: error %d %s %s", method, m.Error.Code, m.Error.Message, reason)
	}
	if out != nil {
		if err := json.Unmarshal(m.Result, out); err != nil {
			c.t.Fatalf("%s: decoding %s: %v", method, m.Result, err)
		}
	}
}

// jobEntry is the part of a job entry the tests look at.
type jobEntry struct {
	ID       int             `json:"id"`
	State    string          `json:"state"`
	Result   json.RawMessage `json:"result"`
	Error    *string         `json:"error"`
	ExcInfo  map[string]any  `json:"exc_info"`
	LogsPath *string         `json:"logs_path"`
	Logs     *string         `json:"logs_excerpt"`
	Progress struct {
		Percent     float64 `json:"percent"`
		Description *string `json:"description"`
	} `json:"progress"`
}

// job starts a job method and waits for its terminal state by polling core.get_jobs.
func (c *testClient) job(method string, params ...any) jobEntry {
	c.t.Helper()
	var id int
	c.mustCall(&id, method, params...)
	return c.waitJob(id)
}

// waitJob polls core.get_jobs until job id has finished.
func (c *testClient) waitJob(id int) jobEntry {
	c.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for time.Now().Before(deadline) {
		var j jobEntry
		c.mustCall(&j, "core.get_jobs", []any{[]any{"id", "=", id}}, map[string]any{"get": true})
		if j.State == jobSuccess || j.State == jobFailed {
			return j
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatalf("job %d did not finish within %s", id, testTimeout)
	return jobEntry{}
}

// mustJob runs a job and fails the test unless it succeeds.
func (c *testClient) mustJob(method string, params ...any) jobEntry {
	c.t.Helper()
	j := c.job(method, params...)
	if j.State != jobSuccess {
		c.t.Fatalf("%s: job %s: %v", method, j.State, deref(j.Error))
	}
	return j
}

// deref prints an optional string.
func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// createContainer creates a running container with defaults.
func (c *testClient) createContainer(name string) {
	c.t.Helper()
	c.mustJob("virt.instance.create", map[string]any{"name": name, "image": "debian/12"})
}

// boxOf returns a container's open Box, taking the server's lock.
func boxOf(t *testing.T, s *Server, name string) *Box {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.boxes[name]
	if !ok {
		t.Fatalf("no open box for %s", name)
	}
	return b
}

// messages returns a copy of everything received so far.
func (c *testClient) messages() []wireMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wireMsg(nil), c.log...)
}
