package bindings

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pixels-dev/pixels/engine"
	"github.com/pixels-dev/pixels/internal/cache"
	"github.com/pixels-dev/pixels/internal/truenas"
	lua "github.com/yuin/gopher-lua"
)

// containerTable is the public shape of a container in Lua and JSON.
func containerTable(L *lua.LState, c *truenas.Container) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("name", lua.LString(bare(c.Name)))
	t.RawSetString("status", lua.LString(c.Status))
	t.RawSetString("image", lua.LString(c.Image))
	if len(c.IPv4) > 0 {
		t.RawSetString("ipv4", lua.LString(c.IPv4[0]))
	} else {
		t.RawSetString("ipv4", lua.LString(""))
	}
	if len(c.IPv6) > 0 {
		t.RawSetString("ipv6", lua.LString(c.IPv6[0]))
	}
	if n, err := strconv.Atoi(c.CPU); err == nil {
		t.RawSetString("cpu", lua.LNumber(n))
	} else if c.CPU != "" {
		t.RawSetString("cpu", lua.LString(c.CPU))
	}
	if c.Memory > 0 {
		t.RawSetString("memory", lua.LNumber(c.Memory/(1024*1024)))
	}
	if !c.CreatedAt.IsZero() {
		t.RawSetString("created_at", lua.LString(c.CreatedAt.UTC().Format(time.RFC3339)))
	}
	return t
}

// statuses are the container states TrueNAS reports (Incus's, and 26's SUSPENDED).
var statuses = []string{"RUNNING", "STOPPED", "STARTING", "STOPPING", "FROZEN", "FREEZING",
	"THAWED", "ABORTING", "ERROR", "UNKNOWN", "SUSPENDED"}

func randomName() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "pixel-" + hex.EncodeToString(b)
}

func (m *module) get(rt *engine.Runtime, L *lua.LState) int {
	name := argName(L, "px.get", 1)
	b := m.backend(rt, L, "px.get")
	var c *truenas.Container
	var err error
	rt.Block(func() { c, err = b.Get(rt.Context(L), Prefix+name) })
	if errors.Is(err, truenas.ErrNotFound) {
		m.forgetCache(name)
		L.Push(lua.LNil)
		return 1
	}
	if err != nil {
		raiseErr(L, "px.get", name, fmt.Sprintf("looking up container %q", name), err)
	}
	m.remember(c)
	L.Push(containerTable(L, c))
	return 1
}

