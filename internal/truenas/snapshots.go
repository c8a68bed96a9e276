package truenas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
)

// snapshotter runs ZFS snapshot calls in one namespace ("zfs.snapshot" or "pool.snapshot")
// on a container's dataset. None of these methods are jobs.
type snapshotter struct {
	c  *Conn
	ns string
	// root, when set, turns true once the API refused a snapshot write as a protected path
	// (26 RC.1 guards container datasets); from then on writes on this connection go
	// through a root job running the zfs command instead. Queries naming the dataset still
	// work there.
	root *atomic.Bool
}

// isProtected reports whether err is 26 RC.1's refusal of a write on a protected path.
func isProtected(err error) bool {
	var e *Error
	return errors.As(err, &e) && strings.Contains(strings.ToLower(e.Reason), "protected path")
}

// write runs one snapshot change through the API, or through a root job running script
// when the API refuses it as a protected path.
func (s snapshotter) write(ctx context.Context, what, script string, api func() error) error {
	if s.root == nil || !s.root.Load() {
		err := api()
		if s.root == nil || !isProtected(err) {
			return err
		}
		s.root.Store(true)
		s.c.log.Debug("truenas refuses snapshot writes on container datasets; using a root "+
			"cron job", "err", err)
	}
	_, err := runAsRoot(ctx, s.c, what, script, nil)
	return err
}

// snapshotID joins dataset and label, refusing anything but exactly one '@': a root job
// runs zfs destroy on it, which on a bare dataset name would destroy the container.
func snapshotID(dataset, label string) (string, error) {
	id := dataset + "@" + label
	if dataset == "" || label == "" || strings.Count(id, "@") != 1 ||
		strings.ContainsAny(label, "/ \t\n'") {
		return "", fmt.Errorf("%w: checkpoint label %q must be non-empty without '@', '/', "+
			"quotes or spaces", ErrInvalid, label)
	}
	return id, nil
}

// wireSnapshot is the part of a snapshot query entry the client reads.
type wireSnapshot struct {
	ID           string                  `json:"id"`
	Name         string                  `json:"name"`
	SnapshotName string                  `json:"snapshot_name"`
	Dataset      string                  `json:"dataset"`
	CreateTXG    json.RawMessage         `json:"createtxg"`
	Properties   map[string]snapProperty `json:"properties"`
}

// snapProperty is one ZFS property as TrueNAS reports it.
type snapProperty struct {
	RawValue json.RawMessage `json:"rawvalue"`
	Parsed   json.RawMessage `json:"parsed"`
}

// snapshot converts an entry, reading each field from wherever this version keeps it.
func (w wireSnapshot) snapshot() Snapshot {
	s := Snapshot{ID: w.ID, Dataset: w.Dataset, Label: w.SnapshotName}
	if s.ID == "" {
		s.ID = w.Name
	}
	if ds, label, ok := strings.Cut(s.ID, "@"); ok {
		if s.Dataset == "" {
			s.Dataset = ds
		}
		if s.Label == "" {
			s.Label = label
		}
	}

	if n, err := flexInt(w.CreateTXG); err == nil {
		s.TXG = n
	} else {
		s.TXG = w.prop("createtxg")
	}
	s.Size = w.prop("referenced")

	if p, ok := w.Properties["creation"]; ok {
		var t wireTime
		if json.Unmarshal(p.Parsed, &t) == nil && !t.IsZero() {
			s.CreatedAt = t.Time
		} else if json.Unmarshal(p.RawValue, &t) == nil {
			s.CreatedAt = t.Time
		}
	}
	return s
}

// prop reads an integer property from parsed, falling back to rawvalue; 0 when absent.
func (w wireSnapshot) prop(name string) int64 {
	p, ok := w.Properties[name]
	if !ok {
		return 0
	}
	if n, err := flexInt(p.Parsed); err == nil {
		return n
	}
	n, _ := flexInt(p.RawValue)
	return n
}

// create snapshots dataset under label. A duplicate label wraps ErrExists.
func (s snapshotter) create(ctx context.Context, dataset, label string) (*Snapshot, error) {
	id, err := snapshotID(dataset, label)
	if err != nil {
		return nil, err
	}
	var w wireSnapshot
	err = s.write(ctx, "checkpoint "+id, "zfs snapshot "+shQuote(id), func() error {
		args := map[string]any{"dataset": dataset, "name": label}
		return s.c.Call(ctx, s.ns+".create", []any{args}, &w)
	})
	if err != nil {
		return nil, err
	}
	if w.ID == "" && s.root != nil && s.root.Load() {
		// Made by the root job: read it back for its size and time.
		var raw []wireSnapshot
		filters := []any{[]any{"id", "=", id}}
		if err := s.c.Call(ctx, s.ns+".query", []any{filters}, &raw); err == nil && len(raw) > 0 {
			w = raw[0]
		}
	}
	snap := w.snapshot()
	if snap.ID == "" {
		snap = Snapshot{ID: id, Dataset: dataset, Label: label}
	}
	return &snap, nil
}

