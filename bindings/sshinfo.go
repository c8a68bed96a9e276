package bindings

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pixels-dev/pixels/engine"
	"github.com/pixels-dev/pixels/internal/config"
	lua "github.com/yuin/gopher-lua"
)

// sshConfigName is the file `pixels ssh-config --write` maintains in the config dir.
const sshConfigName = "ssh_config"

// sshInfo is px.ssh_info(name): what another SSH program needs to reach a running container
// as pixels does. It connects once, so the host key is in pixels' known_hosts (trusted on
// first use, or checked) before anyone relies on that file.
func (m *module) sshInfo(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.ssh_info"
	name := argName(L, op, 1)
	addr := m.resolve(rt, L, op, name)
	cl := m.sshClient(L, op, name)
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		raiseErr(L, op, name, "reading the address of "+strconv.Quote(name), err)
	}
	port, _ := strconv.Atoi(portStr)

	var identity string
	rt.Block(func() {
		if err = cl.Trust(rt.Context(L), addr); err == nil {
			identity, err = cl.IdentityFile()
		}
	})
	if err != nil {
		raiseErr(L, op, name, fmt.Sprintf("reaching %q over ssh", name), err)
	}

	t := L.NewTable()
	t.RawSetString("name", lua.LString(name))
	t.RawSetString("host", lua.LString(host))
	t.RawSetString("port", lua.LNumber(port))
	t.RawSetString("user", lua.LString(cl.User()))
	if identity != "" {
		t.RawSetString("identity_file", lua.LString(identity))
	}
	t.RawSetString("known_hosts", lua.LString(cl.KnownHostsPath()))
	L.Push(t)
	return 1
}

// sshConfigFile is px.ssh_config_file(): the path of the ssh_config file pixels maintains
// for `Include` from ~/.ssh/config, with its directory created.
func (m *module) sshConfigFile(rt *engine.Runtime, L *lua.LState) int {
	const op = "px.ssh_config_file"
	paths, err := config.DefaultPaths(os.Getenv)
	if err != nil {
		raiseErr(L, op, "", "finding the config directory", err)
	}
	if err := os.MkdirAll(paths.Config, 0o700); err != nil {
		raiseErr(L, op, "", "creating the config directory", err)
	}
	L.Push(lua.LString(filepath.Join(paths.Config, sshConfigName)))
	return 1
}
