package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// conn is one cached SSH connection with its keepalive loop.
type conn struct {
	client *gossh.Client
	done   chan struct{}
	once   sync.Once
}

func (cn *conn) close() {
	cn.once.Do(func() {
		close(cn.done)
		cn.client.Close()
	})
}

// session opens a session on the cached connection to addr, dialling when there is none.
// A cached connection that turns out to be broken is dropped and redialled once.
func (c *Client) session(ctx context.Context, addr string) (*gossh.Session, error) {
	cn, cached, err := c.conn(ctx, addr)
	if err != nil {
		return nil, err
	}

	sess, err := cn.client.NewSession()
	if err == nil {
		return sess, nil
	}
	c.drop(addr, cn)
	if !cached {
		return nil, fmt.Errorf("opening session on %s: %w", addr, err)
	}

	c.log.Debug("cached ssh connection broken, redialling", "addr", addr, "err", err)
	if cn, _, err = c.conn(ctx, addr); err != nil {
		return nil, err
	}
	sess, err = cn.client.NewSession()
	if err != nil {
		c.drop(addr, cn)
		return nil, fmt.Errorf("opening session on %s: %w", addr, err)
	}

	return sess, nil
}

// conn returns the cached connection to addr, or dials one. cached says which it was.
func (c *Client) conn(ctx context.Context, addr string) (*conn, bool, error) {
	c.connMu.Lock()
	if c.closed {
		c.connMu.Unlock()
		return nil, false, errors.New("connecting: ssh client is closed")
	}
	if cn := c.conns[addr]; cn != nil {
		c.connMu.Unlock()
		return cn, true, nil
	}
	c.connMu.Unlock()

	client, err := c.dial(ctx, addr)
	if err != nil {
		return nil, false, err
	}

	cn := &conn{client: client, done: make(chan struct{})}

	c.connMu.Lock()
	if other := c.conns[addr]; other != nil || c.closed {
		// Another goroutine connected first (or we were closed): keep one connection.
		c.connMu.Unlock()
		cn.close()
		if other == nil {
			return nil, false, errors.New("connecting: ssh client is closed")
		}
		return other, true, nil
	}
	c.conns[addr] = cn
	c.connMu.Unlock()

	go c.probe(addr, cn)
	return cn, false, nil
}

// drop forgets cn if it is still the cached connection for addr, and closes it.
func (c *Client) drop(addr string, cn *conn) {
	c.connMu.Lock()
	if c.conns[addr] == cn {
		delete(c.conns, addr)
	}
	c.connMu.Unlock()
	cn.close()
}

// dial makes one TCP connection and SSH handshake to addr, bounded by DialTimeout and ctx.
func (c *Client) dial(ctx context.Context, addr string) (*gossh.Client, error) {
	signers, err := c.keys()
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}

	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()

	var d net.Dialer
	tcp, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}

	// The handshake has no context of its own: a deadline bounds it, and a cancel closes
	// the socket under it.
	if dl, ok := ctx.Deadline(); ok {
		tcp.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	defer stop()

	cfg := &gossh.ClientConfig{
		User:            c.opts.User,
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signers...)},
		HostKeyCallback: c.hosts.callback(addr),
		Timeout:         c.opts.DialTimeout,
	}
	cfg.HostKeyAlgorithms = c.hosts.algorithms(addr)

	sc, chans, reqs, err := gossh.NewClientConn(tcp, addr, cfg)
	if err != nil {
		tcp.Close()
		if ctx.Err() != nil && !errors.Is(err, ErrHostKeyMismatch) {
			return nil, fmt.Errorf("connecting to %s: %w", addr, ctx.Err())
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("connecting to %s as %s: %w: %w (the container does not "+
				"accept pixels' key; is it in the user's authorized_keys?)", addr, c.opts.User,
				ErrAuth, err)
		}
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	if !stop() {
		sc.Close()
		return nil, fmt.Errorf("connecting to %s: %w", addr, ctx.Err())
	}
	tcp.SetDeadline(time.Time{})

	c.log.Debug("ssh connected", "addr", addr, "user", c.opts.User)
	return gossh.NewClient(sc, chans, reqs), nil
}

// probe checks the connection every c.keepalive; a peer that does not answer in
// time is dead, and its connection is dropped so the next call redials.
func (c *Client) probe(addr string, cn *conn) {
	t := time.NewTicker(c.keepalive)
	defer t.Stop()

	for {
		select {
		case <-cn.done:
			return
		case <-t.C:
		}

		answered := make(chan error, 1)
		go func() {
			_, _, err := cn.client.SendRequest("keepalive@openssh.com", true, nil)
			answered <- err
		}()

		select {
		case <-cn.done:
			return
		case err := <-answered:
			if err == nil {
				continue
			}
			c.log.Debug("ssh keepalive failed", "addr", addr, "err", err)
		case <-time.After(c.keepalive):
			c.log.Debug("ssh keepalive unanswered", "addr", addr)
		}

		c.drop(addr, cn)
		return
	}
}
