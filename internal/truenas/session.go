package truenas

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Keepalive timing: a ping every pingInterval, and the connection counts as dead when
// nothing (not even a pong) arrives for pingInterval+pongWait. Variables so tests can
// shorten them; each session copies them when it starts.
var (
	pingInterval = 30 * time.Second
	pongWait     = 10 * time.Second
)

// writeWait bounds one frame write.
const writeWait = 10 * time.Second

// session is one WebSocket and its reader. A Conn replaces its session when the old one
// dies; replies are matched within a session, job events go to the Conn's shared tracker.
type session struct {
	c         *Conn
	ws        *websocket.Conn
	deadAfter time.Duration

	writeMu sync.Mutex

	mu      sync.Mutex
	pending map[string]*pendingCall

	done    chan struct{} // closed when the reader stops
	readErr error         // why it stopped; read only after done is closed
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

	reqID  string // the request's id, for matching message_ids after a drop
	sent   bool   // the request was written, so the server may have started the job
	before int64  // highest job id heard of before sending
}

// startSession starts the reader and the keepalive on an open WebSocket.
func startSession(c *Conn, ws *websocket.Conn) *session {
	s := &session{c: c, ws: ws, deadAfter: pingInterval + pongWait,
		pending: make(map[string]*pendingCall), done: make(chan struct{})}
	ws.SetReadLimit(64 << 20)
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(s.deadAfter))
	})
	go s.readLoop()
	go s.keepalive(pingInterval)
	return s
}

// dead reports whether the reader has stopped.
func (s *session) dead() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// close sends a close frame and shuts the socket; the reader then ends.
func (s *session) close() error {
	s.writeMu.Lock()
	_ = s.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	s.writeMu.Unlock()
	err := s.ws.Close()
	<-s.done
	return err
}

// register and unregister track a call awaiting its reply. unregister waits for the hand-off
// when the reader already claimed the reply, so the reader never writes to a returned call.
func (s *session) register(id string, p *pendingCall) {
	s.mu.Lock()
	s.pending[id] = p
	s.mu.Unlock()
}

func (s *session) unregister(id string, p *pendingCall) {
	s.mu.Lock()
	_, waiting := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if !waiting {
		select {
		case <-p.ch:
		case <-s.done:
		}
	}
}

// write sends one request frame; gorilla allows only one writer at a time.
func (s *session) write(b []byte) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_ = s.ws.SetWriteDeadline(time.Now().Add(writeWait))
	return s.ws.WriteMessage(websocket.TextMessage, b)
}

// readLoop is the only reader: replies go to their caller, job events to the tracker.
func (s *session) readLoop() {
	defer close(s.done)
	_ = s.ws.SetReadDeadline(time.Now().Add(s.deadAfter))
	for {
		kind, b, err := s.ws.ReadMessage()
		if err != nil {
			s.readErr = err
			return
		}
		_ = s.ws.SetReadDeadline(time.Now().Add(s.deadAfter))
		if kind != websocket.TextMessage {
			continue
		}
		f, err := decodeFrame(b)
		if err != nil {
			s.c.log.Debug("truenas frame dropped", "err", err)
			continue
		}
		s.dispatch(f)
	}
}

// dispatch routes one decoded frame.
func (s *session) dispatch(f frame) {
	if id := frameID(f.ID); id != "" {
		s.mu.Lock()
		p := s.pending[id]
		delete(s.pending, id) // one reply per id; a second one is dropped
		s.mu.Unlock()
		if p == nil {
			return
		}
		if p.job != nil && f.Error == nil {
			if json.Unmarshal(f.Result, &p.job.id) == nil && p.job.id > 0 {
				p.job.waiter = s.c.jobs.wait(p.job.id, p.job.progress)
			}
		}
		p.ch <- f // buffered, and only this reply is ever sent on it
		return
	}
	if f.Method != "collection_update" {
		return
	}
	var ev struct {
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
	s.c.jobs.update(j)
}

// keepalive pings the server so a dead peer is noticed by the read deadline.
func (s *session) keepalive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			err := s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait))
			if err != nil {
				s.c.log.Debug("truenas ping failed", "err", err)
			}
		}
	}
}

// lostError explains a call that could not finish because the session ended.
func (s *session) lostError(method string) error {
	cause := s.readErr
	if cause == nil {
		cause = errors.New("connection closed")
	}
	return fmt.Errorf("calling %s: %w: connection lost: %w", method, ErrUnreachable, cause)
}
