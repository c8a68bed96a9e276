package bindings

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/pixels-dev/pixels/engine"
	"github.com/pixels-dev/pixels/internal/ssh"
	lua "github.com/yuin/gopher-lua"
)

// copyTo is px.copy_to(name, local_path, remote_path): one tar stream over SSH into the
// container, keeping modes.
func (m *module) copyTo(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.copy_to"
	name := argName(L, op, 1)
	local := argPath(L, op, name, 2, "local path")
	remote := argPath(L, op, name, 3, "remote path")
	decode(L, "copy_to", 4)
	if _, err := os.Lstat(local); err != nil {
		code := engine.CodeInvalid
		if errors.Is(err, fs.ErrNotExist) {
			code, err = engine.CodeNotFound, errors.New("no such file or directory")
		}
		raise(L, code, op, name, "copying %s to %q: %v", local, name, err)
	}
	addr := m.resolve(rt, L, op, name)
	cl := m.sshClient(L, op, name)

	var err error
	rt.Block(func() { err = cl.CopyTo(rt.Context(L), addr, local, remote) })
	if err != nil {
		raiseCopy(L, op, name, fmt.Sprintf("copying %s to %s:%s", local, name, remote), err)
	}
	return 0
}

// copyFrom is px.copy_from(name, remote_path, local_path).
func (m *module) copyFrom(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.copy_from"
	name := argName(L, op, 1)
	remote := argPath(L, op, name, 2, "remote path")
	local := argPath(L, op, name, 3, "local path")
	decode(L, "copy_from", 4)
	addr := m.resolve(rt, L, op, name)
	cl := m.sshClient(L, op, name)

	var err error
	rt.Block(func() { err = cl.CopyFrom(rt.Context(L), addr, remote, local) })
	if err != nil {
		raiseCopy(L, op, name, fmt.Sprintf("copying %s:%s to %s", name, remote, local), err)
	}
	return 0
}

// argPath reads a non-empty path argument.
func argPath(L *lua.LState, op, name string, idx int, what string) string {
	v := L.Get(idx)
	s, ok := v.(lua.LString)
	if !ok {
		raise(L, engine.CodeInvalid, op, name, "%s: %s wants a string, got %s", op, what, v.Type())
	}
	if s == "" {
		raise(L, engine.CodeInvalid, op, name, "%s: %s is empty", op, what)
	}
	return string(s)
}

// raiseCopy gives the copy failures users can act on their own codes.
func raiseCopy(L *lua.LState, op, name, doing string, err error) {
	switch {
	case errors.Is(err, ssh.ErrRemoteNotFound):
		raise(L, engine.CodeNotFound, op, name, "%s: no such file or directory in %q", doing,
			name)
	case errors.Is(err, fs.ErrNotExist):
		raise(L, engine.CodeNotFound, op, name, "%s: %v", doing, errors.Unwrap(err))
	case errors.Is(err, ssh.ErrUnsafeEntry):
		raise(L, engine.CodeInvalid, op, name, "%s: %v", doing, err)
	}
	raiseErr(L, op, name, doing, err)
}