func (m *module) list(rt *engine.Runtime, L *lua.LState) int {
	o := decode(L, "list", 1)
	want := strings.ToUpper(o.str("status", ""))
	if want != "" && !contains(statuses, want) {
		raise(L, engine.CodeUsage, "px.list", "", "px.list: status %q is not one of %s",
			o.str("status", ""), strings.ToLower(strings.Join(statuses, ", ")))
	}
	b := m.backend(rt, L, "px.list")
	var cs []truenas.Container
	var err error
	rt.Block(func() { cs, err = b.List(rt.Context(L), Prefix+o.str("prefix", "")) })
	if err != nil {
		raiseErr(L, "px.list", "", "listing containers", err)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	out := L.NewTable()
	for i := range cs {
		if want != "" && cs[i].Status != want {
			continue
		}
		out.Append(containerTable(L, &cs[i]))
	}
	L.Push(out)
	return 1
}

// remember caches a running container's address; anything else drops the entry.
func (m *module) remember(c *truenas.Container) {
	if m.d.Cache == nil {
		return
	}
	if c.Status != "RUNNING" || len(c.IPv4) == 0 {
		_ = m.d.Cache.Delete(bare(c.Name))
		return
	}
	_ = m.d.Cache.Put(cache.Entry{Name: bare(c.Name), IPv4: c.IPv4[0], Status: c.Status,
		SSHPort: m.sshPort(c.Name), UpdatedAt: time.Now()})
}

func (m *module) cached(name string) (string, bool) {
	if m.d.Cache == nil {
		return "", false
	}
	e, ok := m.d.Cache.Get(name)
	return e.IPv4, ok
}

func (m *module) forgetCache(name string) {
	if m.d.Cache != nil {
		_ = m.d.Cache.Delete(name)
	}
}

func (m *module) sshPort(pxName string) int {
	if m.d.SSHPort != nil {
		if p := m.d.SSHPort(pxName); p > 0 {
			return p
		}
	}
	return 22
}

// addr is the SSH endpoint of a container.
func (m *module) addr(c *truenas.Container) string {
	if len(c.IPv4) == 0 {
		return ""
	}
	return net.JoinHostPort(c.IPv4[0], strconv.Itoa(m.sshPort(c.Name)))
}

func (m *module) create(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.create"
	o := decode(L, "create", 1)
	name := o.str("name", "")
	if !o.has("name") {
		name = randomName()
	}
	if err := CheckName(name); err != nil {
		raise(L, engine.CodeUsage, op, name, "%v", err)
	}

	// pre_create handlers may edit ev.opts in place or replace it; either way the options
	// are decoded (and checked) again afterwards.
	opts, ok := L.Get(1).(*lua.LTable)
	if !ok {
		opts = L.NewTable()
	}
	ev := L.NewTable()
	ev.RawSetString("name", lua.LString(name))
	ev.RawSetString("opts", opts)
	if err := rt.Emit(L, "pre_create", ev); err != nil {
		err.Target = name
		engine.Raise(L, err)
	}
	if t, ok := ev.RawGetString("opts").(*lua.LTable); ok {
		opts = t
	}
	L.SetTop(1)
	L.Replace(1, opts)
	o = decode(L, "create", 1)

	if o.has("cpu") && o.integer("cpu", 0) < 1 {
		raise(L, engine.CodeUsage, op, name, "%s: option \"cpu\" wants a positive whole number, "+
			"got %d", op, o.integer("cpu", 0))
	}
	if !o.has("cpu") {
		if n, err := strconv.Atoi(m.d.Defaults.CPU); m.d.Defaults.CPU != "" && (err != nil || n < 1) {
			raise(L, engine.CodeInvalid, op, name, "defaults.cpu wants a positive whole number, "+
				"got %q (fix config.toml or PIXELS_DEFAULT_CPU)", m.d.Defaults.CPU)
		}
	}
	var from *fromRef
	if o.has("from") {
		from = parseFrom(L, op, name, o.str("from", ""))
		if o.has("image") {
			raise(L, engine.CodeUsage, op, name, "%s: options \"image\" and \"from\" do not "+
				"mix: a container made from a checkpoint runs the checkpoint's system", op)
		}
	}

	spec := truenas.CreateSpec{Name: Prefix + name, Image: o.str("image", m.d.Defaults.Image),
		CPU: m.d.Defaults.CPU, Memory: int64(m.d.Defaults.Memory) * 1024 * 1024,
		Environment: o.stringMap("env"), Pool: m.d.Defaults.Pool, NICType: m.d.Defaults.NIC,
		NICParent: m.d.Defaults.Parent, Autostart: true}
	if from != nil {
		// Limits and pool follow the source unless given here.
		spec.CPU, spec.Memory, spec.Pool = "", 0, ""
	}
	if o.has("cpu") {
		spec.CPU = strconv.Itoa(o.integer("cpu", 0))
	}
	if o.has("memory") {
		mib, _ := ParseSize(o.str("memory", ""))
		spec.Memory = mib * 1024 * 1024
	}
	dns := m.d.Defaults.DNS
	if o.has("dns") {
		dns = o.strings("dns")
	}
	wait := o.str("wait", "ssh")
	ctx, cancel := context.WithTimeout(rt.Context(L), o.duration("timeout", 5*time.Minute))
	defer cancel()

	b := m.backend(rt, L, op)
	var c *truenas.Container
	var err error
	created := false
	token := ""
	rt.Block(func() {
		if _, gerr := b.Get(ctx, spec.Name); gerr == nil {
			err = existsError(fmt.Sprintf("container %q already exists (pick another name "+
				"or destroy it first)", name))
			return
		}
		token = m.beginCreate(name)
		prog, done := m.progress(rt, "creating "+name)
		c, err = followCreate(ctx, func() {
			rt.Notice("waiting for the interrupted create of %q to finish, to remove it", name)
		}, func(fctx context.Context) (*truenas.Container, error) {
			if from != nil {
				return m.createFrom(rt, fctx, b, spec, from, prog)
			}
			return b.Create(fctx, spec, prog)
		})
		done()
		if err != nil {
			// Remove only what this create made: a container of that name another run
			// holds is never touched.
			created = errors.Is(err, truenas.ErrHalfMade)
			return
		}
		created = true
		src := ""
		if from != nil {
			src = Prefix + from.name
		}
		if err = m.provision(ctx, b, spec.Name, dns, src, rt.Warn); err != nil {
			err = fmt.Errorf("provisioning: %w", err)
			return
		}
		c, err = m.waitFor(ctx, b, spec.Name, wait, true)
	})
	if err != nil {
		if created {
			if m.undoCreate(rt, L, b, name) {
				m.endCreate(token)
			}
		} else {
			m.endCreate(token)
		}
		raiseErr(L, op, name, fmt.Sprintf("creating container %q", name), err)
	}
	m.endCreate(token)
	m.noteCreated(name)
	m.remember(c)
	tbl := containerTable(L, c)
	ev.RawSetString("container", tbl)
	if e := rt.Emit(L, "create", ev); e != nil {
		engine.Raise(L, e)
	}
	L.Push(tbl)
	return 1
}

// undoCreate removes a container this create made before it failed, so nothing is leaked;
// it runs on a fresh deadline because the failure may be a cancel. gone is false when the
// container was left behind.
func (m *module) undoCreate(rt *engine.Runtime, L *lua.LState, b truenas.Backend,
	name string) (gone bool) {
	var err error
	rt.Block(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(rt.Context(L)), 2*time.Minute)
		defer cancel()
		err = b.Delete(ctx, Prefix+name, nil)
	})
	if err != nil && !errors.Is(err, truenas.ErrNotFound) {
		rt.Warn("container %q was left behind after the failed create (%v); remove it with "+
			"pixels destroy %s --force", name, err, name)
		return false
	}
	if err == nil {
		rt.Notice("removed the half-created container %q", name)
	}
	m.forgetCache(name)
	return true
}

