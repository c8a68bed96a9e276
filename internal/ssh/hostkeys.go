package ssh

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// knownHosts is pixels' own known_hosts file. Entries are written with knownhosts.Line, so
// a port other than 22 is stored as "[host]:port" and looked up, written and removed under
// that one name.
type knownHosts struct {
	path string
	mu   sync.Mutex // serialises this process's reads and rewrites
}

// callback returns the host key check for one connection to addr: a known key must match;
// an unknown host is trusted on first use and recorded.
func (k *knownHosts) callback(addr string) gossh.HostKeyCallback {
	return func(_ string, remote net.Addr, key gossh.PublicKey) error {
		k.mu.Lock()
		defer k.mu.Unlock()

		check, err := k.load()
		if err != nil {
			return err
		}

		// The name is the address we dialled, not the resolved one, so a line matches
		// exactly what Forget removes.
		err = check(addr, remote, key)
		var kerr *knownhosts.KeyError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &kerr) && len(kerr.Want) == 0:
			return k.add(addr, key)
		case errors.As(err, &kerr):
			return fmt.Errorf("checking host key of %s: %w: it offered %s %s, but %s trusts "+
				"another key for it (line %d); if the container was rebuilt, forget the old "+
				"key (pixels destroy does, or remove that line), else someone may be "+
				"intercepting the connection", addr, ErrHostKeyMismatch, key.Type(),
				gossh.FingerprintSHA256(key), k.path, kerr.Want[0].Line)
		default:
			return fmt.Errorf("checking host key of %s: %w", addr, err)
		}
	}
}

// load parses the file; a missing file knows no hosts.
func (k *knownHosts) load() (gossh.HostKeyCallback, error) {
	if _, err := os.Stat(k.path); errors.Is(err, fs.ErrNotExist) {
		return func(string, net.Addr, gossh.PublicKey) error {
			return &knownhosts.KeyError{}
		}, nil
	}

	check, err := knownhosts.New(k.path)
	if err != nil {
		return nil, fmt.Errorf("reading known hosts: %w", err)
	}
	return check, nil
}

// add appends a line for addr.
func (k *knownHosts) add(addr string, key gossh.PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return fmt.Errorf("recording host key of %s: %w", addr, err)
	}

	f, err := os.OpenFile(k.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("recording host key of %s: %w", addr, err)
	}

	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("recording host key of %s: %w", addr, err)
	}

	if err := f.Close(); err != nil {
		return fmt.Errorf("recording host key of %s: %w", addr, err)
	}
	return nil
}

// forget rewrites the file without the lines whose host patterns name addr exactly, in the
// normalized form pixels writes. Other hosts' lines, comments and blank lines stay.
func (k *knownHosts) forget(addr string) error {
	k.mu.Lock()
	defer k.mu.Unlock()

	data, err := os.ReadFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("forgetting host key of %s: %w", addr, err)
	}

	name := knownhosts.Normalize(addr)
	var out bytes.Buffer
	removed := false
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if line == "" {
			continue
		}
		if namesHost(line, name) {
			removed = true
			continue
		}
		out.WriteString(line)
	}

	if !removed {
		return nil
	}

	tmp, err := os.CreateTemp(filepath.Dir(k.path), ".known_hosts-*")
	if err != nil {
		return fmt.Errorf("forgetting host key of %s: %w", addr, err)
	}
	defer os.Remove(tmp.Name())

	if _, err := tmp.Write(out.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("forgetting host key of %s: %w", addr, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("forgetting host key of %s: %w", addr, err)
	}
	if err := os.Rename(tmp.Name(), k.path); err != nil {
		return fmt.Errorf("forgetting host key of %s: %w", addr, err)
	}

	return nil
}

// namesHost reports whether a known_hosts line lists name among its host patterns.
// Comments, markers' lines for other hosts and hashed entries never match.
func namesHost(line, name string) bool {
	fields := strings.Fields(line)
	if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
		return false
	}
	if strings.HasPrefix(fields[0], "@") {
		fields = fields[1:]
		if len(fields) == 0 {
			return false
		}
	}

	for _, pattern := range strings.Split(fields[0], ",") {
		if pattern == name {
			return true
		}
	}
	return false
}

// algorithms returns the host key algorithms to ask addr for: those of the keys already
// trusted for it, so a server holding several host keys presents the one pixels knows
// instead of a different type that would read as a mismatch. nil = no entry, any type.
func (k *knownHosts) algorithms(addr string) []string {
	k.mu.Lock()
	data, err := os.ReadFile(k.path)
	k.mu.Unlock()
	if err != nil {
		return nil
	}

	name := knownhosts.Normalize(addr)
	var algos []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasPrefix(fields[0], "@") || !namesHost(line, name) {
			continue
		}
		switch fields[1] {
		case gossh.KeyAlgoRSA:
			algos = append(algos, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSA)
		default:
			algos = append(algos, fields[1])
		}
	}

	return algos
}
