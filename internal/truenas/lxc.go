package truenas

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"
)

// lxc drives TrueNAS 26, whose containers are libvirt LXC domains under container.*, with
// integer ids (resolved here from names), no CPU or memory limits, and no address in any
// API reply. Addresses come from a small reporter the adapter installs in the container at
// create (see lxc_net.go).
type lxc struct {
	c       *Conn
	version string
	beta    bool // BETA.1-3: container.delete is synchronous and takes only the id
	snaps   snapshotter
	retry   time.Duration
}

// lxcEntry is the part of a container.query entry the adapter reads.
type lxcEntry struct {
	ID              int64             `json:"id"`
	Name            string            `json:"name"`
	Description     string            `json:"description"`
	Dataset         string            `json:"dataset"`
	ShutdownTimeout int               `json:"shutdown_timeout"`
	InitEnv         map[string]string `json:"initenv"`
	Status          struct {
		State string `json:"state"`
	} `json:"status"`
}

// imageTag prefixes the image alias pixels keeps in the description, since 26 entries do
// not say which image a container came from.
const imageTag = "pixels image "

func newContainers(c *Conn, version string, retry time.Duration) *lxc {
	return &lxc{c: c, version: version, beta: strings.Contains(strings.ToUpper(version), "BETA"),
		snaps: snapshotter{c: c, ns: "pool.snapshot", root: new(atomic.Bool)}, retry: retry}
}

// Version returns the TrueNAS version the server reported.
func (x *lxc) Version() string { return x.version }

// Close ends the connection.
func (x *lxc) Close() error { return x.c.Close() }

// List returns the containers whose names start with prefix.
func (x *lxc) List(ctx context.Context, prefix string) ([]Container, error) {
	var filters []any
	if prefix != "" {
		filters = []any{[]any{"name", "^", prefix}}
	}
	var raw []lxcEntry
	if err := x.c.Call(ctx, "container.query", []any{filters}, &raw); err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	out := make([]Container, 0, len(raw))
	for _, e := range raw {
		out = append(out, x.container(ctx, e))
	}
	return out, nil
}

// Get returns one container, or an error wrapping ErrNotFound.
func (x *lxc) Get(ctx context.Context, name string) (*Container, error) {
	e, err := x.entry(ctx, name)
	if err != nil {
		return nil, err
	}
	ct := x.container(ctx, *e)
	return &ct, nil
}

