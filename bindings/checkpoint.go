package bindings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pixels-dev/pixels/engine"
	"github.com/pixels-dev/pixels/internal/truenas"
	lua "github.com/yuin/gopher-lua"
)

func checkpointTable(L *lua.LState, name string, s *truenas.Snapshot) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("id", lua.LString(s.ID))
	t.RawSetString("label", lua.LString(s.Label))
	t.RawSetString("container", lua.LString(name))
	if !s.CreatedAt.IsZero() {
		t.RawSetString("created_at", lua.LString(s.CreatedAt.UTC().Format(time.RFC3339)))
	}
	t.RawSetString("size", lua.LNumber(s.Size))
	return t
}

func (m *module) checkpoint(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.checkpoint"
	name := argName(L, op, 1)
	o := decode(L, "checkpoint", 2)
	label := o.str("label", "")
	generated := !o.has("label")
	if generated {
		label = "cp-" + time.Now().UTC().Format("20060102-150405")
	}
	if !validLabel(label) {
		raise(L, engine.CodeInvalid, op, name, "%s: label %q is not valid: %s", op, label,
			labelRule)
	}
	b := m.backend(rt, L, op)
	var s *truenas.Snapshot
	var err error
	rt.Block(func() {
		base := label
		for i := 2; ; i++ {
			s, err = b.CreateSnapshot(rt.Context(L), Prefix+name, label)
			// Two generated labels in one second: number the later ones.
			if !generated || !errors.Is(err, truenas.ErrExists) || i > 20 {
				return
			}
			label = fmt.Sprintf("%s-%d", base, i)
		}
	})
	if errors.Is(err, truenas.ErrExists) {
		raise(L, engine.CodeExists, op, name, "checkpointing %q: checkpoint %q already exists "+
			"(pick another label or delete it first)", name, label)
	}
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("checkpointing %q", name), err)
	}
	m.cacheLabels(name, append([]string{s.Label}, m.cachedLabelsWithout(name, s.Label)...))
	t := checkpointTable(L, name, s)
	ev := L.NewTable()
	ev.RawSetString("name", lua.LString(name))
	ev.RawSetString("checkpoint", t)
	m.emitTable(rt, L, "checkpoint", ev)
	L.Push(t)
	return 1
}

// labelRule says what validLabel accepts.
const labelRule = "use up to 200 letters, digits, dots, dashes and underscores, not only dots"

func validLabel(s string) bool {
	if s == "" || len(s) > 200 || strings.Trim(s, ".") == "" {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

func (m *module) snapshots(rt *engine.Runtime, L *lua.LState, op, name string) []truenas.Snapshot {
	b := m.backend(rt, L, op)
	var list []truenas.Snapshot
	var err error
	rt.Block(func() {
		if _, err = b.Get(rt.Context(L), Prefix+name); err != nil {
			return
		}
		list, err = b.Snapshots(rt.Context(L), Prefix+name)
	})
	if errors.Is(err, truenas.ErrNotFound) {
		raise(L, engine.CodeNotFound, op, name, "container %q not found", name)
	}
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("listing checkpoints of %q", name), err)
	}
	labels := make([]string, 0, len(list))
	for _, s := range list {
		labels = append(labels, s.Label)
	}
	m.cacheLabels(name, labels)
	return list
}

// cacheLabels records a container's checkpoint labels for shell completion.
func (m *module) cacheLabels(name string, labels []string) {
	if m.d.Cache != nil {
		_ = m.d.Cache.PutCheckpoints(name, labels)
	}
}

// cachedLabelsWithout is the cached label list minus drop.
func (m *module) cachedLabelsWithout(name string, drop ...string) []string {
	if m.d.Cache == nil {
		return nil
	}
	out := []string{}
	for _, l := range m.d.Cache.Checkpoints(name) {
		if !contains(drop, l) {
			out = append(out, l)
		}
	}
	return out
}

func (m *module) checkpoints(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.checkpoints"
	name := argName(L, op, 1)
	out := L.NewTable()
	for _, s := range m.snapshots(rt, L, op, name) {
		s := s
		out.Append(checkpointTable(L, name, &s))
	}
	L.Push(out)
	return 1
}

