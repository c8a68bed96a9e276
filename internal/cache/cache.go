// Package cache remembers what pixels last learnt about each container (its IP, status and
// SSH port) so exec and console can skip an API round trip. It is an optimisation only: the
// server stays the truth, a damaged file is ignored with a warning, and a failed write is an
// error the caller may ignore.
//
// The file is dir/cache.json. Every read re-reads it; every write is a read-modify-write under
// an exclusive flock on dir/cache.lock, finished by renaming a temporary file into place, so
// concurrent pixels processes neither lose each other's entries nor leave half a file.
package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Entry is what the cache knows about one container, by its bare name.
type Entry struct {
	Name      string    `json:"name"`
	IPv4      string    `json:"ipv4"`
	Status    string    `json:"status"`
	SSHPort   int       `json:"ssh_port,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// file is the on-disk shape: entries keyed by name, with a version for later changes.
type file struct {
	Version    int              `json:"version"`
	Containers map[string]Entry `json:"containers"`
	// Checkpoints are the labels last seen per container, for shell completion.
	Checkpoints map[string][]string `json:"checkpoints,omitempty"`
	// Creating are the creates begun on this machine and not yet ended, by token.
	Creating map[string]Create `json:"creating,omitempty"`
}

// Create is a create in progress: which container, on which TrueNAS, by which process, and
// when it began. Its key is a token only its own process knows.
type Create struct {
	Name    string    `json:"name"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// Cache reads and writes one cache file. It is safe for concurrent use.
type Cache struct {
	dir  string
	warn func(string)

	mu     sync.Mutex // serialises writers in this process; flock covers other processes
	warned bool
}

// Open returns the cache kept in dir. Nothing is touched until the first call; the directory
// is created on the first write. warn, if not nil, is told once when the file is unreadable.
func Open(dir string, warn func(string)) *Cache {
	return &Cache{dir: dir, warn: warn}
}

// Get returns the entry for name, if the cache holds one.
func (c *Cache) Get(name string) (Entry, bool) {
	e, ok := c.read().Containers[name]
	return e, ok
}

// All returns every entry, sorted by name.
func (c *Cache) All() []Entry {
	f := c.read()

	out := make([]Entry, 0, len(f.Containers))
	for _, e := range f.Containers {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })

	return out
}

// Put stores e, replacing any entry of the same name. An entry without a name or without an
// IPv4 is refused: an address-less entry would only send a later exec nowhere. A zero
// UpdatedAt is set to now.
func (c *Cache) Put(e Entry) error {
	if e.Name == "" {
		return errors.New("caching container: entry has no name")
	}
	if e.IPv4 == "" {
		return fmt.Errorf("caching container %q: entry has no IPv4 address", e.Name)
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = time.Now().UTC()
	}

	return c.update(func(f *file) { f.Containers[e.Name] = e })
}

// Delete removes the entry for name. Deleting an absent name is not an error.
func (c *Cache) Delete(name string) error {
	return c.update(func(f *file) { delete(f.Containers, name) })
}

// Checkpoints returns the checkpoint labels last recorded for name.
func (c *Cache) Checkpoints(name string) []string {
	return c.read().Checkpoints[name]
}

// PutCheckpoints records name's checkpoint labels; nil forgets them (the container is gone).
func (c *Cache) PutCheckpoints(name string, labels []string) error {
	return c.update(func(f *file) {
		if f.Checkpoints == nil {
			f.Checkpoints = map[string][]string{}
		}
		if labels == nil {
			delete(f.Checkpoints, name)
			return
		}
		f.Checkpoints[name] = labels
	})
}

// BeginCreate records that this process has begun to create container name on host, under
// token. A create that ends, whatever the outcome, calls EndCreate; one that never does (the
// process was killed) stays listed by Creating, so a half-made container can be found later.
// Each create has its own record, so runs racing for one name do not erase each other's.
func (c *Cache) BeginCreate(name, host, token string) error {
	return c.update(func(f *file) {
		if f.Creating == nil {
			f.Creating = map[string]Create{}
		}
		f.Creating[token] = Create{Name: name, Host: host, PID: os.Getpid(),
			Started: time.Now().UTC()}
	})
}

// EndCreate removes the record of the create holding token.
func (c *Cache) EndCreate(token string) error {
	return c.update(func(f *file) { delete(f.Creating, token) })
}

// EndCreates removes every record of creates of name on host: the container was destroyed.
func (c *Cache) EndCreates(name, host string) error {
	return c.update(func(f *file) {
		for token, cr := range f.Creating {
			if cr.Name == name && cr.Host == host {
				delete(f.Creating, token)
			}
		}
	})
}

// Creating returns the creates begun and not ended, by token.
func (c *Cache) Creating() map[string]Create {
	return c.read().Creating
}

func (c *Cache) path() string { return filepath.Join(c.dir, "cache.json") }

// read loads the file. A missing file is empty; a damaged one is empty and warned about once.
func (c *Cache) read() *file {
	f := &file{Version: 1, Containers: map[string]Entry{}}

	data, err := os.ReadFile(c.path())
	if errors.Is(err, fs.ErrNotExist) {
		return f
	}
	if err == nil {
		err = json.Unmarshal(data, f)
	}
	if err != nil {
		c.warnOnce(fmt.Sprintf("ignoring cache %s: %v", c.path(), err))
		return &file{Version: 1, Containers: map[string]Entry{}}
	}
	if f.Containers == nil {
		f.Containers = map[string]Entry{}
	}

	return f
}

func (c *Cache) warnOnce(msg string) {
	c.mu.Lock()
	first := !c.warned
	c.warned = true
	c.mu.Unlock()

	if first && c.warn != nil {
		c.warn(msg)
	}
}

// update applies change to the current file under the lock and writes the result atomically.
func (c *Cache) update(change func(*file)) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("writing cache: %w", err)
	}

	unlock, err := lockFile(filepath.Join(c.dir, "cache.lock"))
	if err != nil {
		return fmt.Errorf("writing cache: %w", err)
	}
	defer unlock()

	f := c.read()
	change(f)

	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("writing cache: %w", err)
	}

	return writeAtomic(c.path(), append(data, '\n'))
}

// writeAtomic writes data to a temporary file next to path, syncs it and renames it over
// path, so readers see the old file or the new one and never a mix.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cache-*.tmp")
	if err != nil {
		return fmt.Errorf("writing cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename

	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing cache: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing cache: %w", err)
	}

	return nil
}
