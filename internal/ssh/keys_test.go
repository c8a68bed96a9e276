package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func TestOwnKeyCreatedOnce(t *testing.T) {
	var notices []string
	c := newTestClient(t, func(o *Options) {
		o.Notice = func(s string) { notices = append(notices, s) }
	})
	keyPath := filepath.Join(c.opts.DataDir, "id_ed25519")

	ak, err := c.AuthorizedKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ak, "ssh-ed25519 ") || strings.Count(ak, "\n") != 1 {
		t.Errorf("AuthorizedKey = %q", ak)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "created SSH key "+keyPath) {
		t.Errorf("notices = %q", notices)
	}

	info, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key mode %04o, want 0600", info.Mode().Perm())
	}
	if pub := readFile(t, keyPath+".pub"); pub != ak {
		t.Errorf(".pub = %q, want %q", pub, ak)
	}

	// The server accepts exactly that key.
	srv := newTestServer(t)
	srv.authorize(ak)
	code, err := c.Exec(context.Background(), srv.addr, ExecRequest{Argv: []string{"true"}})
	if code != 0 || err != nil {
		t.Errorf("Exec with pixels' own key = %d, %v", code, err)
	}

	// A second client on the same data dir reuses the key silently.
	notices = nil
	c2 := newTestClient(t, func(o *Options) { o.DataDir = c.opts.DataDir })
	ak2, err := c2.AuthorizedKey()
	if err != nil || ak2 != ak {
		t.Errorf("second AuthorizedKey = %q, %v; want %q", ak2, err, ak)
	}
	if len(notices) != 0 {
		t.Errorf("notices on reuse: %q", notices)
	}
}

func TestConfiguredKey(t *testing.T) {
	dir := t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := gossh.NewSignerFromKey(priv)
	want := string(gossh.MarshalAuthorizedKey(signer.PublicKey()))

	plain := filepath.Join(dir, "plain")
	block, _ := gossh.MarshalPrivateKey(priv, "")
	writeFile(t, plain, string(pem.EncodeToMemory(block)))

	enc := filepath.Join(dir, "encrypted")
	block, _ = gossh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("hunter2"))
	writeFile(t, enc, string(pem.EncodeToMemory(block)))

	ask := func(pass string) func(string) ([]byte, error) {
		return func(string) ([]byte, error) { return []byte(pass), nil }
	}

	tests := []struct {
		name       string
		path       string
		passphrase func(string) ([]byte, error)
		errPart    string // "" = success
	}{
		{"plain key", plain, nil, ""},
		{"encrypted, no way to ask", enc, nil, "encrypted"},
		{"encrypted, right passphrase", enc, ask("hunter2"), ""},
		{"encrypted, wrong passphrase", enc, ask("nope"), "reading ssh key"},
		{"missing file", filepath.Join(dir, "absent"), nil, "reading ssh key"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, func(o *Options) {
				o.KeyPath = tt.path
				o.Passphrase = tt.passphrase
			})

			got, err := c.AuthorizedKey()
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Errorf("err = %v, want one mentioning %q", err, tt.errPart)
				}
				return
			}
			if err != nil || got != want {
				t.Errorf("AuthorizedKey = %q, %v; want %q", got, err, want)
			}
			if _, err := os.Stat(filepath.Join(c.opts.DataDir, "id_ed25519")); err == nil {
				t.Error("pixels made its own key although one was configured")
			}
		})
	}
}

func TestAgentKeys(t *testing.T) {
	// Our own agent on our own socket, in a short temporary directory.
	dir, err := os.MkdirTemp("", "pxag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")

	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	keyring := agent.NewKeyring()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go agent.ServeAgent(keyring, nc)
		}
	}()

	c := newTestClient(t)
	t.Setenv("SSH_AUTH_SOCK", sock)

	ak, err := c.AuthorizedKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := gossh.NewSignerFromKey(priv)
	if want := string(gossh.MarshalAuthorizedKey(signer.PublicKey())); ak != want {
		t.Errorf("AuthorizedKey = %q, want the agent's %q", ak, want)
	}

	srv := newTestServer(t)
	srv.authorize(ak)
	code, err := c.Exec(context.Background(), srv.addr, ExecRequest{Argv: []string{"true"}})
	if code != 0 || err != nil {
		t.Errorf("Exec with the agent key = %d, %v", code, err)
	}
}

func TestWaitReady(t *testing.T) {
	t.Run("ready once the key is authorized", func(t *testing.T) {
		srv := newTestServer(t)
		srv.authorize("") // provisioning has not installed the key yet
		c := newTestClient(t)

		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			done <- c.WaitReady(ctx, srv.addr, 10*time.Millisecond)
		}()

		poll(t, "a few refused attempts", func() bool {
			return srv.handshakes.Load() == 0 && srv.authFailures.Load() >= 2
		})
		ak, err := c.AuthorizedKey()
		if err != nil {
			t.Fatal(err)
		}
		srv.authorize(ak)

		if err := <-done; err != nil {
			t.Errorf("WaitReady = %v", err)
		}
	})

	t.Run("a key refused for the whole grace ends the wait", func(t *testing.T) {
		srv := newTestServer(t)
		srv.authorize("")
		c := newTestClient(t)
		c.authGrace = 50 * time.Millisecond // what Options.AuthGrace sets

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := c.WaitReady(ctx, srv.addr, 10*time.Millisecond)
		if !errors.Is(err, ErrAuth) || ctx.Err() != nil || srv.authFailures.Load() < 2 {
			t.Errorf("WaitReady = %v (ctx %v, %d refusals)", err, ctx.Err(),
				srv.authFailures.Load())
		}
	})

	t.Run("deadline names the last failure", func(t *testing.T) {
		c := newTestClient(t)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()

		err := c.WaitReady(ctx, closedPort(t), 10*time.Millisecond)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "last attempt") ||
			!strings.Contains(err.Error(), "connection refused") {
			t.Errorf("WaitReady = %v", err)
		}
	})

	t.Run("host key mismatch stops at once", func(t *testing.T) {
		srv := newTestServer(t)
		c := newTestClient(t)
		path := filepath.Join(c.opts.DataDir, "known_hosts")
		writeFile(t, path, "["+strings.Replace(srv.addr, ":", "]:", 1)+" "+
			string(gossh.MarshalAuthorizedKey(newSigner(t).PublicKey())))

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := c.WaitReady(ctx, srv.addr, 10*time.Millisecond)
		if !errors.Is(err, ErrHostKeyMismatch) || ctx.Err() != nil {
			t.Errorf("WaitReady = %v (ctx %v)", err, ctx.Err())
		}
	})
}

func TestOwnKeyConcurrentClientsAgree(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()

	const n = 8
	keys := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := New(Options{DataDir: dir})
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			keys[i], errs[i] = c.AuthorizedKey()
		})
	}
	wg.Wait()

	for i := range n {
		if errs[i] != nil {
			t.Fatalf("client %d: %v", i, errs[i])
		}
		if keys[i] != keys[0] {
			t.Errorf("client %d got key %q, client 0 got %q", i, keys[i], keys[0])
		}
	}
}
