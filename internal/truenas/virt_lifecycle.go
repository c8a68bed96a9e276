package truenas

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Stop timing. A graceful stop without a caller timeout gets defaultStopTimeout, because slow
// systemd shutdowns overrun 30 s; a force stop still sends a finite timeout. The job wait
// adds stopMargin on top, so a stop never blocks unbounded even if ctx has no deadline.
const (
	defaultStopTimeout = 120 * time.Second
	forceStopTimeout   = 30 * time.Second
	stopMargin         = 30 * time.Second
	minMemory          = 32 << 20
	deleteTries        = 3
)

// Create creates (and with spec.Autostart, starts) a container and returns it.
func (v *virt) Create(ctx context.Context, spec CreateSpec, progress Progress) (*Container,
	error) {
	if spec.Name == "" || spec.Image == "" {
		return nil, fmt.Errorf("creating container %q: %w: name and image are required",
			spec.Name, ErrInvalid)
	}
	if spec.Memory != 0 && spec.Memory < minMemory {
		return nil, fmt.Errorf("creating container %q: %w: memory %d bytes is below the "+
			"32 MiB TrueNAS accepts", spec.Name, ErrInvalid, spec.Memory)
	}

	params := map[string]any{"name": spec.Name, "image": spec.Image, "autostart": spec.Autostart}
	if spec.CPU != "" {
		params["cpu"] = spec.CPU
	}
	if spec.Memory != 0 {
		params["memory"] = spec.Memory
	}
	if len(spec.Environment) > 0 {
		params["environment"] = spec.Environment
	}
	if spec.Pool != "" {
		params["storage_pool"] = spec.Pool
	}

	nic, err := pickNIC(ctx, v.c, spec.NICType, spec.NICParent)
	if err != nil {
		return nil, fmt.Errorf("creating container %q: %w", spec.Name, err)
	}
	if nic.Parent != "" {
		params["devices"] = []any{map[string]any{
			"dev_type": "NIC", "nic_type": nic.Type, "parent": nic.Parent,
		}}
	} else {
		v.c.log.Debug("truenas no NIC parent found; using the default profile's network",
			"name", spec.Name)
	}

	var in virtInstance
	err = v.c.CallJob(ctx, "virt.instance.create", []any{params}, &in, progress)
	if err != nil {
		return nil, fmt.Errorf("creating container %q: %w", spec.Name, err)
	}
	if in.Name == "" {
		ct, err := v.Get(ctx, spec.Name)
		if err != nil {
			return nil, halfMade{err}
		}
		return ct, nil
	}
	cfg, err := v.config(ctx)
	if err != nil {
		return nil, halfMade{fmt.Errorf("creating container %q: %w", spec.Name, err)}
	}
	ct := in.container(cfg)
	return &ct, nil
}

// Start starts a stopped container.
func (v *virt) Start(ctx context.Context, name string, progress Progress) error {
	if err := v.c.CallJob(ctx, "virt.instance.start", []any{name}, nil, progress); err != nil {
		return fmt.Errorf("starting container %q: %w", name, err)
	}
	return nil
}

// Stop stops a running container; one that is not RUNNING is left alone. Every stop sent
// carries a finite timeout (TrueNAS would otherwise wait for ever on a lost halt signal).
func (v *virt) Stop(ctx context.Context, name string, opts StopOptions, progress Progress) error {
	in, err := v.instance(ctx, name)
	if err != nil {
		return fmt.Errorf("stopping container %q: %w", name, err)
	}
	if in.Status != "RUNNING" {
		return nil
	}
	if err := v.stop(ctx, name, opts, progress); err != nil {
		return fmt.Errorf("stopping container %q: %w%s", name, err, forceHint(opts, err))
	}
	return nil
}

// forceHint suggests a force stop when a graceful stop job failed or ran out of time.
func forceHint(opts StopOptions, err error) string {
	var e *Error
	failedJob := errors.As(err, &e) && e.JobID != 0
	if opts.Force || !(failedJob || errors.Is(err, ErrTimeout)) {
		return ""
	}
	return " (stop with force to skip the guest's shutdown)"
}

// stop sends virt.instance.stop with a finite timeout and bounds the wait for its job.
func (v *virt) stop(ctx context.Context, name string, opts StopOptions, progress Progress) error {
	timeout := opts.Timeout
	switch {
	case timeout <= 0 && opts.Force:
		timeout = forceStopTimeout
	case timeout <= 0:
		timeout = defaultStopTimeout
	}
	secs := int(math.Ceil(timeout.Seconds()))
	args := map[string]any{"timeout": secs}
	if opts.Force {
		args["force"] = true
	}

	ctx, cancel := context.WithTimeout(ctx, timeout+stopMargin)
	defer cancel()
	return v.c.CallJob(ctx, "virt.instance.stop", []any{name, args}, nil, progress)
}

// Delete force-stops a container that is not STOPPED, then deletes it, retrying while
// its storage is still busy.
func (v *virt) Delete(ctx context.Context, name string, progress Progress) error {
	in, err := v.instance(ctx, name)
	if err != nil {
		return fmt.Errorf("deleting container %q: %w", name, err)
	}
	if in.Status != "STOPPED" {
		err := v.stop(ctx, name, StopOptions{Force: true}, progress)
		if err != nil && !isNotRunning(err) {
			return fmt.Errorf("deleting container %q: force-stopping: %w", name, err)
		}
	}

	err = retryBusy(ctx, v.retry, func() error {
		return v.c.CallJob(ctx, "virt.instance.delete", []any{name}, nil, progress)
	})
	if err != nil {
		return fmt.Errorf("deleting container %q: %w", name, err)
	}
	return nil
}

// retryBusy runs op up to deleteTries times, waiting interval after each busy failure.
// After the last try the error says so and still wraps the server's busy error.
func retryBusy(ctx context.Context, interval time.Duration, op func() error) error {
	var err error
	for try := 1; try <= deleteTries; try++ {
		err = op()
		if err == nil || !errors.Is(err, ErrBusy) {
			return err
		}
		if try == deleteTries {
			break
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("retrying after %v: %w", err, ctxError(ctx, "storage"))
		case <-t.C:
		}
	}
	return fmt.Errorf("storage still busy after %d tries: %w", deleteTries, err)
}
