package sim

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestVersion2510(t *testing.T) {
	s := startServer(t, Options{Version: "25.10"})
	c := login(t, s)
	var ver string
	c.mustCall(&ver, "system.version")
	if ver != "TrueNAS-25.10.1" {
		t.Fatalf("system.version = %q", ver)
	}
	c.createContainer("px-a")
	ds := datasetOf("px-a")

	var snap map[string]any
	c.mustCall(&snap, "pool.snapshot.create", map[string]any{"dataset": ds, "name": "a"})
	c.mustCall(nil, "zfs.snapshot.create", map[string]any{"dataset": ds, "name": "b"})
	var listed []map[string]any
	c.mustCall(&listed, "pool.snapshot.query", []any{[]any{"dataset", "=", ds}})
	if len(listed) != 2 {
		t.Fatalf("pool.snapshot.query = %v", listed)
	}
	m := c.call("pool.snapshot.create", map[string]any{"dataset": ds, "name": "c",
		"suspend_vms": false})
	if m.Error == nil || !strings.Contains(m.Error.Data.Reason, "suspend_vms") {
		t.Fatalf("pool.snapshot.create with suspend_vms: %+v", m.Error)
	}

	var inst map[string]any
	c.mustCall(&inst, "virt.instance.get_instance", "px-a")
	if inst["privileged_mode"] != false {
		t.Fatalf("25.10 entry lacks privileged_mode: %v", inst)
	}
	var jobs []map[string]any
	c.mustCall(&jobs, "core.get_jobs")
	if _, ok := jobs[0]["message_ids"]; !ok {
		t.Fatalf("25.10 job entry lacks message_ids: %v", jobs[0])
	}

	s04 := startServer(t, Options{})
	c04 := login(t, s04)
	m = c04.call("pool.snapshot.query")
	if m.Error == nil || m.Error.Code != codeNoMethod {
		t.Fatalf("pool.snapshot.query on 25.04: %+v", m.Error)
	}
	if _, err := New(Options{Dir: t.TempDir(), Version: "24.10"}); err == nil {
		t.Fatalf("New accepted an unsimulated version")
	}
}

func TestEndpointsAndTLS(t *testing.T) {
	s := startServer(t, Options{TLS: true})
	if !strings.HasPrefix(s.URL(), "wss://127.0.0.1:") {
		t.Fatalf("URL = %q", s.URL())
	}
	d := websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	base := strings.TrimSuffix(s.URL(), "/api/current")
	tests := []struct {
		path   string
		status int
	}{
		{"/api/current", http.StatusSwitchingProtocols},
		{"/api/v25.04.2", http.StatusSwitchingProtocols},
		{"/api/v25.10.0", http.StatusNotFound},
		{"/websocket", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ws, resp, err := d.Dial(base+tt.path, nil)
			if ws != nil {
				ws.Close()
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("dial %s: response %v, err %v, want status %d", tt.path, resp, err,
					tt.status)
			}
		})
	}
	if _, _, err := websocket.DefaultDialer.Dial(s.URL(), nil); err == nil {
		t.Fatalf("self-signed certificate accepted without the insecure switch")
	}
}

func TestWaitIdle(t *testing.T) {
	s := startServer(t, Options{Idle: 50 * time.Millisecond})
	c := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Wait(ctx) }()

	c.mustCall(nil, "core.ping")
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v while a client was connected", err)
	case <-time.After(200 * time.Millisecond):
	}
	c.ws.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait after idling = %v", err)
		}
	case <-ctx.Done():
		t.Fatalf("Wait did not return after the idle time")
	}
}
