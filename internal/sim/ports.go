package sim

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// sshEntry is the SSH listener of one running container.
type sshEntry struct {
	srv  *SSHServer
	ip   string
	port int
}

// hostKeyFile is the name of a container's SSH host key inside its directory.
const hostKeyFile = "ssh_host_ed25519_key"

// probeSSHPort picks the port shared by every container address: 22 when it can be bound,
// else one free port. When 127.77.0.0/16 cannot be bound at all, containers fall back to
// ports of their own on 127.0.0.1. Called with mu held.
func (s *Server) probeSSHPort() {
	for _, addr := range []string{"127.77.0.1:22", "127.77.0.1:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		s.sshPort = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		return
	}
	s.noAlias = true
	s.log.Debug("127.77.0.0/16 not bindable, containers share 127.0.0.1")
}

// allocAddr gives a container its persistent 127.77.X.Y address. Called with mu held.
func (s *Server) allocAddr(in *instance) {
	if in.Addr != "" {
		return
	}
	n := s.st.NextAddr
	s.st.NextAddr++
	in.Addr = fmt.Sprintf("127.77.%d.%d", n/250%256, n%250+2)
}

// startListener opens the SSH listener of a running container. Called with mu held.
func (s *Server) startListener(in *instance) error {
	if _, ok := s.sshd[in.Name]; ok {
		return nil
	}
	box, err := s.openBox(in.Name)
	if err != nil {
		return err
	}
	s.allocAddr(in)
	key, err := LoadHostKey(filepath.Join(s.containerDir(in.Name), hostKeyFile))
	if err != nil {
		return fmt.Errorf("loading host key of %s: %w", in.Name, err)
	}

	var ln net.Listener
	if !s.noAlias {
		ln, err = net.Listen("tcp", net.JoinHostPort(in.Addr, strconv.Itoa(s.sshPort)))
	}
	if s.noAlias || err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return fmt.Errorf("listening for ssh of %s: %w", in.Name, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	srv := ServeSSH(ln, key, box, s.log.With("container", in.Name))
	s.sshd[in.Name] = &sshEntry{srv: srv, ip: tcp.IP.String(), port: tcp.Port}
	return nil
}

// stopListener closes a container's SSH listener. Called with mu held.
func (s *Server) stopListener(name string) error {
	e, ok := s.sshd[name]
	if !ok {
		return nil
	}
	delete(s.sshd, name)
	return e.srv.Close()
}

// containerDir is the directory of a container's Box.
func (s *Server) containerDir(name string) string {
	return filepath.Join(s.opts.Dir, "containers", name)
}

// openBox returns the open Box of a container, opening it on first use. A container whose
// dataset is gone has none. Called with mu held.
func (s *Server) openBox(name string) (*Box, error) {
	if in, ok := s.st.Instances[name]; ok && in.NoDataset {
		return nil, fmt.Errorf("cannot open '%s': dataset does not exist", s.dataset(name))
	}
	if b, ok := s.boxes[name]; ok {
		return b, nil
	}
	b, err := OpenBox(s.containerDir(name), name)
	if err != nil {
		return nil, fmt.Errorf("opening container %s: %w", name, err)
	}
	s.boxes[name] = b
	return b, nil
}

// removeBox closes a container's Box and deletes its directory. Called with mu held.
func (s *Server) removeBox(name string) error {
	s.stopBoot(name)
	var err error
	if b, ok := s.boxes[name]; ok {
		err = b.Close()
		delete(s.boxes, name)
	}
	return errors.Join(err, os.RemoveAll(s.containerDir(name)))
}

// sshPorts maps each running container to its SSH port. Called with mu held.
func (s *Server) sshPorts() map[string]int {
	ports := map[string]int{}
	for name, e := range s.sshd {
		ports[name] = e.port
	}
	return ports
}

// sshHosts maps each running container to the loopback address its SSH listens on. Called
// with mu held.
func (s *Server) sshHosts() map[string]string {
	hosts := map[string]string{}
	for name, e := range s.sshd {
		hosts[name] = e.ip
	}
	return hosts
}