// entry resolves a name to its entry (and so its integer id).
func (x *lxc) entry(ctx context.Context, name string) (*lxcEntry, error) {
	var raw []lxcEntry
	filters := []any{[]any{"name", "=", name}}
	if err := x.c.Call(ctx, "container.query", []any{filters}, &raw); err != nil {
		return nil, fmt.Errorf("getting container %q: %w", name, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("getting container %q: %w: no container of that name on "+
			"the NAS", name, ErrNotFound)
	}
	return &raw[0], nil
}

// container converts an entry; addresses are read only for a running container.
func (x *lxc) container(ctx context.Context, e lxcEntry) Container {
	ct := Container{Name: e.Name, Status: strings.ToUpper(e.Status.State), Dataset: e.Dataset}
	if img, ok := strings.CutPrefix(e.Description, imageTag); ok {
		ct.Image = img
	}
	if ct.Status == "RUNNING" {
		ct.IPv4, ct.IPv6 = x.addresses(ctx, e)
	}
	return ct
}

// rootfs is the host path of the container's root filesystem, mounted from create on.
func (e lxcEntry) rootfs() string {
	pool, _, _ := strings.Cut(e.Dataset, "/")
	return "/mnt/.truenas_containers/" + pool + "/containers/" + e.Name
}

// Start starts a container; on 26 this is a plain call, not a job.
func (x *lxc) Start(ctx context.Context, name string, progress Progress) error {
	e, err := x.entry(ctx, name)
	if err == nil {
		err = x.start(ctx, e)
	}
	if err != nil {
		return fmt.Errorf("starting container %q: %w", name, err)
	}
	return nil
}

// start marks the container's last address report stale, then starts it.
func (x *lxc) start(ctx context.Context, e *lxcEntry) error {
	if err := x.markStale(ctx, e); err != nil {
		return err
	}
	return x.c.Call(ctx, "container.start", []any{e.ID}, nil)
}

// Stop stops a running container. 26 takes no per-call timeout: a graceful stop waits the
// container's shutdown_timeout and then, with force_after_timeout, kills it, so the stop
// always ends; the wait here is bounded by that timeout plus a margin. A caller's timeout
// is stored as the container's shutdown_timeout first (26 accepts 5 to 300 s).
func (x *lxc) Stop(ctx context.Context, name string, opts StopOptions, progress Progress) error {
	e, err := x.entry(ctx, name)
	if err != nil {
		return fmt.Errorf("stopping container %q: %w", name, err)
	}
	if strings.ToUpper(e.Status.State) != "RUNNING" {
		return nil
	}
	if secs := min(max(int(math.Ceil(opts.Timeout.Seconds())), 5), 300); !opts.Force &&
		opts.Timeout > 0 && secs != e.ShutdownTimeout {
		args := []any{e.ID, map[string]any{"shutdown_timeout": secs}}
		if err := x.c.Call(ctx, "container.update", args, nil); err != nil {
			return fmt.Errorf("stopping container %q: setting its shutdown timeout: %w", name, err)
		}
		e.ShutdownTimeout = secs
	}
	if err := x.stop(ctx, e, opts.Force, progress); err != nil {
		return fmt.Errorf("stopping container %q: %w%s", name, err, forceHint(opts, err))
	}
	return nil
}

func (x *lxc) stop(ctx context.Context, e *lxcEntry, force bool, progress Progress) error {
	wait := time.Duration(max(e.ShutdownTimeout, 5)) * time.Second
	if force {
		wait = forceStopTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, wait+stopMargin)
	defer cancel()
	args := map[string]any{"force": force, "force_after_timeout": !force}
	return x.c.CallJob(ctx, "container.stop", []any{e.ID, args}, nil, progress)
}

// Delete force-stops a running container and deletes it with its snapshots, retrying while
// storage is busy.
func (x *lxc) Delete(ctx context.Context, name string, progress Progress) error {
	e, err := x.entry(ctx, name)
	if err != nil {
		return fmt.Errorf("deleting container %q: %w", name, err)
	}
	if strings.ToUpper(e.Status.State) != "STOPPED" {
		if err := x.stop(ctx, e, true, progress); err != nil && !isNotRunning(err) {
			return fmt.Errorf("deleting container %q: force-stopping: %w", name, err)
		}
	}

	params := []any{e.ID, map[string]any{"force": true, "recursive": true}}
	if x.beta {
		params = []any{e.ID} // BETA: synchronous, no options; the call passes through CallJob
	}
	err = retryBusy(ctx, x.retry, func() error {
		return x.c.CallJob(ctx, "container.delete", params, nil, progress)
	})
	if err != nil {
		return fmt.Errorf("deleting container %q: %w", name, err)
	}
	return nil
}

// WriteFile writes data into the container's root filesystem. 26 refuses paths that pass
// through a symlink (e.g. /etc/resolv.conf on Ubuntu), with the kernel's ELOOP text; that
// refusal becomes an ErrInvalid that says what to do.
func (x *lxc) WriteFile(ctx context.Context, name, p string, data []byte, mode uint32,
	uid, gid int) error {
	clean, err := containerPath(p, data)
	if err == nil {
		var e *lxcEntry
		if e, err = x.entry(ctx, name); err == nil {
			err = receiveFile(ctx, x.c, e.rootfs()+clean, data, mode, uid, gid)
		}
	}
	var e *Error
	if errors.As(err, &e) && strings.Contains(e.Reason, "[Errno 40]") {
		err = fmt.Errorf("%w: the path goes through a symlink inside the container, and "+
			"TrueNAS 26 writes no file through one (write to the link's target instead)",
			ErrInvalid)
	}
	if err != nil {
		return fmt.Errorf("writing %s in container %q: %w", p, name, err)
	}
	return nil
}
