package truenas

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// virt drives TrueNAS 25.04 and 25.10, whose containers are Incus instances under virt.*.
// The two differ only in the snapshot namespace (zfs.snapshot on 25.04, pool.snapshot on
// 25.10).
type virt struct {
	c       *Conn
	version string
	snaps   snapshotter
	retry   time.Duration

	mu  sync.Mutex
	cfg *virtConfig // virt.global.config, read once per connection
}

// virtConfig is the part of virt.global.config the adapter needs.
type virtConfig struct {
	Pool    string `json:"pool"`
	Dataset string `json:"dataset"`
	State   string `json:"state"`
}

// virtInstance is the part of a virt.instance.query entry the adapter reads.
type virtInstance struct {
	Name        string  `json:"name"`
	Status      string  `json:"status"`
	CPU         *string `json:"cpu"`
	Memory      *int64  `json:"memory"`
	Aliases     []alias `json:"aliases"`
	StoragePool *string `json:"storage_pool"`
	Image       struct {
		OS          *string `json:"os"`
		Release     *string `json:"release"`
		Description *string `json:"description"`
	} `json:"image"`
}

func newVirt(c *Conn, version, snapNS string, retry time.Duration) *virt {
	return &virt{c: c, version: version, snaps: snapshotter{c: c, ns: snapNS}, retry: retry}
}

// Version returns the TrueNAS version the server reported.
func (v *virt) Version() string { return v.version }

// Close ends the connection.
func (v *virt) Close() error { return v.c.Close() }

// config returns virt.global.config, cached after the first success.
func (v *virt) config(ctx context.Context) (*virtConfig, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cfg != nil {
		return v.cfg, nil
	}

	var cfg virtConfig
	if err := v.c.Call(ctx, "virt.global.config", nil, &cfg); err != nil {
		return nil, fmt.Errorf("reading virtualization settings: %w", err)
	}
	if cfg.Pool == "" || cfg.Dataset == "" {
		return nil, fmt.Errorf("reading virtualization settings: %w: no storage pool is "+
			"configured for containers (state %s); choose one under Instances on the NAS",
			ErrUnsupported, cfg.State)
	}
	v.cfg = &cfg
	return v.cfg, nil
}

// List returns the containers whose names start with prefix.
func (v *virt) List(ctx context.Context, prefix string) ([]Container, error) {
	var filters []any
	if prefix != "" {
		filters = []any{[]any{"name", "^", prefix}}
	}
	var raw []virtInstance
	if err := v.c.Call(ctx, "virt.instance.query", []any{filters}, &raw); err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	if len(raw) == 0 {
		return []Container{}, nil
	}

	// Entries name their storage pool, which is all the dataset needs; the global config
	// is read only for an entry that does not, so a list is one call.
	var cfg *virtConfig
	for _, in := range raw {
		if deref(in.StoragePool) != "" {
			continue
		}
		var err error
		if cfg, err = v.config(ctx); err != nil {
			return nil, fmt.Errorf("listing containers: %w", err)
		}
		break
	}
	out := make([]Container, 0, len(raw))
	for _, in := range raw {
		out = append(out, in.container(cfg))
	}
	return out, nil
}

// Get returns one container, or an error wrapping ErrNotFound.
func (v *virt) Get(ctx context.Context, name string) (*Container, error) {
	in, err := v.instance(ctx, name)
	if err != nil {
		return nil, err
	}
	cfg, err := v.config(ctx)
	if err != nil {
		return nil, fmt.Errorf("getting container %q: %w", name, err)
	}
	ct := in.container(cfg)
	return &ct, nil
}

// instance queries one instance by exact name; a list query, so absence is not an error
// from the server but ErrNotFound from us.
func (v *virt) instance(ctx context.Context, name string) (*virtInstance, error) {
	var raw []virtInstance
	filters := []any{[]any{"name", "=", name}}
	if err := v.c.Call(ctx, "virt.instance.query", []any{filters}, &raw); err != nil {
		return nil, fmt.Errorf("getting container %q: %w", name, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("getting container %q: %w: no container of that name on "+
			"the NAS", name, ErrNotFound)
	}
	return &raw[0], nil
}

// container converts a wire entry to the version-neutral Container.
func (in virtInstance) container(cfg *virtConfig) Container {
	ct := Container{
		Name:    in.Name,
		Status:  strings.ToUpper(in.Status),
		Image:   in.imageName(),
		Dataset: in.dataset(cfg),
	}
	if in.CPU != nil {
		ct.CPU = *in.CPU
	}
	if in.Memory != nil {
		ct.Memory = *in.Memory
	}
	ct.IPv4, ct.IPv6 = splitAliases(in.Aliases)
	return ct
}

// imageName describes the image as "os/release" lowercased, e.g. "ubuntu/noble".
func (in virtInstance) imageName() string {
	osName, release := deref(in.Image.OS), deref(in.Image.Release)
	switch {
	case osName != "" && release != "":
		return strings.ToLower(osName + "/" + release)
	case osName != "":
		return strings.ToLower(osName)
	}
	return deref(in.Image.Description)
}

// dataset is where the instance's root filesystem lives: <pool>/.ix-virt/containers/<name>
// on the instance's own storage pool, or under the global virt dataset when the entry does
// not name one (cfg is then required).
func (in virtInstance) dataset(cfg *virtConfig) string {
	if p := deref(in.StoragePool); p != "" {
		return p + "/.ix-virt/containers/" + in.Name
	}
	return cfg.Dataset + "/containers/" + in.Name
}

// incusPool is the Incus storage pool name used in the host path of the root filesystem.
func (in virtInstance) incusPool(cfg *virtConfig) string {
	if p := deref(in.StoragePool); p != "" {
		return p
	}
	return cfg.Pool
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// isNotRunning reports whether a stop failed only because the container already stopped.
func isNotRunning(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	r := strings.ToLower(e.Reason)
	for _, s := range []string{"already stopped", "not running", "is not active", "is stopped"} {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}
