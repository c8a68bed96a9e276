package truenas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// maxInFlight is the server's limit on calls in flight per connection; the 21st is refused.
const maxInFlight = 20

// Keepalive timing: a ping every pingInterval, and the connection counts as dead when
// nothing (not even a pong) arrives for pingInterval+pongWait. Variables so tests can
// shorten them; each Conn copies them when it starts.
var (
	pingInterval = 30 * time.Second
	pongWait     = 10 * time.Second
)

// writeWait bounds one frame write.
const writeWait = 10 * time.Second

// Conn is one authenticated-or-not JSON-RPC session over a WebSocket. It is safe for
// concurrent use: one reader goroutine dispatches replies by id and job events to waiters.
type Conn struct {
	ws   *websocket.Conn
	log  *slog.Logger
	sem  chan struct{}
	jobs *jobTracker

	pollInterval time.Duration // job poll fallback starts at half of this
	deadAfter    time.Duration // silence after which the peer counts as gone

	writeMu sync.Mutex
	nextID  atomic.Uint64

	mu      sync.Mutex
	pending map[string]*pendingCall

	done      chan struct{} // closed when the reader stops
	readErr   error         // why it stopped; read only after done is closed
	closeOnce sync.Once
}

// newConn starts the reader and the keepalive on an open WebSocket.
func newConn(ws *websocket.Conn, log *slog.Logger) *Conn {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Conn{
		ws:      ws,
		log:     log,
		sem:     make(chan struct{}, maxInFlight),
		jobs:    newJobTracker(),
		pending: make(map[string]*pendingCall),
		done:    make(chan struct{}),
	}
	c.deadAfter = pingInterval + pongWait
	ws.SetReadLimit(64 << 20)
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(c.deadAfter))
	})
	go c.readLoop()
	go c.keepalive(pingInterval)
	return c
}

// pendingCall is one call waiting for its reply. For a job call, the reader registers the
// job's waiter before handing the reply over, so no event after the reply is missed.
type pendingCall struct {
	ch  chan frame
	job *jobCall // nil for a plain call
}

// jobCall is what CallJob adds to a call: where progress goes, and the waiter the reader
// registered when the reply carried a job id.
type jobCall struct {
	progress Progress
	id       int64
	waiter   *jobWaiter
}

// Close ends the session. Calls still waiting fail with ErrUnreachable.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.writeMu.Lock()
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
			time.Now().Add(time.Second))
		c.writeMu.Unlock()
		err = c.ws.Close()
	})
	<-c.done
	return err
}

// Call sends method with positional params and decodes the result into out (nil to
// discard). Server errors come back as *Error; a ctx deadline as an error wrapping
// ErrTimeout and context.DeadlineExceeded; a lost connection as ErrUnreachable.
func (c *Conn) Call(ctx context.Context, method string, params []any, out any) error {
	raw, err := c.call(ctx, method, params, nil)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding %s result: %w", method, err)
	}
	return nil
}

// call does the round trip and returns the raw result; job is set for CallJob.
func (c *Conn) call(ctx context.Context, method string, params []any,
	job *jobCall) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctxError(ctx, method)
	case <-c.done:
		return nil, c.lostError(method)
	}
	defer func() { <-c.sem }()

	id := "px-" + strconv.FormatUint(c.nextID.Add(1), 10)
	msg, err := json.Marshal(request{JSONRPC: "2.0", ID: id, Method: method, Params: params})
	if err != nil {
		return nil, fmt.Errorf("encoding %s request: %w: %w", method, ErrInvalid, err)
	}
	p := &pendingCall{ch: make(chan frame, 1), job: job}
	c.mu.Lock()
	c.pending[id] = p
	c.mu.Unlock()

	c.log.Debug("truenas call", "id", id, "method", method, "params", logParams(method, params))
	if err := c.write(msg); err != nil {
		c.unregister(id, p)
		return nil, fmt.Errorf("sending %s: %w: %w", method, ErrUnreachable, err)
	}

	select {
	case f := <-p.ch:
		if f.Error != nil {
			e := newCallError(method, f.Error)
			c.log.Debug("truenas error", "id", id, "method", method, "reason", e.Reason)
			return nil, e
		}
		return f.Result, nil
	case <-ctx.Done():
		c.unregister(id, p)
		return nil, ctxError(ctx, method)
	case <-c.done:
		c.unregister(id, p)
		return nil, c.lostError(method)
	}
}

