package truenas

import (
	"context"
	"fmt"
)

// CreateSnapshot snapshots the container's dataset under label.
func (x *lxc) CreateSnapshot(ctx context.Context, name, label string) (*Snapshot, error) {
	e, err := x.entry(ctx, name)
	if err == nil {
		var snap *Snapshot
		if snap, err = x.snaps.create(ctx, e.Dataset, label); err == nil {
			return snap, nil
		}
	}
	return nil, fmt.Errorf("creating checkpoint %q of container %q: %w", label, name,
		err)
}

// Snapshots lists the container's snapshots, newest first. Queries that name the dataset
// still work on RC.1.
func (x *lxc) Snapshots(ctx context.Context, name string) ([]Snapshot, error) {
	e, err := x.entry(ctx, name)
	if err == nil {
		var snaps []Snapshot
		if snaps, err = x.snaps.list(ctx, e.Dataset); err == nil {
			return snaps, nil
		}
	}
	return nil, fmt.Errorf("listing checkpoints of container %q: %w", name, err)
}

// Rollback rolls the container's dataset back to label; the caller stops it first.
func (x *lxc) Rollback(ctx context.Context, name, label string, destroyNewer bool) error {
	e, err := x.entry(ctx, name)
	if err == nil {
		err = x.snaps.rollback(ctx, e.Dataset, label, destroyNewer)
	}
	if err != nil {
		return fmt.Errorf("restoring container %q to checkpoint %q: %w", name, label,
			err)
	}
	return nil
}

// DeleteSnapshot deletes one snapshot; a missing one wraps ErrNotFound.
func (x *lxc) DeleteSnapshot(ctx context.Context, name, label string) error {
	e, err := x.entry(ctx, name)
	if err == nil {
		err = x.snaps.remove(ctx, e.Dataset, label)
	}
	if err != nil {
		return fmt.Errorf("deleting checkpoint %q of container %q: %w", label, name,
			err)
	}
	return nil
}
