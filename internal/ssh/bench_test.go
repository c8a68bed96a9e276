package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// execsPerOp is the size of the recipe the benchmark models: 50 commands in a row.
const execsPerOp = 50

// BenchmarkExec compares a recipe's 50 execs over one reused connection with 50 fresh
// connections (a new Client each, as 50 separate ssh processes would have), and reports how
// many times faster reuse is as reuse-speedup (on the fresh line). Nothing is asserted:
// the numbers are shown.
func BenchmarkExec(b *testing.B) {
	addr := benchServer(b)
	b.Setenv("SSH_AUTH_SOCK", "")
	b.Setenv("HOME", b.TempDir())
	dataDir := b.TempDir()
	newClient := func() *Client {
		c, err := New(Options{DataDir: dataDir, DialTimeout: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	// One exec up front creates the key and records the host key, outside the timings.
	warm := newClient()
	benchExec(b, warm, addr)
	warm.Close()

	var reused, fresh time.Duration
	b.Run("reused", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			c := newClient()
			for range execsPerOp {
				benchExec(b, c, addr)
			}
			c.Close()
		}
		reused = time.Since(start) / time.Duration(b.N)
	})
	b.Run("fresh", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			for range execsPerOp {
				c := newClient()
				benchExec(b, c, addr)
				c.Close()
			}
		}
		fresh = time.Since(start) / time.Duration(b.N)
		if reused > 0 {
			b.ReportMetric(float64(fresh)/float64(reused), "reuse-speedup")
		}
	})
}

func benchExec(b *testing.B, c *Client, addr string) {
	code, err := c.Exec(context.Background(), addr, ExecRequest{Argv: []string{"true"}})
	if code != 0 || err != nil {
		b.Fatalf("Exec = %d, %v", code, err)
	}
}

// benchServer is an SSH server on 127.0.0.1 that accepts any key and answers every exec
// with exit status 0 at once, so the benchmark measures the client and the protocol.
func benchServer(b *testing.B) string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	hostKey, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &gossh.ServerConfig{PublicKeyCallback: func(gossh.ConnMetadata,
		gossh.PublicKey) (*gossh.Permissions, error) {
		return nil, nil
	}}
	cfg.AddHostKey(hostKey)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	b.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { benchConn(nc, cfg) })
		}
	})

	return ln.Addr().String()
}

func benchConn(nc net.Conn, cfg *gossh.ServerConfig) {
	defer nc.Close()
	sc, chans, reqs, err := gossh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go gossh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(gossh.UnknownChannelType, "sessions only")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go func() {
			for req := range creqs {
				req.Reply(req.Type == "exec", nil)
				if req.Type == "exec" {
					ch.CloseWrite()
					status := make([]byte, 4)
					binary.BigEndian.PutUint32(status, 0)
					ch.SendRequest("exit-status", false, status)
					ch.Close()
				}
			}
		}()
	}
}