// unregister removes a call that stops waiting. If the reader already claimed its reply,
// it waits for the hand-off, so the reader never writes to a call that has returned.
func (c *Conn) unregister(id string, p *pendingCall) {
	c.mu.Lock()
	_, waiting := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if !waiting {
		select {
		case <-p.ch:
		case <-c.done:
		}
	}
}

// write sends one request frame; gorilla allows only one writer at a time.
func (c *Conn) write(b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// readLoop is the only reader: replies go to their caller, job events to the tracker.
func (c *Conn) readLoop() {
	defer close(c.done)
	_ = c.ws.SetReadDeadline(time.Now().Add(c.deadAfter))
	for {
		kind, b, err := c.ws.ReadMessage()
		if err != nil {
			c.readErr = err
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(c.deadAfter))
		if kind != websocket.TextMessage {
			continue
		}
		f, err := decodeFrame(b)
		if err != nil {
			c.log.Debug("truenas frame dropped", "err", err)
			continue
		}
		c.dispatch(f)
	}
}

// dispatch routes one decoded frame.
func (c *Conn) dispatch(f frame) {
	if id := frameID(f.ID); id != "" {
		c.mu.Lock()
		p := c.pending[id]
		delete(c.pending, id) // one reply per id; a second one is dropped
		c.mu.Unlock()
		if p == nil {
			return
		}
		if p.job != nil && f.Error == nil {
			if json.Unmarshal(f.Result, &p.job.id) == nil && p.job.id > 0 {
				p.job.waiter = c.jobs.wait(p.job.id, p.job.progress)
			}
		}
		p.ch <- f // buffered, and only this reply is ever sent on it
		return
	}
	if f.Method != "collection_update" {
		return
	}
	var ev struct {
		Msg        string          `json:"msg"`
		Collection string          `json:"collection"`
		ID         json.RawMessage `json:"id"`
		Fields     json.RawMessage `json:"fields"`
	}
	if json.Unmarshal(f.Params, &ev) != nil || ev.Collection != "core.get_jobs" {
		return
	}
	var j jobEntry
	if len(ev.Fields) == 0 || json.Unmarshal(ev.Fields, &j) != nil {
		return
	}
	if j.ID == 0 {
		j.ID, _ = flexInt(ev.ID)
	}
	c.jobs.update(j)
}

// keepalive pings the server so a dead peer is noticed by the read deadline.
func (c *Conn) keepalive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait))
			if err != nil {
				c.log.Debug("truenas ping failed", "err", err)
			}
		}
	}
}

// lostError explains a call that could not finish because the connection ended.
func (c *Conn) lostError(method string) error {
	cause := c.readErr
	if cause == nil {
		cause = errors.New("connection closed")
	}
	return fmt.Errorf("calling %s: %w: connection lost: %w", method, ErrUnreachable, cause)
}

// ctxError wraps a finished context: a deadline becomes ErrTimeout, a cancel stays a cancel.
func ctxError(ctx context.Context, what string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("waiting for %s: %w (%w)", what, ErrTimeout, ctx.Err())
	}
	return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
}

// logParams keeps secrets out of debug logs: auth.* parameters are never printed.
func logParams(method string, params []any) any {
	if strings.HasPrefix(method, "auth.") {
		return "[redacted]"
	}
	if method == "filesystem.file_receive" && len(params) > 1 {
		return fmt.Sprintf("[%v <content> %v]", params[0], params[2:])
	}
	b, err := json.Marshal(params)
	if err != nil || len(b) > 2048 {
		return "[large]"
	}
	return string(b)
}