// followCreate runs create, and when ctx is cancelled tells waiting and keeps following it, up to ctx's
// deadline or followLimit, instead of returning at once: a create job TrueNAS has started
// runs on whatever the client does, and only its outcome says whether the container of that
// name is this run's to remove (another run may hold the name). A create that succeeded
// after the cancel is reported as ErrHalfMade, so the caller removes it; one that failed
// touched nothing of anyone's.
func followCreate(ctx context.Context, waiting func(),
	create func(context.Context) (*truenas.Container, error)) (*truenas.Container, error) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), followLimit)
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		var cancelDL context.CancelFunc
		fctx, cancelDL = context.WithDeadline(fctx, dl)
		defer cancelDL()
	}
	type result struct {
		c   *truenas.Container
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := create(fctx)
		res <- result{c, err}
	}()
	select {
	case r := <-res:
		return r.c, r.err
	case <-ctx.Done():
	}
	waiting()
	r := <-res
	switch {
	case r.err == nil:
		return nil, fmt.Errorf("%w: %w", truenas.ErrHalfMade, ctx.Err())
	case errors.Is(r.err, truenas.ErrHalfMade):
		return nil, fmt.Errorf("%w (%w)", ctx.Err(), r.err)
	default:
		return nil, ctx.Err()
	}
}

// followLimit bounds how long an interrupted create is followed to learn its outcome.
const followLimit = 5 * time.Minute

