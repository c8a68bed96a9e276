package sim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestLogin(t *testing.T) {
	s := startServer(t, Options{})
	tests := []struct {
		name string
		data map[string]any
		want string
	}{
		{"api key", map[string]any{"mechanism": "API_KEY_PLAIN", "username": "root",
			"api_key": s.APIKey()}, "SUCCESS"},
		{"wrong key", map[string]any{"mechanism": "API_KEY_PLAIN", "username": "root",
			"api_key": "1-nope"}, "AUTH_ERR"},
		{"wrong user", map[string]any{"mechanism": "API_KEY_PLAIN", "username": "admin",
			"api_key": s.APIKey()}, "AUTH_ERR"},
		{"password", map[string]any{"mechanism": "PASSWORD_PLAIN", "username": "root",
			"password": s.Password()}, "SUCCESS"},
		{"wrong password", map[string]any{"mechanism": "PASSWORD_PLAIN", "username": "root",
			"password": "x"}, "AUTH_ERR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, s)
			var res struct {
				ResponseType string         `json:"response_type"`
				UserInfo     map[string]any `json:"user_info"`
			}
			c.mustCall(&res, "auth.login_ex", tt.data)
			if res.ResponseType != tt.want {
				t.Fatalf("response_type = %q, want %q", res.ResponseType, tt.want)
			}
			m := c.call("system.version")
			if authed := m.Error == nil; authed != (tt.want == "SUCCESS") {
				t.Fatalf("system.version after %s: error %+v", tt.want, m.Error)
			}
		})
	}
}

func TestEnvelopeAndAuthErrors(t *testing.T) {
	s := startServer(t, Options{})
	c := dial(t, s)

	tests := []struct {
		name     string
		send     string
		wantCode int
		wantErr  int
		wantName string
	}{
		{"unauthenticated", `{"jsonrpc":"2.0","id":1,"method":"virt.instance.query","params":[]}`,
			codeCallError, errnoNotAuthenticated, "ENOTAUTHENTICATED"},
		{"unknown method", `{"jsonrpc":"2.0","id":2,"method":"virt.nope","params":[]}`,
			codeNoMethod, 0, ""},
		{"params object", `{"jsonrpc":"2.0","id":3,"method":"core.ping","params":{}}`,
			codeInvalidRequest, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req struct {
				ID     int    `json:"id"`
				Method string `json:"method"`
			}
			_ = json.Unmarshal([]byte(tt.send), &req)
			m := rawCall(t, c, tt.send, req.ID)
			if m.Error == nil || m.Error.Code != tt.wantCode {
				t.Fatalf("reply %+v, want code %d", m, tt.wantCode)
			}
			if tt.wantName == "" {
				return
			}
			d := m.Error.Data
			if d == nil || d.Error != tt.wantErr || d.Errname != tt.wantName ||
				d.Reason != "[ENOTAUTHENTICATED] Not authenticated" || d.Trace != nil {
				t.Fatalf("data = %+v", d)
			}
		})
	}

	var pong string
	c.mustCall(&pong, "core.ping")
	if pong != "pong" {
		t.Fatalf("core.ping = %q", pong)
	}
}

// rawCall sends a hand-written frame and waits for the reply with the given id (a JSON
// value, such as 7 or null).
func rawCall(t *testing.T, c *testClient, frame string, id any) wireMsg {
	t.Helper()
	ch := make(chan wireMsg, 1)
	key, _ := json.Marshal(id)
	c.mu.Lock()
	c.pending[string(key)] = ch
	c.mu.Unlock()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatalf("writing frame: %v", err)
	}
	select {
	case m := <-ch:
		return m
	case <-c.closed:
		t.Fatalf("connection closed")
	case <-time.After(testTimeout):
		t.Fatalf("no reply to %s within %s", frame, testTimeout)
	}
	return wireMsg{}
}

func TestSystemAndNetwork(t *testing.T) {
	s := startServer(t, Options{})
	c := login(t, s)

	var ver, short string
	c.mustCall(&ver, "system.version")
	c.mustCall(&short, "system.version_short")
	if ver != "TrueNAS-25.04.2.4" || short != "25.04.2.4" {
		t.Fatalf("version = %q, %q", ver, short)
	}

	var cfg map[string]any
	c.mustCall(&cfg, "virt.global.config")
	if cfg["pool"] != "tank" || cfg["dataset"] != "tank/.ix-virt" || cfg["state"] != "INITIALIZED" {
		t.Fatalf("virt.global.config = %v", cfg)
	}

	var nics []struct {
		Type    string `json:"type"`
		Aliases []struct {
			Address string `json:"address"`
		} `json:"aliases"`
	}
	c.mustCall(&nics, "interface.query")
	if len(nics) != 1 || nics[0].Type != "PHYSICAL" || len(nics[0].Aliases) != 1 ||
		!strings.HasPrefix(nics[0].Aliases[0].Address, "127.") {
		t.Fatalf("interface.query = %+v", nics)
	}
}

func TestNotificationsGetNoReply(t *testing.T) {
	s := startServer(t, Options{})
	c := dial(t, s)
	if err := c.ws.WriteMessage(websocket.TextMessage,
		[]byte(`{"jsonrpc":"2.0","method":"virt.instance.query","params":[]}`)); err != nil {
		t.Fatal(err)
	}
	m := rawCall(t, c, `{"jsonrpc":"2.0","id":7,"method":"core.ping"}`, 7)
	if string(m.Result) != `"pong"` {
		t.Fatalf("core.ping without params: %+v", m)
	}
	if n := len(c.messages()); n != 1 {
		t.Fatalf("got %d messages, want only the ping's reply: %+v", n, c.messages())
	}

	m = rawCall(t, c, `{"jsonrpc":"2.0","id":8,"method":"core.ping","params":[]`, nil)
	if m.Error == nil || m.Error.Code != -32700 || string(m.ID) != "null" {
		t.Fatalf("unparsable frame: %+v", m)
	}
}
