package sim

// Booting a simulated container. Each time a container starts, its Box runs what a real init
// would run at boot (see bootHooks for which init and in what order): the ExecStart= lines of
// every enabled systemd service, /etc/rc.local, or OpenRC's /etc/local.d/*.start scripts.
// This is how pixels' own boot hooks (the sshd hook, and on 26 the address reporter) take
// effect in the simulator. Each command is bounded in time and ends when the container
// stops, is deleted, or the server closes. Failures go to the command log ("boot failed:")
// and the server log; they never fail the start. Like systemd's default for a service, and
// unlike OpenRC, a hook's background jobs end when the hook's script does.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// bootHookLimit bounds each boot command, much as systemd's start timeout bounds a unit.
const bootHookLimit = 2 * time.Minute

// bootStopWait bounds how long stopping a container waits for its cancelled boot commands.
const bootStopWait = 2 * time.Second

// bootRun is the boot of one container start.
type bootRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// bootHook is one thing started at boot: a unit's commands, run in order until one fails, or
// the local.d scripts, each run whatever the others did.
type bootHook struct {
	source    string // the unit file or script directory, for logs
	cmds      []string
	keepGoing bool
	err       error // the unit could not be read
}

// startBoot runs the boot hooks of a container that has just started, in the background.
// Called with mu held.
func (s *Server) startBoot(name string) {
	s.stopBoot(name)
	box, ok := s.boxes[name]
	if !ok || s.bootShut {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	run := &bootRun{cancel: cancel, done: make(chan struct{})}
	s.boots[name] = run
	limit := s.bootLimit
	s.bootWG.Add(1)
	go func() {
		defer s.bootWG.Done()
		defer close(run.done)
		defer cancel()
		s.boot(ctx, name, box, limit)
	}()
}

// stopBoot cancels a container's boot hooks and waits a moment for them to end, so that a
// stopped container's tree and log settle. The hooks never take mu, so waiting here cannot
// deadlock. Called with mu held.
func (s *Server) stopBoot(name string) {
	run, ok := s.boots[name]
	if !ok {
		return
	}
	delete(s.boots, name)
	run.cancel()
	t := time.NewTimer(bootStopWait)
	defer t.Stop()
	select {
	case <-run.done:
	case <-t.C:
		s.log.Warn("boot hooks still running after their container stopped", "container", name)
	}
}

// closeBoots refuses new boots and waits for the running ones, which the server's cancelled
// context ends. Called without mu, after the context is cancelled.
func (s *Server) closeBoots() {
	s.mu.Lock()
	s.bootShut = true
	for name, run := range s.boots {
		run.cancel()
		delete(s.boots, name)
	}
	s.mu.Unlock()
	s.bootWG.Wait()
}

// publishAddrs tells a container's Box its addresses: its SSH listener's address while it
// runs (hidden for ip_late after the start, as the API hides it), none once it stops.
// Called with mu held.
func (s *Server) publishAddrs(in *instance) {
	box, ok := s.boxes[in.Name]
	if !ok {
		return
	}
	e, listening := s.sshd[in.Name]
	if !listening || in.Status != statusRunning {
		box.SetAddrs(nil, time.Time{})
		return
	}
	box.SetAddrs([]string{e.ip}, in.StartedAt.Add(s.faults.ipLate))
}

// boot runs the box's hooks phase by phase, the hooks of one phase side by side.
func (s *Server) boot(ctx context.Context, name string, box *Box, limit time.Duration) {
	for _, phase := range bootHooks(box) {
		var wg sync.WaitGroup
		for _, h := range phase {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.runHook(ctx, name, box, h, limit)
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
	}
}

// runHook runs one hook's commands, each within limit, and reports what failed.
func (s *Server) runHook(ctx context.Context, name string, box *Box, h bootHook,
	limit time.Duration) {
	fail := func(what, reason string, out string) {
		if err := box.record("boot failed: " + what + ": " + reason); err != nil {
			s.log.Debug("recording boot failure", "container", name, "err", err)
		}
		s.log.Warn("boot hook failed", "container", name, "source", h.source, "command", what,
			"reason", reason, "output", out)
	}
	if h.err != nil {
		fail(h.source, h.err.Error(), "")
		return
	}

	for _, cmd := range h.cmds {
		if ctx.Err() != nil {
			return
		}
		if err := box.record("boot: " + cmd); err != nil {
			s.log.Debug("recording boot command", "container", name, "err", err)
			return // the box is gone
		}
		out := &tailBuffer{}
		hctx, cancel := context.WithTimeout(ctx, limit)
		status, _, err := box.runUnrecorded(hctx, cmd, RunIO{Stdout: out, Stderr: out})
		timedOut := errors.Is(hctx.Err(), context.DeadlineExceeded)
		cancel()
		var reason string
		switch {
		case ctx.Err() != nil:
			s.log.Debug("boot hook ended with its container", "container", name, "command", cmd)
			return
		case timedOut:
			reason = fmt.Sprintf("still running after %s, stopped", limit)
		case err != nil:
			reason = err.Error()
		case status != 0:
			reason = fmt.Sprintf("exit status %d", status)
		default:
			continue
		}
		fail(cmd, reason, out.String())
		if !h.keepGoing {
			return
		}
	}
}

// tailBuffer keeps the last few KiB written to it, for the log of a failed hook. Pipelines
// write from several goroutines, so it locks.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// tailKeep is how much output a tailBuffer keeps.
const tailKeep = 4 << 10

// Write implements io.Writer.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()

	t.buf.Write(p)
	if extra := t.buf.Len() - tailKeep; extra > 0 {
		t.buf.Next(extra)
	}

	return len(p), nil
}

// String returns what was kept.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()

	return strings.TrimSpace(t.buf.String())
}