// waitFor polls until the container reaches the readiness asked for, within ctx.
func (m *module) waitFor(ctx context.Context, b truenas.Backend, pxName, until string,
	fresh bool) (*truenas.Container, error) {
	var last *truenas.Container
	for {
		c, err := b.Get(ctx, pxName)
		if err != nil {
			return last, err
		}
		last = c
		switch {
		case until == "none":
			return c, nil
		case c.Status == "RUNNING" && until == "running":
			return c, nil
		case c.Status == "RUNNING" && len(c.IPv4) > 0:
			if until == "network" {
				return c, nil
			}
			cl, err := m.d.SSH()
			if err != nil {
				return c, err
			}
			if fresh {
				// A new container on a reused address has a new host key: drop the old.
				_ = cl.Forget(m.addr(c))
				_ = cl.Forget(pxName)
			}
			if err := cl.WaitReady(ctx, m.addr(c), m.d.Poll); err != nil {
				return c, err // it names the address and what it waited for
			}
			return c, nil
		}
		select {
		case <-ctx.Done():
			what := "to run"
			if c.Status == "RUNNING" {
				what = "an IPv4 address"
			}
			return c, fmt.Errorf("waiting for %s %s (status %s): %w", bare(pxName), what,
				c.Status, truenas.ErrTimeout)
		case <-time.After(m.d.Poll):
		}
	}
}

func (m *module) start(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.start"
	name := argName(L, op, 1)
	o := decode(L, "start", 2)
	o = m.emitPre(rt, L, "pre_start", "start", name, 2)
	b := m.backend(rt, L, op)
	ctx, cancel := context.WithTimeout(rt.Context(L), o.duration("timeout", 5*time.Minute))
	defer cancel()
	var c *truenas.Container
	var err error
	rt.Block(func() {
		c, err = b.Get(ctx, Prefix+name)
		if err != nil {
			return
		}
		if c.Status != "RUNNING" {
			prog, done := m.progress(rt, "starting "+name)
			err = b.Start(ctx, Prefix+name, prog)
			done()
			if err != nil {
				return
			}
		}
		c, err = m.waitFor(ctx, b, Prefix+name, o.str("wait", "ssh"), false)
	})
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("starting container %q", name), err)
	}
	m.remember(c)
	tbl := containerTable(L, c)
	m.emitContainer(rt, L, "start", tbl)
	L.Push(tbl)
	return 1
}

func (m *module) stop(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.stop"
	name := argName(L, op, 1)
	o := decode(L, "stop", 2)
	o = m.emitPre(rt, L, "pre_stop", "stop", name, 2)
	b := m.backend(rt, L, op)
	timeout := o.duration("timeout", 2*time.Minute)
	var c *truenas.Container
	var err error
	rt.Block(func() {
		ctx := rt.Context(L)
		prog, done := m.progress(rt, "stopping "+name)
		err = b.Stop(ctx, Prefix+name, truenas.StopOptions{Timeout: timeout,
			Force: o.boolean("force")}, prog)
		done()
		if err != nil {
			// Stopped meanwhile by someone else (or a racing destroy): that is success.
			if g, gerr := b.Get(ctx, Prefix+name); gerr == nil && g.Status == "STOPPED" {
				c, err = g, nil
			}
			return
		}
		c, err = b.Get(ctx, Prefix+name)
	})
	if err != nil {
		if !o.boolean("force") && !errors.Is(err, truenas.ErrNotFound) {
			err = fmt.Errorf("%w (pass --force to stop it without waiting for the guest)", err)
		}
		raiseErr(L, op, name, fmt.Sprintf("stopping container %q", name), err)
	}
	m.forgetCache(name)
	tbl := containerTable(L, c)
	m.emitContainer(rt, L, "stop", tbl)
	L.Push(tbl)
	return 1
}

