package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Message size caps of the real server, in bytes of one text frame.
const (
	anonMaxMessage    = 8192
	authMaxMessage    = 65536
	receiveMaxMessage = 2 << 20
	maxInFlight       = 20
	writeTimeout      = 10 * time.Second
)

// conn is one client WebSocket session: its login, subscriptions and options.
type conn struct {
	s        *Server
	ws       *websocket.Conn
	wmu      sync.Mutex // serialises writes
	authed   atomic.Bool
	inflight atomic.Int32
	noLegacy atomic.Bool // core.set_options legacy_jobs=false: job calls block for the result

	smu  sync.Mutex
	subs map[string]string // subscription id -> collection
}

// handler serves /api/current and the pinned /api/vXX.YY.Z endpoints of the played version.
func (s *Server) handler() http.Handler {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/current" && !strings.HasPrefix(r.URL.Path, s.ver.apiPath) {
			http.NotFound(w, r)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := &conn{s: s, ws: ws, subs: map[string]string{}}
		if !s.addConn(c) {
			ws.Close()
			return
		}
		defer s.dropConn(c)
		c.serve()
	})
}

// addConn registers a connection unless the server is closing.
func (s *Server) addConn(c *conn) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	select {
	case <-s.closed:
		return false
	default:
	}
	s.conns[c] = struct{}{}
	s.workers.Add(1)
	return true
}

// dropConn forgets a finished connection and restarts the idle clock.
func (s *Server) dropConn(c *conn) {
	c.close()
	s.connMu.Lock()
	delete(s.conns, c)
	s.lastBusy = time.Now()
	s.connMu.Unlock()
	s.workers.Done()
}

// serve reads requests until the socket fails, answering each on its own goroutine.
func (c *conn) serve() {
	c.ws.SetReadLimit(receiveMaxMessage + 1024)
	var calls sync.WaitGroup
	defer calls.Wait()
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if mt != websocket.TextMessage {
			c.closeWith(websocket.CloseUnsupportedData, "Binary messages are not supported")
			return
		}
		if !c.authed.Load() && len(data) > anonMaxMessage {
			c.closeWith(websocket.CloseInvalidFramePayloadData,
				"Anonymous connection max message length is 8 kB")
			return
		}

		req, rerr := parseRequest(data)
		if rerr != nil {
			id := req.ID
			if len(id) == 0 {
				id = json.RawMessage("null") // envelope errors are answered even without an id
			}
			c.reply(id, nil, rerr)
			continue
		}
		if len(data) > authMaxMessage && req.Method != "filesystem.file_receive" {
			c.closeWith(websocket.CloseMessageTooBig, "Max message length is 64 kB")
			return
		}
		if c.inflight.Add(1) > maxInFlight {
			c.inflight.Add(-1)
			c.reply(req.ID, nil, bareError(codeTooMany,
				"Maximum number of concurrent calls (20) has exceeded"))
			continue
		}
		calls.Add(1)
		go func() {
			defer calls.Done()
			defer c.inflight.Add(-1)
			c.s.handle(c, req)
		}()
	}
}

// parseRequest decodes one frame; on failure the returned request still carries what id
// could be read.
func parseRequest(data []byte) (request, *rpcError) {
	var req request
	trimmed := bytes.TrimSpace(data)
	if bytes.HasPrefix(trimmed, []byte("[")) {
		return req, bareError(codeInvalidRequest, "Batch requests are not supported")
	}
	if err := json.Unmarshal(trimmed, &req); err != nil {
		return request{}, bareError(-32700, "Parse error: "+err.Error())
	}
	if req.Method == "" {
		return req, bareError(codeInvalidRequest, "'method' member is required")
	}
	return req, nil
}

// reply sends a result or an error for a request; requests without id (notifications) are
// executed but never answered.
func (c *conn) reply(id json.RawMessage, result any, rerr *rpcError) {
	if len(id) == 0 {
		return
	}
	if rerr != nil {
		c.send(response{JSONRPC: "2.0", ID: id, Error: rerr})
		return
	}
	c.send(resultResponse{JSONRPC: "2.0", ID: id, Result: result})
}

// send writes one message; failures end the connection.
func (c *conn) send(v any) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := c.ws.WriteJSON(v); err != nil {
		c.ws.Close()
	}
}

// subscribed reports whether the session asked for events of a collection.
func (c *conn) subscribed(collection string) bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	for _, name := range c.subs {
		if name == collection || name == "*" {
			return true
		}
	}
	return false
}

// closeWith sends a close frame with a code and reason, then drops the socket.
func (c *conn) closeWith(code int, reason string) {
	c.wmu.Lock()
	msg := websocket.FormatCloseMessage(code, reason)
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.ws.Close()
}

// close drops the socket without ceremony (used on server shutdown and connection drops).
func (c *conn) close() { c.ws.Close() }

// broadcast sends a collection_update to every connection subscribed to collection.
func (s *Server) broadcast(collection string, params map[string]any) {
	params["collection"] = collection
	msg := notification{JSONRPC: "2.0", Method: "collection_update", Params: params}
	s.connMu.Lock()
	targets := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		if c.subscribed(collection) {
			targets = append(targets, c)
		}
	}
	s.connMu.Unlock()
	for _, c := range targets {
		c.send(msg)
	}
}
