package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// AuthorizedKey returns the authorized_keys line(s) for the keys pixels offers, one per
// line, so provisioning can install them in a container. It may create pixels' own key.
func (c *Client) AuthorizedKey() (string, error) {
	signers, err := c.keys()
	if err != nil {
		return "", err
	}

	var b strings.Builder
	for _, s := range signers {
		b.Write(gossh.MarshalAuthorizedKey(s.PublicKey())) // ends in "\n"
	}

	return b.String(), nil
}

// keys resolves, once, the signers to offer: the configured key; else the agent's keys;
// else ~/.ssh/id_ed25519; else pixels' own key, made on first need.
func (c *Client) keys() ([]gossh.Signer, error) {
	c.authMu.Lock()
	defer c.authMu.Unlock()

	if c.signers != nil {
		return c.signers, nil
	}

	signers, err := c.resolveKeys()
	if err != nil {
		return nil, err
	}

	c.signers = signers
	return signers, nil
}

func (c *Client) resolveKeys() ([]gossh.Signer, error) {
	if c.opts.KeyPath != "" {
		s, err := c.loadKey(c.opts.KeyPath)
		if err != nil {
			return nil, err
		}
		return []gossh.Signer{s}, nil
	}

	if signers := c.agentKeys(); len(signers) > 0 {
		return signers, nil
	}

	if home, err := os.UserHomeDir(); err == nil {
		def := filepath.Join(home, ".ssh", "id_ed25519")
		if _, err := os.Stat(def); err == nil {
			s, err := c.loadKey(def)
			if err == nil {
				return []gossh.Signer{s}, nil
			}
			c.log.Debug("skipping default ssh key", "path", def, "err", err)
		}
	}

	s, err := c.ownKey()
	if err != nil {
		return nil, err
	}
	return []gossh.Signer{s}, nil
}

// loadKey reads a private key, asking for a passphrase when it is encrypted.
func (c *Client) loadKey(path string) (gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading ssh key: %w", err)
	}

	s, err := gossh.ParsePrivateKey(data)
	var missing *gossh.PassphraseMissingError
	if errors.As(err, &missing) {
		if c.opts.Passphrase == nil {
			return nil, fmt.Errorf("reading ssh key %s: key is encrypted and no passphrase "+
				"can be asked for (add it to ssh-agent or use an unencrypted key)", path)
		}

		pass, perr := c.opts.Passphrase("passphrase for " + path + ": ")
		if perr != nil {
			return nil, fmt.Errorf("reading ssh key %s: %w", path, perr)
		}
		s, err = gossh.ParsePrivateKeyWithPassphrase(data, pass)
	}
	if err != nil {
		return nil, fmt.Errorf("reading ssh key %s: %w", path, err)
	}

	return s, nil
}

// agentKeys returns the agent's signers, or nil when there is no usable agent.
func (c *Client) agentKeys() []gossh.Signer {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil
	}

	conn, err := net.Dial("unix", sock)
	if err != nil {
		c.log.Debug("ssh agent unreachable", "err", err)
		return nil
	}

	signers, err := agent.NewClient(conn).Signers()
	if err != nil || len(signers) == 0 {
		c.log.Debug("ssh agent has no usable keys", "err", err)
		conn.Close()
		return nil
	}

	c.agent = conn
	return signers
}

// ownKey loads DataDir/id_ed25519, creating it (and its .pub) when it does not exist.
func (c *Client) ownKey() (gossh.Signer, error) {
	if c.opts.DataDir == "" {
		return nil, errors.New("creating ssh key: no data directory")
	}
	path := filepath.Join(c.opts.DataDir, "id_ed25519")

	s, err := c.loadKey(path)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}

	s, err = createKey(path)
	if err != nil {
		return nil, err
	}
	c.notice("created SSH key " + path + " (no configured key or agent key was found)")

	return s, nil
}

// createKey writes a new ed25519 key pair at path and path.pub, the private half 0600.
func createKey(path string) (gossh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("creating ssh key: %w", err)
	}

	block, err := gossh.MarshalPrivateKey(priv, "pixels")
	if err != nil {
		return nil, fmt.Errorf("creating ssh key: %w", err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("creating ssh key: %w", err)
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating ssh key: %w", err)
	}
	// Write a temporary file, then link it into place: the link fails if another pixels
	// process made the key meanwhile, and then theirs is used, so both agree on one key.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".id_ed25519-*")
	if err != nil {
		return nil, fmt.Errorf("creating ssh key: %w", err)
	}
	defer os.Remove(tmp.Name())

	if err := pem.Encode(tmp, block); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("creating ssh key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("creating ssh key: %w", err)
	}

	err = os.Link(tmp.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		data, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, fmt.Errorf("reading ssh key: %w", rerr)
		}
		return gossh.ParsePrivateKey(data)
	}
	if err != nil {
		return nil, fmt.Errorf("creating ssh key: %w", err)
	}

	pub := gossh.MarshalAuthorizedKey(signer.PublicKey())
	if err := os.WriteFile(path+".pub", pub, 0o644); err != nil {
		return nil, fmt.Errorf("creating ssh key: %w", err)
	}

	return signer, nil
}
