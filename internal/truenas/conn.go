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

// Conn is a JSON-RPC connection to TrueNAS, safe for concurrent use. It runs over one
// session (WebSocket) at a time; when that dies and the Conn knows how to log in again, the
// next call opens a new session, and jobs being followed are picked up by polling.
type Conn struct {
	log *slog.Logger
	// unlabelledJobs is set on servers whose jobs do not list the request ids that started
	// them (25.04); baseline once the newest job id before our first job is known.
	unlabelledJobs, baseline atomic.Bool
	// onWarn shows the user something that went wrong without failing the operation.
	onWarn func(msg string)
	sem    chan struct{}
	jobs   *jobTracker

	pollInterval time.Duration // job poll fallback starts at half of this
	nextID       atomic.Uint64

	// reconnect opens and logs in a fresh session; nil means the Conn cannot reconnect.
	reconnect func(ctx context.Context) (*session, error)
	redialMu  sync.Mutex // one reconnect at a time

	mu        sync.Mutex // guards sess and closed
	sess      *session
	closed    bool
	closeOnce sync.Once
}

// warn passes msg to the user's warning sink, or logs it when there is none.
func (c *Conn) warn(msg string) {
	if c.onWarn != nil {
		c.onWarn(msg)
		return
	}
	c.log.Warn(msg)
}

// caller is the shape of Conn.Call, so login can run on a session not yet published.
type caller func(ctx context.Context, method string, params []any, out any) error

// newConn starts a Conn on an open WebSocket.
func newConn(ws *websocket.Conn, log *slog.Logger) *Conn {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Conn{log: log, sem: make(chan struct{}, maxInFlight), jobs: newJobTracker(),
		pollInterval: defaultPollInterval}
	c.sess = startSession(c, ws)
	return c
}

// Close ends the connection. Calls still waiting fail with ErrUnreachable.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		s := c.sess
		c.mu.Unlock()
		err = s.close()
	})
	return err
}

// current returns a live session, reconnecting when the last one died.
func (c *Conn) current(ctx context.Context) (*session, error) {
	c.mu.Lock()
	s, closed := c.sess, c.closed
	c.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("%w: connection closed", ErrUnreachable)
	}
	if !s.dead() || c.reconnect == nil {
		return s, nil // a dead session without reconnect fails the call with its cause
	}
	return c.renew(ctx, s)
}

// renew replaces the dead session old, unless another caller already did.
func (c *Conn) renew(ctx context.Context, old *session) (*session, error) {
	c.redialMu.Lock()
	defer c.redialMu.Unlock()
	c.mu.Lock()
	cur, closed := c.sess, c.closed
	c.mu.Unlock()
	switch {
	case closed:
		return nil, fmt.Errorf("%w: connection closed", ErrUnreachable)
	case cur != old && !cur.dead():
		return cur, nil
	}

	c.log.Debug("truenas reconnecting", "cause", old.readErr)
	s, err := c.reconnect(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconnecting after %v: %w", old.readErr, err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = s.close()
		return nil, fmt.Errorf("%w: connection closed", ErrUnreachable)
	}
	c.sess = s
	c.mu.Unlock()
	return s, nil
}

// Call sends method with positional params and decodes the result into out (nil to
// discard). Server errors come back as *Error; a ctx deadline as an error wrapping
// ErrTimeout and context.DeadlineExceeded; a lost connection as ErrUnreachable.
func (c *Conn) Call(ctx context.Context, method string, params []any, out any) error {
	raw, err := c.call(ctx, method, params, nil)
	if err != nil {
		return err
	}
	return decodeResult(method, raw, out)
}

// callerOn returns a Call bound to session s, for logging in before s is published.
func (c *Conn) callerOn(s *session) caller {
	return func(ctx context.Context, method string, params []any, out any) error {
		raw, err := c.callOn(ctx, s, method, params, nil)
		if err != nil {
			return err
		}
		return decodeResult(method, raw, out)
	}
}

// call does the round trip on the current session; job is set for CallJob.
func (c *Conn) call(ctx context.Context, method string, params []any,
	job *jobCall) (json.RawMessage, error) {
	for attempt := 0; ; attempt++ {
		s, err := c.current(ctx)
		if err != nil {
			return nil, fmt.Errorf("calling %s: %w", method, err)
		}
		raw, err := c.callOn(ctx, s, method, params, job)
		// A request that never left because its session died (between current() seeing
		// it alive and the write) is sent again on a fresh session: it cannot have run.
		var ns *notSentError
		if errors.As(err, &ns) && c.reconnect != nil && attempt < 3 {
			select {
			case <-s.done:
				continue
			case <-ctx.Done():
				return nil, ctxError(ctx, method)
			}
		}
		// The server frees a call's slot only after sending its reply, so a call sent the
		// moment ours freed can still find 20 in flight. The refused call never ran: retry.
		var te *Error
		if err == nil || !errors.As(err, &te) || te.Code != codeTooManyCalls || attempt >= 20 {
			return raw, err
		}
		select {
		case <-ctx.Done():
			return nil, ctxError(ctx, method)
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
}

// callOn does one round trip on session s and returns the raw result.
func (c *Conn) callOn(ctx context.Context, s *session, method string, params []any,
	job *jobCall) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctxError(ctx, method)
	case <-s.done:
		return nil, &notSentError{s.lostError(method)}
	}
	defer func() { <-c.sem }()
	if s.dead() {
		return nil, &notSentError{s.lostError(method)} // died while we waited for a slot
	}

	id := "px-" + strconv.FormatUint(c.nextID.Add(1), 10)
	msg, err := json.Marshal(request{JSONRPC: "2.0", ID: id, Method: method, Params: params})
	if err != nil {
		return nil, fmt.Errorf("encoding %s request: %w: %w", method, ErrInvalid, err)
	}
	p := &pendingCall{ch: make(chan frame, 1), job: job}
	s.register(id, p)

	c.log.Debug("truenas call", "id", id, "method", method, "params", logParams(method, params))
	start := time.Now()
	if err := s.write(msg); err != nil {
		// A failed write leaves the socket unusable: shut it so the reader ends and the
		// next call reconnects. No whole frame went out, so the server cannot have run it.
		_ = s.ws.Close()
		s.unregister(id, p)
		return nil, &notSentError{fmt.Errorf("sending %s: %w: %w", method, ErrUnreachable, err)}
	}
	if job != nil {
		job.reqID, job.sent = id, true
	}

	select {
	case f := <-p.ch:
		return c.reply(method, id, f, start)
	case <-ctx.Done():
		s.unregister(id, p)
		return nil, ctxError(ctx, method)
	case <-s.done:
		// The reader hands a reply over before it stops, so one that came is waiting.
		select {
		case f := <-p.ch:
			return c.reply(method, id, f, start)
		default:
		}
		s.unregister(id, p)
		return nil, s.lostError(method)
	}
}

// notSentError marks a call that failed before its request was written, so retrying it on
// a new session cannot run it twice. Its text is the cause's.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// reply turns a reply frame into the result or an *Error.
func (c *Conn) reply(method, id string, f frame, start time.Time) (json.RawMessage, error) {
	took := time.Since(start).Round(time.Microsecond)
	if f.Error != nil {
		e := newCallError(method, f.Error)
		c.log.Debug("truenas error", "id", id, "method", method, "reason", e.Reason,
			"took", took)
		return nil, e
	}
	c.log.Debug("truenas reply", "id", id, "method", method, "took", took)
	return f.Result, nil
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
