package truenas

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// DialOptions say where TrueNAS is and how to log in. APIKey wins over Password.
type DialOptions struct {
	// Host is "host", "host:port", or a URL "wss://host[:port][/path]" ("ws://" only to a
	// loopback host). The path defaults to /api/current.
	Host string
	// Port is used when Host names none; the default is 443 for wss and 80 for ws.
	Port     int
	Username string // owner of the API key, default "root"
	APIKey   string
	Password string
	// InsecureSkipVerify accepts any TLS certificate, for NAS boxes with self-signed ones.
	InsecureSkipVerify bool
	Logger             *slog.Logger
	// Warn receives messages for the user about things that went wrong without failing
	// the operation (e.g. a temporary cron job that could not be removed); nil logs them.
	Warn func(msg string)
	// PollInterval paces job polling when events do not arrive (first poll after half).
	PollInterval time.Duration
	// RetryInterval separates the tries of a delete that found storage busy.
	RetryInterval time.Duration

	// dialContext replaces the network dialer in tests, which count dials with it.
	dialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Defaults for the knobs of DialOptions.
const (
	defaultPollInterval  = time.Second
	defaultRetryInterval = 2 * time.Second
	handshakeTimeout     = 30 * time.Second
)

// Dial connects to TrueNAS, logs in, subscribes to job events, reads the version and returns
// the Backend for that API generation. The API key or password appears in no error or log.
// When the connection drops later, the next call reconnects and logs in again.
func Dial(ctx context.Context, opts DialOptions) (Backend, error) {
	u, err := endpoint(opts.Host, opts.Port)
	if err != nil {
		return nil, err
	}
	ws, err := dialWS(ctx, u, opts)
	if err != nil {
		return nil, err
	}
	c := newConn(ws, opts.Logger)
	c.onWarn = opts.Warn
	if opts.PollInterval > 0 {
		c.pollInterval = opts.PollInterval
	}

	b, err := setup(ctx, c, opts)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	c.reconnect = func(ctx context.Context) (*session, error) {
		ws, err := dialWS(ctx, u, opts)
		if err != nil {
			return nil, err
		}
		s := startSession(c, ws)
		if err := handshake(ctx, c.callerOn(s), opts); err != nil {
			_ = s.close()
			return nil, err
		}
		return s, nil
	}
	return b, nil
}

// setup logs in, subscribes and picks the adapter on a fresh connection.
func setup(ctx context.Context, c *Conn, opts DialOptions) (Backend, error) {
	if err := handshake(ctx, c.Call, opts); err != nil {
		return nil, err
	}

	var version string
	if err := c.Call(ctx, "system.version", nil, &version); err != nil {
		return nil, fmt.Errorf("reading TrueNAS version: %w", err)
	}
	return newBackend(c, version, opts)
}

// handshake logs a session in and subscribes it to job events.
func handshake(ctx context.Context, call caller, opts DialOptions) error {
	if err := login(ctx, call, opts); err != nil {
		return err
	}
	if err := call(ctx, "core.subscribe", []any{"core.get_jobs"}, nil); err != nil {
		return fmt.Errorf("subscribing to job events: %w", err)
	}
	return nil
}

// endpoint turns Host and Port into the WebSocket URL, refusing plain ws:// to anything but
// a loopback host before any connection is made.
func endpoint(host string, port int) (*url.URL, error) {
	host = strings.TrimSpace(host)
	if host == "" {
		return nil, fmt.Errorf("connecting to TrueNAS: %w: no host given", ErrInvalid)
	}
	u := &url.URL{Scheme: "wss"}
	if strings.Contains(host, "://") {
		p, err := url.Parse(host)
		if err != nil {
			return nil, fmt.Errorf("parsing TrueNAS address %q: %w: %w", host, ErrInvalid, err)
		}
		if p.Scheme != "wss" && p.Scheme != "ws" {
			return nil, fmt.Errorf("parsing TrueNAS address %q: %w: scheme must be wss:// "+
				"(or ws:// to a loopback host)", host, ErrInvalid)
		}
		u.Scheme, u.Host, u.Path = p.Scheme, p.Host, p.Path
	} else {
		u.Host = host
	}

	name, portText := u.Host, ""
	if h, p, err := net.SplitHostPort(u.Host); err == nil {
		name, portText = h, p
	}
	name = strings.Trim(name, "[]")
	if name == "" {
		return nil, fmt.Errorf("parsing TrueNAS address %q: %w: no host name", host, ErrInvalid)
	}
	if portText == "" {
		switch {
		case port > 0:
			portText = strconv.Itoa(port)
		case u.Scheme == "ws":
			portText = "80"
		default:
			portText = "443"
		}
	}
	if n, err := strconv.Atoi(portText); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("parsing TrueNAS address %q: %w: bad port %q", host, ErrInvalid,
			portText)
	}
	u.Host = net.JoinHostPort(name, portText)
	if u.Path == "" || u.Path == "/" {
		u.Path = "/api/current"
	}

	if u.Scheme == "ws" && !isLoopback(name) {
		return nil, fmt.Errorf("connecting to %s: %w: refusing plain ws:// to a host that is "+
			"not loopback, because TrueNAS revokes an API key sent without TLS; use wss://%s",
			u.Host, ErrInvalid, u.Host)
	}
	return u, nil
}

