package ssh

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
)

// User is the remote user the Client logs in as.
func (c *Client) User() string { return c.opts.User }

// KnownHostsPath is the known_hosts file the Client trusts and records host keys in.
func (c *Client) KnownHostsPath() string { return c.opts.KnownHostsPath }

// IdentityFile returns the private key file the Client authenticates with, so another SSH
// program can use the same key: the configured key, ~/.ssh/id_ed25519, or pixels' own key
// (which this may create). It returns "" when the keys come from the agent (SSH_AUTH_SOCK),
// which other programs reach on their own.
func (c *Client) IdentityFile() (string, error) {
	signers, err := c.keys()
	if err != nil {
		return "", fmt.Errorf("finding the ssh key: %w", err)
	}
	if c.opts.KeyPath != "" {
		return c.opts.KeyPath, nil
	}

	c.authMu.Lock()
	fromAgent := c.agent != nil
	c.authMu.Unlock()
	if fromAgent {
		return "", nil
	}

	own := filepath.Join(c.opts.DataDir, "id_ed25519")
	if sameKey(own+".pub", signers[0].PublicKey()) {
		return own, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the ssh key: %w", err)
	}

	return filepath.Join(home, ".ssh", "id_ed25519"), nil
}

// sameKey reports whether the authorized_keys-format file pub holds key.
func sameKey(pub string, key gossh.PublicKey) bool {
	data, err := os.ReadFile(pub)
	if err != nil {
		return false
	}
	k, _, _, _, err := gossh.ParseAuthorizedKey(data)
	return err == nil && bytes.Equal(k.Marshal(), key.Marshal())
}

// Trust connects to addr (or reuses the cached connection), so its host key is checked
// and, on first use, recorded in KnownHostsPath: afterwards OpenSSH with
// StrictHostKeyChecking=yes and that file accepts the host. A changed key fails with
// ErrHostKeyMismatch.
func (c *Client) Trust(ctx context.Context, addr string) error {
	if _, _, err := c.conn(ctx, addr); err != nil {
		return fmt.Errorf("checking host key of %s: %w", addr, err)
	}
	return nil
}
