// Package truenas is the wire client for the TrueNAS SCALE JSON-RPC 2.0 WebSocket API: the
// connection, login, concurrent calls, jobs followed to completion, typed errors, and one
// adapter per API generation behind the Backend interface. Names here are the names stored on
// TrueNAS (with the px- prefix); the bare-name policy belongs to the callers.
package truenas

import (
	"context"
	"time"
)

// Container is one Incus (or, on 26, libvirt LXC) container as TrueNAS reports it, reduced
// to the fields pixels uses whatever the API generation.
type Container struct {
	Name      string    // name on TrueNAS, e.g. "px-dev"
	Status    string    // RUNNING, STOPPED, or a transitional state, upper case
	Image     string    // best description of the image, e.g. "ubuntu/noble"
	IPv4      []string  // global IPv4 addresses, never link-local
	IPv6      []string  // global IPv6 addresses, never link-local
	CPU       string    // limits.cpu as given at create, "" when unset
	Memory    int64     // bytes, 0 when unset
	Dataset   string    // ZFS dataset holding the root filesystem
	CreatedAt time.Time // zero when the API does not say
}

// CreateSpec is what Create needs. Memory is in bytes; zero means "let TrueNAS decide".
type CreateSpec struct {
	Name        string
	Image       string // linuxcontainers alias, e.g. "ubuntu/24.04"
	CPU         string
	Memory      int64
	Environment map[string]string
	Pool        string // storage pool, "" for the global default
	NICType     string // MACVLAN or BRIDGED; "" auto-detects from the default route
	NICParent   string // host interface; "" auto-detects
	Autostart   bool   // start the container once created
}

// StopOptions bound a stop. A graceful stop always carries a finite timeout; Force skips
// the guest's shutdown.
type StopOptions struct {
	Timeout time.Duration
	Force   bool
}

// Snapshot is a ZFS snapshot of a container's dataset: a checkpoint in pixels' words.
type Snapshot struct {
	ID        string    // "<dataset>@<label>"
	Label     string    // the part after @
	Dataset   string    // the container's dataset
	CreatedAt time.Time // from properties.creation
	Size      int64     // properties.referenced, bytes
	TXG       int64     // creation transaction group, orders snapshots
}

// Progress receives a job's progress as TrueNAS reports it: a percentage and a description.
// It is called from the client's reader goroutine and must not block.
type Progress func(percent float64, description string)

// Backend is the version-neutral set of operations pixels needs. One adapter per API
// generation implements it; Dial picks the adapter from system.version.
type Backend interface {
	// Version is the TrueNAS version the server reported, e.g. "25.04.2.4".
	Version() string
	// List returns the containers whose names start with prefix ("" for all).
	List(ctx context.Context, prefix string) ([]Container, error)
	// Get returns one container, or an error wrapping ErrNotFound.
	Get(ctx context.Context, name string) (*Container, error)
	// Create creates (and with spec.Autostart, starts) a container and returns it. A
	// failure after the container was made wraps ErrHalfMade.
	Create(ctx context.Context, spec CreateSpec, progress Progress) (*Container, error)
	Start(ctx context.Context, name string, progress Progress) error
	Stop(ctx context.Context, name string, opts StopOptions, progress Progress) error
	// Delete removes a stopped (or, after a force stop, any) container and its snapshots.
	Delete(ctx context.Context, name string, progress Progress) error
	// CreateFrom creates spec.Name as a full copy of checkpoint label of container src: a
	// container like src (its image, and its CPU, memory and pool where spec leaves them
	// empty) whose root filesystem is then replaced by the checkpoint's, copied by a root
	// job on the NAS so the new container depends on neither src nor the checkpoint. It
	// starts it when spec.Autostart. A failure after the new container was made wraps
	// ErrHalfMade, and the caller deletes it; other failures touched nothing.
	CreateFrom(ctx context.Context, spec CreateSpec, src, label string, progress Progress) (
		*Container, error)
	// WriteFile writes data at path inside the container's root filesystem, creating parent
	// directories, then sets mode and, when uid/gid are >= 0, ownership.
	WriteFile(ctx context.Context, name, path string, data []byte, mode uint32, uid, gid int) error
	// CreateSnapshot snapshots the container's dataset under label.
	CreateSnapshot(ctx context.Context, name, label string) (*Snapshot, error)
	// Snapshots lists the container's snapshots, newest first.
	Snapshots(ctx context.Context, name string) ([]Snapshot, error)
	// Rollback rolls the container's dataset back to label. With destroyNewer false it fails
	// (wrapping ErrNewerSnapshots) when newer snapshots exist.
	Rollback(ctx context.Context, name, label string, destroyNewer bool) error
	DeleteSnapshot(ctx context.Context, name, label string) error
	Close() error
}
