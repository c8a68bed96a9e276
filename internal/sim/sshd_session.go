package sim

// One SSH session channel: env and pty requests, then one exec or shell, whose exit is
// reported the way OpenSSH does it: EOF, then exit-status or exit-signal, then close.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
)

// Request payloads, as RFC 4254 section 6 lays them out.
type (
	envReq struct {
		Name, Value string
	}
	ptyReq struct {
		Term                          string
		Cols, Rows, WidthPx, HeightPx uint32
		Modes                         string
	}
	execReq struct {
		Command string
	}
	signalReq struct {
		Signal string
	}
	exitStatusMsg struct {
		Status uint32
	}
	exitSignalMsg struct {
		Signal     string
		CoreDumped bool
		Error      string
		Lang       string
	}
)

// serveSession handles a session's requests until the channel closes.
func (s *SSHServer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	defer ch.Close()

	var env []string
	var term *termModes // the pty request's modes; nil without one
	done := make(chan struct{})
	started := false
	for req := range reqs {
		ok := true
		switch req.Type {
		case "env":
			var e envReq
			if ok = ssh.Unmarshal(req.Payload, &e) == nil; ok {
				env = append(env, e.Name+"="+e.Value)
			}
		case "pty-req":
			var p ptyReq
			if ok = ssh.Unmarshal(req.Payload, &p) == nil; !ok {
				break
			}
			m, err := parseModes(p.Modes)
			if ok = err == nil; !ok {
				s.logger.Debug("ssh pty-req refused", "err", err)
				break
			}
			term = &m
			env = append(env, "TERM="+p.Term,
				fmt.Sprintf("COLUMNS=%d", p.Cols), fmt.Sprintf("LINES=%d", p.Rows))
		case "window-change":
		case "signal":
			// A client's signal ends the running command as if delivered to its shell.
			var sr signalReq
			num, known := 0, false
			if ok = ssh.Unmarshal(req.Payload, &sr) == nil; ok {
				num, known = signalNumber(sr.Signal)
			}
			if ok = ok && known && started; ok {
				name, _ := signalName(num)
				cancel(&killedError{num: num, name: name})
			}
		case "exec", "shell":
			var e execReq
			if req.Type == "exec" {
				ok = ssh.Unmarshal(req.Payload, &e) == nil
			}
			if !ok || started {
				ok = false
				break
			}
			started = true
			if req.WantReply {
				req.Reply(true, nil) // before the command can finish and close the channel
				req.WantReply = false
			}
			env, term := env, term // later requests must not change the running session's
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer close(done)
				s.runSession(ctx, ch, req.Type == "shell", e.Command, env, term)
			}()
		default:
			ok = false
		}
		if req.WantReply {
			req.Reply(ok, nil)
		}
	}

	cancel(nil)
	if started {
		<-done
	}
}

// runSession runs the command (or the interactive shell) and reports how it ended. A command
// with a terminal follows only its output modes: its input is not modelled as a terminal's.
func (s *SSHServer) runSession(ctx context.Context, ch ssh.Channel, shell bool, command string,
	env []string, term *termModes) {
	var stderr io.Writer = ch.Stderr()
	if term != nil {
		stderr = ch // a terminal shows both streams as one
	}

	var status int
	var sig string
	var err error
	if shell {
		status, sig, err = s.box.interactiveTerm(ctx, ch, ch, env, term)
	} else {
		s.logger.Debug("ssh exec", "command", command)
		status, sig, err = s.box.Run(ctx, command, RunIO{
			Stdin: ch, Stdout: ch, Stderr: stderr, Env: env, TTY: term != nil && term.crlf(),
		})
	}
	if ctx.Err() != nil && !errors.As(context.Cause(ctx), new(*killedError)) {
		return // the client or the server went away; nobody is listening for a status
	}
	if err != nil {
		s.logger.Debug("ssh session failed", "err", err)
		fmt.Fprintf(stderr, "pixels-sim: %v\n", err)
		status, sig = 255, ""
	}

	ch.CloseWrite()
	if sig != "" {
		ch.SendRequest("exit-signal", false, ssh.Marshal(exitSignalMsg{Signal: sig}))
	} else {
		ch.SendRequest("exit-status", false, ssh.Marshal(exitStatusMsg{Status: uint32(status)}))
	}
	ch.Close()
}

// Bounds of the terminal mode opcodes of RFC 4254 section 8, which golang.org/x/crypto/ssh
// does not export.
const (
	ttyOpEnd       = 0   // ends the list
	ttyOpUndefined = 160 // from here on opcodes are undefined: parsing stops
)

// parseModes decodes the encoded terminal modes of a pty request, pairs of an opcode byte and
// a uint32 value, into defaultModes changed by the modes the client sent. Modes the shell does
// not follow are skipped.
func parseModes(enc string) (termModes, error) {
	m := defaultModes()
	for len(enc) > 0 && enc[0] != ttyOpEnd && enc[0] < ttyOpUndefined {
		if len(enc) < 5 {
			return m, fmt.Errorf("decoding terminal modes: opcode %d lacks its value", enc[0])
		}
		m.set(enc[0], binary.BigEndian.Uint32([]byte(enc[1:5])))
		enc = enc[5:]
	}

	return m, nil
}

// set applies one terminal mode. A control character of 0 or 255 (how OpenSSH sends
// _POSIX_VDISABLE) or beyond a byte is disabled.
func (m *termModes) set(op byte, v uint32) {
	char := ctrlChar(v)
	if v == 0 || v >= 255 {
		char = noChar
	}
	on := v != 0

	switch op {
	case ssh.ECHO:
		m.echo = on
	case ssh.ICANON:
		m.icanon = on
	case ssh.ISIG:
		m.isig = on
	case ssh.ICRNL:
		m.icrnl = on
	case ssh.IGNCR:
		m.igncr = on
	case ssh.OPOST:
		m.opost = on
	case ssh.ONLCR:
		m.onlcr = on
	case ssh.VINTR:
		m.intr = char
	case ssh.VEOF:
		m.eof = char
	case ssh.VERASE:
		m.erase, m.altErase = char, noChar
	case ssh.VKILL:
		m.kill = char
	}
}
