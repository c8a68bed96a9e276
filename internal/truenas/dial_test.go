package truenas

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestEndpoint(t *testing.T) {
	tests := []struct {
		name, host string
		port       int
		want       string
		err        error
	}{
		{"bare host", "nas.example", 0, "wss://nas.example:443/api/current", nil},
		{"bare host with port option", "nas.example", 8443,
			"wss://nas.example:8443/api/current", nil},
		{"host and port", "nas.example:9000", 8443, "wss://nas.example:9000/api/current", nil},
		{"wss url", "wss://nas.example", 0, "wss://nas.example:443/api/current", nil},
		{"wss url with path", "wss://nas.example:8443/api/v25.04.2", 0,
			"wss://nas.example:8443/api/v25.04.2", nil},
		{"ws loopback", "ws://127.0.0.1", 0, "ws://127.0.0.1:80/api/current", nil},
		{"ws localhost port", "ws://localhost:8080/", 0, "ws://localhost:8080/api/current", nil},
		{"ws ipv6 loopback", "ws://[::1]:81", 0, "ws://[::1]:81/api/current", nil},
		{"ws 127/8", "ws://127.77.0.2:81", 0, "ws://127.77.0.2:81/api/current", nil},
		{"ipv6 bare", "[2001:db8::1]", 0, "wss://[2001:db8::1]:443/api/current", nil},
		{"ws remote refused", "ws://nas.example", 0, "", ErrInvalid},
		{"ws remote ip refused", "ws://192.0.2.10:80", 0, "", ErrInvalid},
		{"http scheme refused", "http://nas.example", 0, "", ErrInvalid},
		{"empty", "", 0, "", ErrInvalid},
		{"bad port", "nas.example:99999", 0, "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := endpoint(tt.host, tt.port)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("endpoint(%q) error = %v, want %v", tt.host, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("endpoint(%q): %v", tt.host, err)
			}
			if u.String() != tt.want {
				t.Errorf("endpoint(%q) = %s, want %s", tt.host, u, tt.want)
			}
		})
	}
}

// TestDialRefusesPlainWSBeforeDial checks the key never leaves the process for a remote
// plain ws:// host: no connection is even attempted.
func TestDialRefusesPlainWSBeforeDial(t *testing.T) {
	var dials atomic.Int32
	opts := DialOptions{Host: "ws://nas.example", APIKey: "1-PLACEHOLDERKEY",
		dialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("test dialer: refusing")
		}}
	_, err := Dial(testCtx(t), opts)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Dial error = %v, want ErrInvalid", err)
	}
	for _, want := range []string{"wss://", "revokes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "PLACEHOLDERKEY") {
		t.Errorf("error leaks the key: %q", err)
	}
	if n := dials.Load(); n != 0 {
		t.Errorf("dialer called %d times, want 0", n)
	}
}

func TestDialLogin(t *testing.T) {
	tests := []struct {
		name, reply, key string
		err              error
		mentions         []string
	}{
		{"success", "", "", nil, nil},
		{"wrong key", "", "1-wrongkeyvalue", ErrAuth, []string{`"root"`, "check the API key"}},
		{"auth err", "AUTH_ERR", "", ErrAuth, []string{"check the API key"}},
		{"expired", "EXPIRED", "", ErrAuth, []string{"revoked", "renew", "wss://"}},
		{"otp", "OTP_REQUIRED", "", ErrAuth, []string{"API key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.loginReply = tt.reply
			key := s.apiKey
			if tt.key != "" {
				key = tt.key
			}
			var logs bytes.Buffer
			debug := &slog.HandlerOptions{Level: slog.LevelDebug}
			log := slog.New(slog.NewTextHandler(&logs, debug))

			b, err := Dial(testCtx(t), DialOptions{Host: s.url, APIKey: key, Logger: log})
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				if b.Version() != "25.04.2.4" {
					t.Errorf("Version = %q", b.Version())
				}
				_ = b.Close()
			} else if !errors.Is(err, tt.err) {
				t.Fatalf("Dial error = %v, want %v", err, tt.err)
			}
			for _, m := range tt.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if err != nil && strings.Contains(err.Error(), key) {
				t.Errorf("error leaks the key: %q", err)
			}
			if strings.Contains(logs.String(), key) {
				t.Errorf("debug log leaks the key:\n%s", logs.String())
			}
			if !strings.Contains(logs.String(), "auth.login_ex") {
				t.Errorf("debug log has no login call, so the leak check proves nothing")
			}
		})
	}
}

