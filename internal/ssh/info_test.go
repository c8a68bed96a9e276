package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// writeKey writes an unencrypted ed25519 private key to path.
func writeKey(t *testing.T, path string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(pem.EncodeToMemory(block)))
}

func TestIdentityFile(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares the client's options and returns the path IdentityFile should give.
		setup func(t *testing.T, o *Options) string
	}{
		{"configured key", func(t *testing.T, o *Options) string {
			p := filepath.Join(t.TempDir(), "mine")
			writeKey(t, p)
			o.KeyPath = p
			return p
		}},
		{"default key in ~/.ssh", func(t *testing.T, o *Options) string {
			p := filepath.Join(os.Getenv("HOME"), ".ssh", "id_ed25519")
			writeKey(t, p)
			return p
		}},
		{"pixels' own key", func(t *testing.T, o *Options) string {
			return filepath.Join(o.DataDir, "id_ed25519")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want string
			c := newTestClient(t, func(o *Options) { want = tt.setup(t, o) })
			got, err := c.IdentityFile()
			if err != nil || got != want {
				t.Errorf("IdentityFile = %q, %v; want %q", got, err, want)
			}
			if _, err := os.Stat(got); err != nil {
				t.Errorf("the identity file does not exist: %v", err)
			}
		})
	}
}

func TestTrustRecordsHostKey(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)
	if err := c.Trust(context.Background(), srv.addr); err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(srv.hostKey.PublicKey())))
	if got := readFile(t, c.KnownHostsPath()); !strings.Contains(got, want) {
		t.Errorf("known_hosts %q lacks the server's key %q", got, want)
	}
	if c.User() != "root" {
		t.Errorf("User = %q, want the default root", c.User())
	}
}
