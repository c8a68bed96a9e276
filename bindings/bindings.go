package bindings

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pixels-dev/pixels/engine"
	"github.com/pixels-dev/pixels/internal/cache"
	"github.com/pixels-dev/pixels/internal/ssh"
	"github.com/pixels-dev/pixels/internal/truenas"
	lua "github.com/yuin/gopher-lua"
	luar "layeh.com/gopher-luar"
)

// Prefix marks pixels' containers on TrueNAS; users never see it.
const Prefix = "px-"

// Defaults are the values create uses when neither the script nor the user gave one.
type Defaults struct {
	Image  string
	CPU    string
	Memory int // MiB
	Pool   string
	NIC    string
	Parent string
	DNS    []string
}

// Deps is what the module needs from the program: everything is lazy, so a command that
// never touches TrueNAS never connects.
type Deps struct {
	Backend  func(ctx context.Context) (truenas.Backend, error)
	SSH      func() (*ssh.Client, error)
	Cache    *cache.Cache
	SSHPort  func(pxName string) int // the SSH port of a container's address
	Defaults Defaults
	Poll     time.Duration // readiness poll interval
	Config   any           // the read-only px.config view
	Version  string        // TrueNAS version, when known without connecting ("" otherwise)
	Target   string        // which TrueNAS (its host, or the simulator's state dir), for records
}

// module holds the Deps for one runtime.
type module struct {
	d       Deps
	mu      sync.Mutex // guards progress output and created
	created []string   // containers this run created and has not destroyed
}

// Install returns the engine hook that adds the domain functions to the pixels table.
func Install(d Deps) func(rt *engine.Runtime, mod *lua.LTable) {
	if d.Poll <= 0 {
		d.Poll = time.Second
	}
	return func(rt *engine.Runtime, mod *lua.LTable) {
		m := &module{d: d}
		rt.AtFinish(func(failed bool) { m.reportLeftovers(rt, failed) })
		rt.Register(mod, "create", true, m.create)
		rt.Register(mod, "get", true, m.get)
		rt.Register(mod, "list", true, m.list)
		rt.Register(mod, "start", true, m.start)
		rt.Register(mod, "stop", true, m.stop)
		rt.Register(mod, "destroy", true, m.destroy)
		rt.Register(mod, "exec", true, m.exec)
		rt.Register(mod, "write_file", true, m.writeFile)
		rt.Register(mod, "read_file", true, m.readFile)
		rt.Register(mod, "console", true, m.console)
		rt.Register(mod, "copy_to", true, m.copyTo)
		rt.Register(mod, "copy_from", true, m.copyFrom)
		rt.Register(mod, "ssh_info", true, m.sshInfo)
		rt.Register(mod, "ssh_config_file", true, m.sshConfigFile)
		rt.Register(mod, "checkpoint", true, m.checkpoint)
		rt.Register(mod, "checkpoints", true, m.checkpoints)
		rt.Register(mod, "restore", true, m.restore)
		rt.Register(mod, "delete_checkpoint", true, m.deleteCheckpoint)
		rt.Register(mod, "wait", true, m.wait)
		rt.Register(mod, "valid_name", false, func(rt *engine.Runtime, L *lua.LState) int {
			err := CheckName(L.CheckString(1))
			if err != nil {
				L.Push(lua.LFalse)
				L.Push(lua.LString(err.Error()))
				return 2
			}
			L.Push(lua.LTrue)
			return 1
		})
		if d.Config != nil {
			mod.RawSetString("config", luar.New(rt.L, d.Config))
		}
	}
}

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// CheckName enforces the bare-name rule before any call reaches TrueNAS.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("container name is empty")
	case len(name) > 60:
		return fmt.Errorf("container name %q is %d characters; the limit is 60", name, len(name))
	case !nameRe.MatchString(name) || strings.HasSuffix(name, "-"):
		return fmt.Errorf("container name %q is not valid: use lowercase letters, digits and "+
			"dashes, starting with a letter and not ending with a dash", name)
	}
	return nil
}

// bare strips the prefix for output.
func bare(pxName string) string { return strings.TrimPrefix(pxName, Prefix) }

// argName reads and checks the container name at stack index idx.
func argName(L *lua.LState, op string, idx int) string {
	v := L.Get(idx)
	s, ok := v.(lua.LString)
	if !ok {
		raise(L, engine.CodeInvalid, op, "", "%s: container name wants a string, got %s", op, v.Type())
	}
	if err := CheckName(string(s)); err != nil {
		raise(L, engine.CodeUsage, op, string(s), "%v", err)
	}
	return string(s)
}

// backend connects (once) and raises a pixels error on failure.
func (m *module) backend(rt *engine.Runtime, L *lua.LState, op string) truenas.Backend {
	var b truenas.Backend
	var err error
	rt.Block(func() { b, err = m.d.Backend(rt.Context(L)) })
	if err != nil {
		raiseErr(L, op, "", "connecting to TrueNAS", err)
	}
	return b
}

