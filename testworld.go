package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pixels-dev/pixels/bindings"
	"github.com/pixels-dev/pixels/engine"
	"github.com/pixels-dev/pixels/internal/cache"
	"github.com/pixels-dev/pixels/internal/sim"
	"github.com/pixels-dev/pixels/internal/ssh"
	"github.com/pixels-dev/pixels/internal/truenas"
	lua "github.com/yuin/gopher-lua"
)

// testWorld gives each script test its own in-process simulator, SSH key, known_hosts and
// cache in a temporary directory, so tests are independent and offline.
func (a *app) testWorld(ctx context.Context) (func(*engine.Runtime, *lua.LTable), func(), error) {
	dir, err := os.MkdirTemp("", "pixels-test-")
	if err != nil {
		return nil, nil, fmt.Errorf("script test: %w", err)
	}
	version := a.simVersion()
	simDir := filepath.Join(dir, "sim")
	srv, err := sim.New(sim.Options{Dir: simDir, Version: version})
	if err == nil {
		err = srv.Start(ctx)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("script test: starting a simulator: %w", err)
	}
	b, err := truenas.Dial(ctx, truenas.DialOptions{Host: srv.URL(), Username: "root",
		APIKey: srv.APIKey(), PollInterval: a.poll(), RetryInterval: a.poll()})
	if err != nil {
		srv.Close()
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("script test: %w", err)
	}
	sc, err := ssh.New(ssh.Options{DataDir: filepath.Join(dir, "data"), Notice: func(string) {}})
	if err != nil {
		b.Close()
		srv.Close()
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("script test: %w", err)
	}
	defaults := bindings.Defaults{Image: "debian/12", CPU: "1", Memory: 512}
	module := bindings.Install(bindings.Deps{
		Backend: func(context.Context) (truenas.Backend, error) { return b, nil },
		SSH:     func() (*ssh.Client, error) { return sc, nil },
		Cache:   cache.Open(filepath.Join(dir, "cache"), func(string) {}),
		SSHPort: func(pxName string) int {
			rec, err := sim.ReadRecord(simDir)
			if err != nil {
				return 0
			}
			return rec.SSHPorts[pxName]
		},
		Defaults: defaults,
		Poll:     a.poll(),
	})
	cleanup := func() {
		sc.Close()
		b.Close()
		srv.Close()
		os.RemoveAll(dir)
	}
	return module, cleanup, nil
}

func (a *app) poll() time.Duration {
	if a.cfg != nil && a.cfg.Timing.Poll > 0 && a.cfg.Timing.Poll < 200*time.Millisecond {
		return a.cfg.Timing.Poll
	}
	return 100 * time.Millisecond
}