func (m *module) destroy(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.destroy"
	name := argName(L, op, 1)
	o := decode(L, "destroy", 2)
	o = m.emitPre(rt, L, "pre_destroy", "destroy", name, 2)
	b := m.backend(rt, L, op)
	var c *truenas.Container
	var err error
	rt.Block(func() { c, err = b.Get(rt.Context(L), Prefix+name) })
	if errors.Is(err, truenas.ErrNotFound) {
		_, known := m.cached(name)
		m.forgetHost(name, "")
		m.noteDestroyed(name)
		if o.boolean("missing_ok") {
			return 0
		}
		if known {
			// This machine thought it existed: someone else removed it (B10).
			rt.Notice("container %q was already gone; forgot what pixels knew of it", name)
			return 0
		}
		raise(L, engine.CodeNotFound, op, name, "destroying container %q: no such container", name)
	}
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("destroying container %q", name), err)
	}
	if c.Status != "STOPPED" && !o.boolean("force") {
		raise(L, engine.CodeBusy, op, name, "destroying container %q: container is %s (stop it "+
			"or pass --force)", name, strings.ToLower(c.Status))
	}
	addr := m.addr(c)
	rt.Block(func() {
		prog, done := m.progress(rt, "destroying "+name)
		err = b.Delete(rt.Context(L), Prefix+name, prog)
		done()
	})
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("destroying container %q", name), err)
	}
	m.forgetHost(name, addr)
	m.noteDestroyed(name)
	ev := L.NewTable()
	ev.RawSetString("name", lua.LString(name))
	m.emitTable(rt, L, "destroy", ev)
	return 0
}

// forgetHost drops the cache entry and the host key pixels recorded for a container.
func (m *module) forgetHost(name, addr string) {
	if m.d.Cache != nil {
		if e, ok := m.d.Cache.Get(name); ok && addr == "" && e.IPv4 != "" {
			port := e.SSHPort
			if port == 0 {
				port = 22
			}
			addr = net.JoinHostPort(e.IPv4, strconv.Itoa(port))
		}
		_ = m.d.Cache.Delete(name)
		_ = m.d.Cache.PutCheckpoints(name, nil)
	}
	if addr == "" {
		return
	}
	if cl, err := m.d.SSH(); err == nil {
		_ = cl.Forget(addr)
	}
}

func (m *module) wait(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.wait"
	name := argName(L, op, 1)
	o := decode(L, "wait", 2)
	b := m.backend(rt, L, op)
	ctx, cancel := context.WithTimeout(rt.Context(L), o.duration("timeout", 5*time.Minute))
	defer cancel()
	var c *truenas.Container
	var err error
	rt.Block(func() { c, err = m.waitFor(ctx, b, Prefix+name, o.str("until", "ssh"), false) })
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("waiting for container %q", name), err)
	}
	m.remember(c)
	L.Push(containerTable(L, c))
	return 1
}

// emitPre fires a pre_* event whose ev.opts is the options table at stack index idx, which
// handlers may edit in place or replace; the options are then decoded again for fn.
func (m *module) emitPre(rt *engine.Runtime, L *lua.LState, event, fn, name string,
	idx int) *opts {
	t, ok := L.Get(idx).(*lua.LTable)
	if !ok {
		t = L.NewTable()
	}
	ev := L.NewTable()
	ev.RawSetString("name", lua.LString(name))
	ev.RawSetString("opts", t)
	if e := rt.Emit(L, event, ev); e != nil {
		e.Target = name
		engine.Raise(L, e)
	}
	if nt, ok := ev.RawGetString("opts").(*lua.LTable); ok {
		t = nt
	}
	if L.GetTop() < idx {
		L.SetTop(idx)
	}
	L.Replace(idx, t)
	return decode(L, fn, idx)
}

func (m *module) emitContainer(rt *engine.Runtime, L *lua.LState, event string, c *lua.LTable) {
	ev := L.NewTable()
	ev.RawSetString("name", c.RawGetString("name"))
	ev.RawSetString("container", c)
	m.emitTable(rt, L, event, ev)
}

func (m *module) emitTable(rt *engine.Runtime, L *lua.LState, event string, ev *lua.LTable) {
	if e := rt.Emit(L, event, ev); e != nil {
		engine.Raise(L, e)
	}
}
