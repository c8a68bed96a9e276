package sim

// The SSH server of a simulated container. It speaks real SSH (golang.org/x/crypto/ssh), so
// the pixels client is tested against the protocol rather than a fake of it, and it runs
// every command in the container's Box, never on the host.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// handshakeTimeout bounds how long a connection may take to authenticate.
const handshakeTimeout = 30 * time.Second

// LoadHostKey reads the ed25519 host key at path, creating it (mode 0600) on first use, so a
// container keeps its host key across simulator restarts.
func LoadHostKey(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = newHostKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("loading host key %s: %w", path, err)
	}

	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("loading host key %s: %w", path, err)
	}

	return signer, nil
}

// newHostKey generates a key and writes it in OpenSSH format without replacing a key another
// process wrote meanwhile.
func newHostKey(path string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "pixels simulator host key")
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(block)

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}

	return data, f.Close()
}

// SSHServer serves one container's SSH on a listener until Close.
type SSHServer struct {
	ln     net.Listener
	box    *Box
	logger *slog.Logger
	config *ssh.ServerConfig

	ctx    context.Context // ends every session on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	active atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	once   sync.Once
	err    error
}

// ServeSSH serves SSH on ln in background goroutines until Close. Only public-key auth as
// root is accepted, with a key listed in the box's /root/.ssh/authorized_keys at the time of
// the attempt. A nil logger discards.
func ServeSSH(ln net.Listener, hostKey ssh.Signer, box *Box, logger *slog.Logger) *SSHServer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &SSHServer{
		ln: ln, box: box, logger: logger, ctx: ctx, cancel: cancel,
		conns: map[net.Conn]struct{}{},
	}
	s.config = &ssh.ServerConfig{
		PublicKeyCallback: s.checkKey,
		ServerVersion:     "SSH-2.0-pixels_sim",
	}
	s.config.AddHostKey(hostKey)

	s.wg.Add(1)
	go s.accept()

	return s
}

// checkKey accepts key for root when it is in the box's authorized_keys right now.
func (s *SSHServer) checkKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if meta.User() != "root" {
		return nil, fmt.Errorf("refusing user %q: only root may log in", meta.User())
	}
	data, err := s.box.ReadFile("/root/.ssh/authorized_keys")
	if err != nil {
		return nil, fmt.Errorf("reading authorized keys: %w", err)
	}

	want := key.Marshal()
	for len(data) > 0 {
		k, _, _, rest, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			break // no more parsable keys
		}
		if bytes.Equal(k.Marshal(), want) {
			return &ssh.Permissions{}, nil
		}
		data = rest
	}

	return nil, errors.New("key not in /root/.ssh/authorized_keys")
}

// accept takes connections until the listener closes.
func (s *SSHServer) accept() {
	defer s.wg.Done()

	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !s.isClosed() {
				s.logger.Debug("ssh accept stopped", "err", err)
			}
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// track records an open connection so Close can end it; false once closed.
func (s *SSHServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}

	return true
}

// isClosed reports whether Close has begun.
func (s *SSHServer) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.closed
}

// serveConn runs the handshake and then the connection's channels.
func (s *SSHServer) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()

	c.SetDeadline(time.Now().Add(handshakeTimeout))
	conn, chans, reqs, err := ssh.NewServerConn(c, s.config)
	if err != nil {
		s.logger.Debug("ssh handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	c.SetDeadline(time.Time{})
	defer conn.Close()
	s.logger.Debug("ssh login", "remote", c.RemoteAddr().String(), "user", conn.User())

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for req := range reqs {
			// OpenSSH answers keepalive@openssh.com (and every other global request it
			// does not know) with a failure; a reply of either kind proves liveness.
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}()

	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			s.logger.Debug("ssh channel accept failed", "err", err)
			continue
		}
		s.wg.Add(1)
		s.active.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.active.Add(-1)
			s.serveSession(ch, chReqs)
		}()
	}
}

// Close stops accepting, ends every connection and session, and waits for all goroutines.
func (s *SSHServer) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]net.Conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()

		s.cancel()
		err := s.ln.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		for _, c := range conns {
			c.Close()
		}
		s.wg.Wait()
		if err != nil {
			s.err = fmt.Errorf("closing ssh server: %w", err)
		}
	})

	return s.err
}

// Active returns the number of open sessions, for the simulator's idle timer.
func (s *SSHServer) Active() int {
	return int(s.active.Load())
}
