package bench

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// inflightProxy relays WebSocket messages between the client and the simulator on loopback
// and records the most requests that were awaiting their reply at once on one connection:
// TrueNAS refuses the 21st, so the client must never exceed 20.
type inflightProxy struct {
	srv    *httptest.Server
	target string

	mu  sync.Mutex
	max int
}

// newInflightProxy serves a proxy in front of the simulator API at target (a ws:// URL).
func newInflightProxy(b *testing.B, target string) *inflightProxy {
	b.Helper()
	p := &inflightProxy{target: target}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	b.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's WebSocket URL, to dial instead of the simulator's.
func (p *inflightProxy) URL() string {
	return "ws" + strings.TrimPrefix(p.srv.URL, "http") + "/api/current"
}

// Max is the highest number of requests in flight seen on one connection.
func (p *inflightProxy) Max() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}

// envelope is what the proxy reads of a JSON-RPC message: an id with a method is a request,
// an id without one is its reply.
type envelope struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

func (p *inflightProxy) serve(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	client, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer client.Close()
	server, _, err := websocket.DefaultDialer.Dial(p.target, nil)
	if err != nil {
		return
	}
	defer server.Close()

	var mu sync.Mutex
	pending := map[string]bool{}
	done := make(chan struct{}, 2)
	relay := func(from, to *websocket.Conn, request bool) {
		defer func() { done <- struct{}{} }()
		for {
			mt, data, err := from.ReadMessage()
			if err != nil {
				return
			}
			var e envelope
			if json.Unmarshal(data, &e) == nil && len(e.ID) > 0 && string(e.ID) != "null" {
				mu.Lock()
				if request && e.Method != "" {
					pending[string(e.ID)] = true
					p.note(len(pending))
				} else if !request && e.Method == "" {
					delete(pending, string(e.ID))
				}
				mu.Unlock()
			}
			if err := to.WriteMessage(mt, data); err != nil {
				return
			}
		}
	}
	go relay(client, server, true)
	go relay(server, client, false)
	<-done // either side gone: the deferred closes end the other relay
}

func (p *inflightProxy) note(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.max = max(p.max, n)
}