// findRef picks the checkpoint whose label or id is ref, and the newer ones.
func findRef(list []truenas.Snapshot, ref string) (*truenas.Snapshot, []string) {
	for i := range list {
		if list[i].Label == ref || list[i].ID == ref {
			var newer []string
			for _, n := range list[:i] { // list is newest first
				newer = append(newer, n.Label)
			}
			return &list[i], newer
		}
	}
	return nil, nil
}

func (m *module) restore(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.restore"
	name := argName(L, op, 1)
	ref := L.CheckString(2)
	o := decode(L, "restore", 3)
	list := m.snapshots(rt, L, op, name)
	snap, newer := findRef(list, ref)
	if snap == nil {
		raise(L, engine.CodeNotFound, op, name, "restoring %q: no checkpoint %q (see: pixels "+
			"checkpoint list %s)", name, ref, name)
	}
	force := o.boolean("force")
	if len(newer) > 0 && !force {
		raise(L, engine.CodeInvalid, op, name, "restoring %q to %q would destroy the newer "+
			"checkpoints %s (pass --force to accept that)", name, snap.Label, strings.Join(newer, ", "))
	}
	b := m.backend(rt, L, op)
	ctx, cancel := context.WithTimeout(rt.Context(L), o.duration("timeout", 5*time.Minute))
	defer cancel()
	var c *truenas.Container
	var err error
	wasRunning := false
	rt.Block(func() {
		prog, done := m.progress(rt, "restoring "+name)
		defer done()
		if c, err = b.Get(ctx, Prefix+name); err != nil {
			return
		}
		wasRunning = c.Status == "RUNNING"
		if c.Status != "STOPPED" {
			// The rollback must never run under a live container: a failed stop aborts.
			err = b.Stop(ctx, Prefix+name, truenas.StopOptions{Timeout: stopBudget(ctx)}, prog)
			if err != nil {
				err = fmt.Errorf("stopping before the rollback: %w", err)
				return
			}
		}
		err = b.Rollback(ctx, Prefix+name, snap.Label, force)
		if err != nil {
			return
		}
		if wasRunning {
			if err = b.Start(ctx, Prefix+name, prog); err != nil {
				return
			}
			c, err = m.waitFor(ctx, b, Prefix+name, o.str("wait", "ssh"), false)
			return
		}
		c, err = b.Get(ctx, Prefix+name)
	})
	if err != nil {
		if wasRunning && c != nil {
			// Leave the container in the state it had: try to start it again.
			rt.Block(func() {
				cctx, cc := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
				defer cc()
				if g, gerr := b.Get(cctx, Prefix+name); gerr == nil && g.Status == "STOPPED" {
					_ = b.Start(cctx, Prefix+name, nil)
				}
			})
		}
		raiseErr(L, op, name, fmt.Sprintf("restoring %q to %q", name, snap.Label), err)
	}
	if len(newer) > 0 {
		rt.Notice("destroyed the newer checkpoints %s", strings.Join(newer, ", "))
		m.cacheLabels(name, m.cachedLabelsWithout(name, newer...))
	}
	m.remember(c)
	tbl := containerTable(L, c)
	ev := L.NewTable()
	ev.RawSetString("name", lua.LString(name))
	ev.RawSetString("checkpoint", lua.LString(snap.Label))
	ev.RawSetString("container", tbl)
	m.emitTable(rt, L, "restore", ev)
	L.Push(tbl)
	return 1
}

func (m *module) deleteCheckpoint(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.delete_checkpoint"
	name := argName(L, op, 1)
	ref := L.CheckString(2)
	snap, _ := findRef(m.snapshots(rt, L, op, name), ref)
	if snap == nil {
		raise(L, engine.CodeNotFound, op, name, "deleting checkpoint %q of %q: no such checkpoint",
			ref, name)
	}
	b := m.backend(rt, L, op)
	var err error
	rt.Block(func() { err = b.DeleteSnapshot(rt.Context(L), Prefix+name, snap.Label) })
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("deleting checkpoint %q of %q", ref, name), err)
	}
	m.cacheLabels(name, m.cachedLabelsWithout(name, snap.Label))
	return 0
}

// stopBudget is the guest shutdown time to ask TrueNAS for: two minutes, or less when the
// caller's deadline is nearer, so the server's stop job does not outlive our wait for it.
func stopBudget(ctx context.Context) time.Duration {
	budget := 2 * time.Minute
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - time.Second; left < budget {
			budget = max(left, time.Second)
		}
	}
	return budget
}