// raiseErr maps a Go error onto a pixels error code and raises it.
func raiseErr(L *lua.LState, op, target, doing string, err error) {
	engine.Raise(L, toError(op, target, doing, err))
}

func toError(op, target, doing string, err error) *engine.Error {
	var ee *engine.Error
	if errors.As(err, &ee) {
		return ee
	}
	msg := err.Error()
	if target != "" {
		// The client speaks in TrueNAS names; users only ever see bare ones.
		msg = bareNames(msg, Prefix+target, target)
	}
	if doing != "" && !strings.HasPrefix(msg, doing) {
		msg = doing + ": " + msg
	}
	return &engine.Error{Code: codeFor(err), Op: op, Target: target, Message: msg, Err: err}
}

// bareNames replaces the TrueNAS name px with the bare name in msg, except inside paths and
// dataset names ("tank/.ix-virt/containers/px-a@x" must stay as the server spelled it).
func bareNames(msg, px, bare string) string {
	var b strings.Builder
	for {
		i := strings.Index(msg, px)
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		end := i + len(px)
		inPath := i > 0 && msg[i-1] == '/' || end < len(msg) && msg[end] == '/'
		word := end == len(msg) || !isNameByte(msg[end])
		b.WriteString(msg[:i])
		if inPath || !word {
			b.WriteString(px)
		} else {
			b.WriteString(bare)
		}
		msg = msg[end:]
	}
}

// isNameByte reports whether c can continue a container name.
func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func codeFor(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return engine.CodeInterrupted
	case errors.Is(err, truenas.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return engine.CodeTimeout
	case errors.Is(err, truenas.ErrNotFound):
		return engine.CodeNotFound
	case errors.Is(err, truenas.ErrExists):
		return engine.CodeExists
	case errors.Is(err, truenas.ErrBusy):
		return engine.CodeBusy
	case errors.Is(err, truenas.ErrUnreachable):
		return engine.CodeUnreachable
	case errors.Is(err, truenas.ErrAuth):
		return engine.CodeAuth
	case errors.Is(err, truenas.ErrInvalid), errors.Is(err, truenas.ErrNewerSnapshots),
		errors.Is(err, ssh.ErrWriteRefused):
		return engine.CodeInvalid
	case errors.Is(err, truenas.ErrUnsupported):
		return "unsupported"
	}
	var te *truenas.Error
	if errors.As(err, &te) {
		return engine.CodeRemote
	}
	return engine.CodeInternal
}

// progress returns a job-progress printer for op, active only on a terminal and when
// nobody parses our output. done clears the line.
func (m *module) progress(rt *engine.Runtime, label string) (truenas.Progress, func()) {
	if !rt.Out.ErrTTY || rt.Out.JSON || rt.Out.Quiet {
		return nil, func() {}
	}
	w := rt.Stderr
	shown := false
	p := func(percent float64, desc string) {
		m.mu.Lock()
		defer m.mu.Unlock()
		line := fmt.Sprintf("%s: %3.0f%% %s", label, percent, desc)
		if len(line) > 78 {
			line = line[:78]
		}
		fmt.Fprintf(w, "\r\033[K%s", line)
		shown = true
	}
	return p, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if shown {
			io.WriteString(w, "\r\033[K")
		}
	}
}

// reportLeftovers names the containers a failed run created and left behind, so a recipe
// that fails halfway never leaks them silently.
func (m *module) reportLeftovers(rt *engine.Runtime, failed bool) {
	m.mu.Lock()
	left := append([]string(nil), m.created...)
	m.mu.Unlock()
	if !failed || len(left) == 0 {
		return
	}
	rt.Warn("this run created %s and left %s behind (remove with: pixels destroy --force %s)",
		strings.Join(left, ", "), plural(len(left), "it", "them"), strings.Join(left, " "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (m *module) noteCreated(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.created = append(m.created, name)
}

// beginCreate records a create of name in the cache, so a run killed before it ends leaves a
// trace doctor finds; it returns the token endCreate needs.
func (m *module) beginCreate(name string) string {
	if m.d.Cache == nil {
		return ""
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	if m.d.Cache.BeginCreate(name, m.d.Target, token) != nil {
		return ""
	}
	return token
}

// endCreate forgets the create that holds token.
func (m *module) endCreate(token string) {
	if m.d.Cache != nil && token != "" {
		_ = m.d.Cache.EndCreate(token)
	}
}

func (m *module) noteDestroyed(name string) {
	if m.d.Cache != nil {
		_ = m.d.Cache.EndCreates(name, m.d.Target)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, n := range m.created {
		if n == name {
			m.created = append(m.created[:i], m.created[i+1:]...)
			return
		}
	}
}