func TestDialPasswordLogin(t *testing.T) {
	s := newFake(t)
	b, err := Dial(testCtx(t), DialOptions{Host: s.url, Username: "admin", Password: "pw"})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer b.Close()
	p := string(s.callsTo("auth.login_ex")[0])
	if !strings.Contains(p, `"PASSWORD_PLAIN"`) || !strings.Contains(p, `"admin"`) {
		t.Errorf("login params = %s", p)
	}
}

func TestDialVersions(t *testing.T) {
	tests := []struct {
		version, snapNS string
		err             error
	}{
		{"TrueNAS-25.04.2.4", "zfs.snapshot", nil},
		{"TrueNAS-25.04.0", "zfs.snapshot", nil},
		{"TrueNAS-25.10.1", "pool.snapshot", nil},
		{"TrueNAS-26.0.0-RC.1", "pool.snapshot", nil},
		{"TrueNAS-SCALE-24.10.2", "", ErrUnsupported},
		{"TrueNAS-27.0.0-BETA.1", "", ErrUnsupported},
		{"nonsense", "", ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			s := newFake(t)
			s.version = tt.version
			b, err := Dial(testCtx(t), DialOptions{Host: s.url, APIKey: s.apiKey})
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), "25.04") {
					t.Fatalf("Dial error = %v, want %v naming supported versions", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer b.Close()
			var ns string
			switch x := b.(type) {
			case *virt:
				ns = x.snaps.ns
			case *lxc:
				ns = x.snaps.ns
			}
			if ns != tt.snapNS {
				t.Fatalf("backend %T with snapshots %q, want %q", b, ns, tt.snapNS)
			}
			if got := s.callsTo("core.subscribe"); len(got) != 1 ||
				string(got[0]) != `["core.get_jobs"]` {
				t.Errorf("core.subscribe calls = %s", got)
			}
		})
	}
}

func TestDialUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now

	_, err = Dial(testCtx(t), DialOptions{Host: "ws://" + addr, APIKey: "1-x"})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Dial error = %v, want ErrUnreachable naming %s", err, addr)
	}
}

func TestDialTLS(t *testing.T) {
	up := websocket.Upgrader{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
			_ = ws.WriteMessage(websocket.TextMessage,
				[]byte(`{"jsonrpc":"2.0","id":"px-1","result":{"response_type":"AUTH_ERR"}}`))
		}
	})
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")

	tests := []struct {
		name     string
		insecure bool
		err      error
	}{
		{"verified by default", false, ErrUnreachable},
		{"insecure skips verification", true, ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := Dial(ctx, DialOptions{Host: "wss://" + host, APIKey: "1-x",
				InsecureSkipVerify: tt.insecure})
			if !errors.Is(err, tt.err) {
				t.Fatalf("Dial error = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestDialNoAPI(t *testing.T) {
	s := newFake(t)
	_, err := Dial(testCtx(t), DialOptions{Host: s.url + "/websocket", APIKey: s.apiKey})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Dial error = %v, want ErrUnsupported", err)
	}
}

// TestDialLoginRateLimited: a login refused with EBUSY "Rate Limit Exceeded" is an auth
// failure that says to wait, and is not retried.
func TestDialLoginRateLimited(t *testing.T) {
	s := newFake(t)
	s.handle("auth.login_ex", func(*fakeReq) (any, *fakeErr) {
		return nil, callErr(16, "EBUSY", "Rate Limit Exceeded")
	})
	_, err := Dial(testCtx(t), DialOptions{Host: s.url, APIKey: s.apiKey})
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "wait a minute") {
		t.Fatalf("Dial error = %v, want ErrAuth saying to wait", err)
	}
	if n := len(s.callsTo("auth.login_ex")); n != 1 {
		t.Errorf("login sent %d times, want 1 (no retry)", n)
	}
}