// isLoopback reports whether a host name or address is this machine's loopback.
func isLoopback(name string) bool {
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// dialWS opens the WebSocket. Failures wrap ErrUnreachable and name host:port.
func dialWS(ctx context.Context, u *url.URL, opts DialOptions) (*websocket.Conn, error) {
	d := websocket.Dialer{
		HandshakeTimeout: handshakeTimeout,
		TLSClientConfig:  &tls.Config{InsecureSkipVerify: opts.InsecureSkipVerify},
		NetDialContext:   opts.dialContext,
		Proxy:            nil, // a TrueNAS box is reached directly
	}
	ws, resp, err := d.DialContext(ctx, u.String(), nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		var certErr *tls.CertificateVerificationError
		switch {
		case resp != nil && resp.StatusCode == http.StatusNotFound:
			return nil, fmt.Errorf("connecting to %s: %w: no JSON-RPC API at %s "+
				"(TrueNAS 25.04 or later is needed)", u.Host, ErrUnsupported, u.Path)
		case errors.As(err, &certErr):
			return nil, fmt.Errorf("connecting to %s: %w: %w (for a self-signed certificate "+
				"set truenas.insecure_skip_verify)", u.Host, ErrUnreachable, err)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("connecting to %s: %w", u.Host, ctxError(ctx, "connection"))
		}
		return nil, fmt.Errorf("connecting to %s: %w: %w", u.Host, ErrUnreachable, err)
	}
	return ws, nil
}

// login runs auth.login_ex with the API key, or else the password.
func login(ctx context.Context, call caller, opts DialOptions) error {
	user := opts.Username
	if user == "" {
		user = "root"
	}
	cred := map[string]any{"username": user, "login_options": map[string]any{"user_info": false}}
	switch {
	case opts.APIKey != "":
		cred["mechanism"], cred["api_key"] = "API_KEY_PLAIN", opts.APIKey
	case opts.Password != "":
		cred["mechanism"], cred["password"] = "PASSWORD_PLAIN", opts.Password
	default:
		return fmt.Errorf("logging in as %q: %w: no API key or password configured "+
			"(set truenas.api_key)", user, ErrAuth)
	}

	var res struct {
		ResponseType string   `json:"response_type"`
		URLs         []string `json:"urls"`
	}
	if err := call(ctx, "auth.login_ex", []any{cred}, &res); err != nil {
		if errors.Is(err, ErrBusy) && strings.Contains(err.Error(), "Rate Limit") {
			// Retrying would only extend the lockout.
			return fmt.Errorf("logging in as %q: %w: TrueNAS refuses logins from this address "+
				"for now after repeated failures; wait a minute, then check the API key (%v)",
				user, ErrAuth, err)
		}
		return fmt.Errorf("logging in as %q: %w", user, err)
	}
	switch res.ResponseType {
	case "SUCCESS":
		return nil
	case "AUTH_ERR":
		return fmt.Errorf("logging in as %q: %w: check the API key and that it belongs to "+
			"user %q", user, ErrAuth, user)
	case "EXPIRED":
		return fmt.Errorf("logging in as %q: %w: the API key is expired or revoked; renew it "+
			"on the NAS, and use wss:// since TrueNAS revokes keys sent over plain ws://",
			user, ErrAuth)
	case "OTP_REQUIRED":
		return fmt.Errorf("logging in as %q: %w: the account needs a one-time password; "+
			"use an API key instead", user, ErrAuth)
	case "REDIRECT":
		return fmt.Errorf("logging in as %q: %w: this node is an HA standby; connect to %s",
			user, ErrUnreachable, strings.Join(res.URLs, " or "))
	}
	return fmt.Errorf("logging in as %q: %w: unexpected answer %q", user, ErrAuth,
		res.ResponseType)
}
