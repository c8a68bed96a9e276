package sim

// One SSH session channel: env and pty requests, then one exec or shell, whose exit is
// reported the way OpenSSH does it: EOF, then exit-status or exit-signal, then close.

import (
	"context"
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
	pty := false
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
			if ok = ssh.Unmarshal(req.Payload, &p) == nil; ok {
				pty = true
				env = append(env, "TERM="+p.Term,
					fmt.Sprintf("COLUMNS=%d", p.Cols), fmt.Sprintf("LINES=%d", p.Rows))
			}
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
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer close(done)
				s.runSession(ctx, ch, req.Type == "shell", e.Command, env, pty)
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

// runSession runs the command (or the interactive shell) and reports how it ended.
func (s *SSHServer) runSession(ctx context.Context, ch ssh.Channel, shell bool, command string,
	env []string, pty bool) {
	var stderr io.Writer = ch.Stderr()
	if pty {
		stderr = ch // a terminal shows both streams as one
	}

	var status int
	var sig string
	var err error
	if shell {
		status, sig, err = s.box.interactive(ctx, ch, ch, env, pty)
	} else {
		s.logger.Debug("ssh exec", "command", command)
		status, sig, err = s.box.Run(ctx, command, RunIO{
			Stdin: ch, Stdout: ch, Stderr: stderr, Env: env, TTY: pty,
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