// list returns the dataset's snapshots, newest first by creation txg.
func (s snapshotter) list(ctx context.Context, dataset string) ([]Snapshot, error) {
	var raw []wireSnapshot
	filters := []any{[]any{"dataset", "=", dataset}}
	if err := s.c.Call(ctx, s.ns+".query", []any{filters}, &raw); err != nil {
		return nil, err
	}
	out := make([]Snapshot, 0, len(raw))
	for _, w := range raw {
		out = append(out, w.snapshot())
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].TXG != out[j].TXG {
			return out[i].TXG > out[j].TXG
		}
		return out[i].CreatedAt.After(out[j].CreatedAt)
	})
	return out, nil
}

// rollback rolls dataset back to label. Newer snapshots are named and refused unless
// destroyNewer, before anything changes on the NAS.
func (s snapshotter) rollback(ctx context.Context, dataset, label string,
	destroyNewer bool) error {
	snaps, err := s.list(ctx, dataset)
	if err != nil {
		return err
	}
	idx := -1
	for i, sn := range snaps {
		if sn.Label == label {
			idx = i
			break
		}
	}
	if idx < 0 {
		return fmt.Errorf("%w: no checkpoint %q", ErrNotFound, label)
	}

	var newer []string
	for _, sn := range snaps[:idx] {
		newer = append(newer, sn.Label)
	}
	if len(newer) > 0 && !destroyNewer {
		return fmt.Errorf("%w: restoring %q would destroy the newer checkpoints %s "+
			"(delete them first, or allow destroying them)", ErrNewerSnapshots, label,
			quoteList(newer))
	}

	id, err := snapshotID(dataset, label)
	if err != nil {
		return err
	}
	params := []any{id}
	script := "zfs rollback " + shQuote(id)
	if len(newer) > 0 {
		params = append(params, map[string]any{"recursive": true})
		script = "zfs rollback -r " + shQuote(id)
	}
	return s.write(ctx, "restore "+id, script, func() error {
		return s.c.Call(ctx, s.ns+".rollback", params, nil)
	})
}

// remove deletes dataset@label; a missing snapshot wraps ErrNotFound.
func (s snapshotter) remove(ctx context.Context, dataset, label string) error {
	id, err := snapshotID(dataset, label)
	if err != nil {
		return err
	}
	return s.write(ctx, "delete checkpoint "+id, "zfs destroy "+shQuote(id), func() error {
		return s.c.Call(ctx, s.ns+".delete", []any{id}, nil)
	})
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// CreateSnapshot snapshots the container's dataset under label.
func (v *virt) CreateSnapshot(ctx context.Context, name, label string) (*Snapshot, error) {
	ds, err := v.datasetOf(ctx, name)
	if err == nil {
		var snap *Snapshot
		if snap, err = v.snaps.create(ctx, ds, label); err == nil {
			return snap, nil
		}
	}
	return nil, fmt.Errorf("creating checkpoint %q of container %q: %w", label, name, err)
}

// Snapshots lists the container's snapshots, newest first.
func (v *virt) Snapshots(ctx context.Context, name string) ([]Snapshot, error) {
	ds, err := v.datasetOf(ctx, name)
	if err == nil {
		var snaps []Snapshot
		if snaps, err = v.snaps.list(ctx, ds); err == nil {
			return snaps, nil
		}
	}
	return nil, fmt.Errorf("listing checkpoints of container %q: %w", name, err)
}

// Rollback rolls the container's dataset back to label. It does not stop the container:
// callers stop it first (ZFS may refuse, or the running guest may see its files change).
func (v *virt) Rollback(ctx context.Context, name, label string, destroyNewer bool) error {
	ds, err := v.datasetOf(ctx, name)
	if err == nil {
		err = v.snaps.rollback(ctx, ds, label, destroyNewer)
	}
	if err != nil {
		return fmt.Errorf("restoring container %q to checkpoint %q: %w", name, label, err)
	}
	return nil
}

// DeleteSnapshot deletes one snapshot; a missing one wraps ErrNotFound.
func (v *virt) DeleteSnapshot(ctx context.Context, name, label string) error {
	ds, err := v.datasetOf(ctx, name)
	if err == nil {
		err = v.snaps.remove(ctx, ds, label)
	}
	if err != nil {
		return fmt.Errorf("deleting checkpoint %q of container %q: %w", label, name, err)
	}
	return nil
}

// datasetOf finds the dataset holding the container's root filesystem.
func (v *virt) datasetOf(ctx context.Context, name string) (string, error) {
	in, err := v.instance(ctx, name)
	if err != nil {
		return "", err
	}
	cfg, err := v.config(ctx)
	if err != nil {
		return "", err
	}
	return in.dataset(cfg), nil
}
