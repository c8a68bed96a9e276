// Package ssh is pixels' SSH client: it picks the keys to offer (a configured key, the
// agent's, or a key pixels makes for itself), trusts a container's host key on first use in
// pixels' own known_hosts, runs commands with their argv intact and their exit status
// passed through, opens interactive consoles, and waits for a container's sshd to answer.
//
// SSH carries one command string per session, so Exec quotes every argv element for a POSIX
// shell on its own (Quote); a caller who wants shell syntax passes sh -c. Connections are
// cached per address within one Client, so many commands share one handshake.
package ssh

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Errors callers branch on with errors.Is.
var (
	// ErrNoExitStatus means the remote command's channel closed without an exit status or
	// signal; Exec returns 255 with it so the outcome never reads as success.
	ErrNoExitStatus = errors.New("remote command ended without an exit status")
	// ErrHostKeyMismatch means the host presented a key other than the one pixels trusted
	// for that address: either the container was rebuilt or someone is in the way.
	ErrHostKeyMismatch = errors.New("host key mismatch")
	// ErrNoTerminal means Console was called without a terminal on stdin.
	ErrNoTerminal = errors.New("console needs a terminal")
	// ErrAuth means the host answered but accepted none of pixels' keys for the user.
	ErrAuth = errors.New("key not accepted")
)

// Options configures a Client. Only DataDir is required.
type Options struct {
	User string // remote user, default "root"
	// KeyPath is a configured private key. "" means the agent's keys (SSH_AUTH_SOCK), else
	// ~/.ssh/id_ed25519 when it exists, else pixels' own key, created on first need.
	KeyPath string
	// DataDir holds pixels' own key (DataDir/id_ed25519) and known_hosts.
	DataDir        string
	KnownHostsPath string        // override, "" = DataDir/known_hosts
	Notice         func(string)  // told once of user-visible events, e.g. a key was created
	Logger         *slog.Logger  // nil = discard
	DialTimeout    time.Duration // per connection attempt, default 10s
	// AuthGrace is how long WaitReady keeps trying while the host refuses pixels' key,
	// default 10s. pixels writes the key before a container boots, so a refusal that lasts
	// will not change; the grace only rides out a container that is still settling.
	AuthGrace time.Duration
	// Passphrase is asked for the passphrase of an encrypted KeyPath. nil = such a key is an
	// error that says so.
	Passphrase func(prompt string) ([]byte, error)
}

// keepaliveInterval is how often a cached connection is probed; a variable so tests can
// shorten it.
var keepaliveInterval = 15 * time.Second

// Client runs commands on containers over SSH. It is safe for concurrent use; Close it to
// end its cached connections.
type Client struct {
	opts  Options
	log   *slog.Logger
	hosts *knownHosts

	authMu  sync.Mutex
	signers []gossh.Signer // resolved on first use
	agent   net.Conn       // kept open while agent signers are in use

	keepalive time.Duration // keepaliveInterval when the Client was made
	authGrace time.Duration // opts.AuthGrace, or its default

	connMu sync.Mutex
	conns  map[string]*conn
	closed bool
}

// New checks opts and returns a Client. It does not touch the network; keys are resolved
// (and pixels' own key created, if needed) on first use.
func New(opts Options) (*Client, error) {
	if opts.DataDir == "" && (opts.KnownHostsPath == "" || opts.KeyPath == "") {
		return nil, errors.New("creating ssh client: no data directory for keys and known_hosts")
	}
	if opts.User == "" {
		opts.User = "root"
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	if opts.AuthGrace <= 0 {
		opts.AuthGrace = 10 * time.Second
	}
	if opts.KnownHostsPath == "" {
		opts.KnownHostsPath = filepath.Join(opts.DataDir, "known_hosts")
	}

	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}

	return &Client{
		opts:  opts,
		log:   log,
		hosts: &knownHosts{path: opts.KnownHostsPath},
		conns: map[string]*conn{},

		keepalive: keepaliveInterval,
		authGrace: opts.AuthGrace,
	}, nil
}

// Close ends every cached connection and the agent connection. The Client is unusable after.
func (c *Client) Close() error {
	c.connMu.Lock()
	conns := c.conns
	c.conns = map[string]*conn{}
	c.closed = true
	c.connMu.Unlock()

	var errs []error
	for _, cn := range conns {
		cn.close()
	}

	c.authMu.Lock()
	if c.agent != nil {
		errs = append(errs, c.agent.Close())
		c.agent = nil
	}
	c.authMu.Unlock()

	return errors.Join(errs...)
}

// Forget removes the known_hosts lines pixels holds for addr and drops a cached connection
// to it. Call it when a container is destroyed, and before the first connection to a newly
// created one, so a rebuilt container's new host key is trusted rather than refused. addr
// may also be a bare host alias (e.g. "px-dev"): then lines naming that alias go.
func (c *Client) Forget(addr string) error {
	c.connMu.Lock()
	cn := c.conns[addr]
	delete(c.conns, addr)
	c.connMu.Unlock()

	if cn != nil {
		cn.close()
	}

	return c.hosts.forget(addr)
}

// notice tells the user something once per call site; the callers keep it rare.
func (c *Client) notice(msg string) {
	if c.opts.Notice != nil {
		c.opts.Notice(msg)
	}
}
