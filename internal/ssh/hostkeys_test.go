package ssh

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestKnownHostsFirstUseMatchMismatchForget(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)
	ctx := context.Background()
	path := filepath.Join(c.opts.DataDir, "known_hosts")
	true_ := ExecRequest{Argv: []string{"true"}}

	// First use: trusted and recorded as [127.0.0.1]:port.
	if code, err := c.Exec(ctx, srv.addr, true_); code != 0 || err != nil {
		t.Fatalf("first Exec = %d, %v", code, err)
	}
	want := knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, srv.hostKey.PublicKey()) + "\n"
	if got := readFile(t, path); got != want {
		t.Fatalf("known_hosts after first use:\n%s\nwant:\n%s", got, want)
	}
	if !strings.HasPrefix(want, "[127.0.0.1]:") {
		t.Errorf("line %q does not name [host]:port", want)
	}

	// Match: a second client (new connection) accepts it and adds nothing.
	c2 := newTestClient(t, func(o *Options) { o.KnownHostsPath = path })
	if code, err := c2.Exec(ctx, srv.addr, true_); code != 0 || err != nil {
		t.Fatalf("Exec with a known key = %d, %v", code, err)
	}
	if got := readFile(t, path); got != want {
		t.Errorf("known_hosts changed on a match:\n%s", got)
	}

	// Mismatch: the same address now presents another key.
	impostor := newSigner(t)
	bad := knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, impostor.PublicKey()) + "\n"
	writeFile(t, path, "# mine\n"+bad)
	c3 := newTestClient(t, func(o *Options) { o.KnownHostsPath = path })
	code, err := c3.Exec(ctx, srv.addr, true_)
	if code != 255 || !errors.Is(err, ErrHostKeyMismatch) {
		t.Fatalf("Exec on a changed key = %d, %v; want 255, ErrHostKeyMismatch", code, err)
	}
	for _, part := range []string{srv.addr, "line 2", "forget"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("mismatch error %q does not mention %q", err, part)
		}
	}

	// Forget, then the new key is trusted on first use again; the comment stays.
	if err := c3.Forget(srv.addr); err != nil {
		t.Fatal(err)
	}
	if code, err := c3.Exec(ctx, srv.addr, true_); code != 0 || err != nil {
		t.Fatalf("Exec after Forget = %d, %v", code, err)
	}
	if got := readFile(t, path); got != "# mine\n"+want {
		t.Errorf("known_hosts after Forget and reconnect:\n%s", got)
	}
}

// TestForgetB11 checks that Forget removes exactly the lines naming the endpoint as pixels
// writes it, and a host alias when asked, keeping other hosts and comments.
func TestForgetB11(t *testing.T) {
	keys := make([]string, 5)
	for i := range keys {
		keys[i] = strings.TrimSpace(string(gossh.MarshalAuthorizedKey(newSigner(t).PublicKey())))
	}
	content := "[127.0.2.10]:2222 " + keys[1] + "\n" +
		"127.0.2.10 " + keys[2] + "\n" +
		"127.0.2.100 " + keys[3] + "\n" +
		"px-foo,127.0.2.10 " + keys[4] + "\n" +
		"# comment line\n"

	tests := []struct {
		name   string
		forget []string
		want   string
	}{
		{
			name:   "endpoint and alias",
			forget: []string{"127.0.2.10:2222", "px-foo"},
			want: "127.0.2.10 " + keys[2] + "\n" + "127.0.2.100 " + keys[3] + "\n" +
				"# comment line\n",
		},
		{
			name:   "port 22 is the bare address",
			forget: []string{"127.0.2.10:22"},
			want: "[127.0.2.10]:2222 " + keys[1] + "\n" + "127.0.2.100 " + keys[3] + "\n" +
				"# comment line\n",
		},
		{
			name:   "unknown endpoint changes nothing",
			forget: []string{"127.0.2.1:2222"},
			want:   content,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t)
			path := filepath.Join(c.opts.DataDir, "known_hosts")
			writeFile(t, path, content)

			for _, addr := range tt.forget {
				if err := c.Forget(addr); err != nil {
					t.Fatal(err)
				}
			}
			if got := readFile(t, path); got != tt.want {
				t.Errorf("known_hosts:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestForgetMissingFile(t *testing.T) {
	c := newTestClient(t)
	if err := c.Forget("127.0.0.1:2222"); err != nil {
		t.Errorf("Forget without a known_hosts file: %v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestKnownKeyTypeIsAskedFor checks that a server with several host keys is asked for the
// type pixels trusts; otherwise it may present another type, which would read as a mismatch.
func TestKnownKeyTypeIsAskedFor(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecdsaKey, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	edKey := newSigner(t)

	srv := newTestServerWithKey(t, edKey, ecdsaKey)
	c := newTestClient(t)
	path := filepath.Join(c.opts.DataDir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, edKey.PublicKey()) + "\n"
	writeFile(t, path, line)

	code, err := c.Exec(context.Background(), srv.addr, ExecRequest{Argv: []string{"true"}})
	if code != 0 || err != nil {
		t.Fatalf("Exec = %d, %v", code, err)
	}
	if got := readFile(t, path); got != line {
		t.Errorf("known_hosts changed:\n%s", got)
	}
}
