package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pixels-dev/pixels/bindings"
	"github.com/pixels-dev/pixels/builtin"
	"github.com/pixels-dev/pixels/engine"
	"github.com/pixels-dev/pixels/internal/cache"
	"github.com/pixels-dev/pixels/internal/config"
	"github.com/pixels-dev/pixels/internal/sim"
	"github.com/pixels-dev/pixels/internal/ssh"
	"github.com/pixels-dev/pixels/internal/truenas"
	"github.com/pixels-dev/pixels/scripts"
	"github.com/urfave/cli/v2"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/term"
)

// defaultSimVersion is the TrueNAS generation the simulator plays unless sim.version says
// otherwise: the newest one pixels fully supports (26 reports no addresses through its API
// and its RC refuses checkpoints on container datasets).
const defaultSimVersion = "25.10"

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// env is the process's outside world, passed in so tests can run pixels in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	stdoutTTY      bool
	stderrTTY      bool
}

// app holds what one invocation resolved: paths, config, and the lazily made connections.
type app struct {
	env   env
	paths config.Paths
	cfg   *config.Config
	out   engine.Output
	log   *slog.Logger
	sim   bool

	mu      sync.Mutex
	backend truenas.Backend
	sshc    *ssh.Client
	cache   *cache.Cache
}

// run is the whole program: it returns the exit status.
func run(ctx context.Context, args []string, e env) int {
	a := &app{env: e, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	paths, err := config.DefaultPaths(e.getenv)
	if err != nil {
		return a.fail(&engine.Error{Code: engine.CodeInvalid, Message: err.Error()})
	}
	a.paths = paths
	eng := engine.New(engine.Options{
		Name:        "pixels",
		Version:     version,
		Builtins:    builtin.FS,
		Examples:    scripts.FS,
		ScriptsDir:  filepath.Join(paths.Config, "scripts"),
		CacheDir:    paths.Cache,
		InitFile:    filepath.Join(paths.Config, "init.lua"),
		Module:      a.module,
		Features:    []string{"checkpoints", "parallel", "events", "defer", "json"},
		Stubs:       bindings.Stubs,
		Complete:    a.complete,
		TestWorld:   a.testWorld,
		GlobalFlags: globalFlags(),
		Commands:    []*cli.Command{a.simCommand(), a.doctorCommand()},
		Before:      a.before,
		Stdin:       e.stdin,
		Stdout:      e.stdout,
		Stderr:      e.stderr,
		StdoutTTY:   e.stdoutTTY,
		StderrTTY:   e.stderrTTY,
	})
	err = eng.Run(ctx, args)
	for _, w := range eng.Warnings() {
		fmt.Fprintf(e.stderr, "pixels: warning: script: %s\n", w)
	}
	a.close()
	if err == nil {
		return 0
	}
	if ctx.Err() != nil && engine.CodeOf(err) != engine.CodeUsage {
		var xe *engine.ExitError
		if !errors.As(err, &xe) {
			err = &engine.Error{Code: engine.CodeInterrupted, Message: "interrupted", Err: err}
		}
	}
	return a.fail(err)
}

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config",
			Usage: "config file (default $XDG_CONFIG_HOME/pixels/config.toml)"},
		&cli.StringFlag{Name: "host", Usage: "TrueNAS host, host:port or wss:// URL"},
		&cli.StringFlag{Name: "api-key", Usage: "TrueNAS API key (prefer PIXELS_TRUENAS_API_KEY)"},
		&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "owner of the API key"},
		&cli.BoolFlag{Name: "insecure", Usage: "accept any TLS certificate (self-signed NAS)"},
		&cli.BoolFlag{Name: "sim", Usage: "use the built-in simulator even when a host is configured"},
	}
}

// before loads the configuration once the global flags are parsed.
func (a *app) before(c *cli.Context, out engine.Output) error {
	a.out = out
	if out.Debug {
		a.log = slog.New(slog.NewTextHandler(a.env.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg, err := config.Load(c.String("config"), c.IsSet("config"), a.env.getenv)
	if err != nil {
		return &engine.Error{Code: engine.CodeInvalid, Message: err.Error(), Err: err}
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(a.env.stderr, "pixels: warning: %s\n", w)
	}
	if c.IsSet("host") {
		cfg.TrueNAS.Host = c.String("host")
	}
	if c.IsSet("api-key") {
		cfg.TrueNAS.APIKey = c.String("api-key")
	}
	if c.IsSet("username") {
		cfg.TrueNAS.Username = c.String("username")
	}
	if c.Bool("insecure") {
		cfg.TrueNAS.InsecureSkipVerify = true
	}
	if cfg.TrueNAS.InsecureSkipVerify && !cfg.SimMode() && !c.Bool("sim") {
		fmt.Fprintln(a.env.stderr, "pixels: warning: TLS certificate verification is off "+
			"(insecure_skip_verify); anyone on the path can read your API key")
	}
	a.cfg = cfg
	a.sim = c.Bool("sim") || cfg.SimMode()
	a.cache = cache.Open(a.paths.Cache, func(msg string) {
		fmt.Fprintf(a.env.stderr, "pixels: warning: %s\n", msg)
	})
	return nil
}

// complete lists container names, or a container's checkpoint labels (the container being
// the first positional word), from the cache: fast, and no TrueNAS call.
func (a *app) complete(kind string, positional []string) []string {
	c := cache.Open(a.paths.Cache, func(string) {})
	switch kind {
	case "container":
		var names []string
		for _, e := range c.All() {
			names = append(names, e.Name)
		}
		return names
	case "checkpoint":
		if len(positional) > 0 {
			return c.Checkpoints(positional[0])
		}
	}
	return nil
}

func (a *app) simDir() string { return filepath.Join(a.paths.Cache, "sim") }

// module installs the pixels Lua module for one runtime.
func (a *app) module(rt *engine.Runtime, mod *lua.LTable) {
	if a.cfg == nil {
		// Declaring: the functions exist (so a script calling one at load time is told it may
		// not) but have nothing to reach.
		bindings.Install(bindings.Deps{})(rt, mod)
		return
	}
	d := a.cfg.Defaults
	bindings.Install(bindings.Deps{
		Backend: a.connect,
		SSH:     func() (*ssh.Client, error) { return a.sshClient(rt) },
		Cache:   a.cache,
		SSHPort: a.sshPort,
		Defaults: bindings.Defaults{Image: d.Image, CPU: d.CPU, Memory: d.Memory, Pool: d.Pool,
			NIC: d.NICType, Parent: d.Parent, DNS: d.DNS},
		Poll:   a.cfg.Timing.Poll,
		Config: a.configView(),
		Target: a.target(),
	})(rt, mod)
}

// target names the TrueNAS this run talks to, for records kept across hosts in one cache:
// its configured host, or the simulator's state directory.
func (a *app) target() string {
	if a.sim {
		return "simulator:" + a.simDir()
	}
	return a.cfg.TrueNAS.Host
}

// ConfigView is px.config: what scripts may read of the configuration, never secrets.
type ConfigView struct {
	Host     string `luar:"host"`
	Username string `luar:"username"`
	Sim      bool   `luar:"sim"`
	Image    string `luar:"image"`
	CPU      string `luar:"cpu"`
	Memory   int    `luar:"memory"`
	Pool     string `luar:"pool"`
	SSHUser  string `luar:"ssh_user"`
	SSHPort  int    `luar:"ssh_port"`
}

func (a *app) configView() ConfigView {
	c := a.cfg
	return ConfigView{Host: c.TrueNAS.Host, Username: c.TrueNAS.Username, Sim: a.sim,
		Image: c.Defaults.Image, CPU: c.Defaults.CPU, Memory: c.Defaults.Memory,
		Pool: c.Defaults.Pool, SSHUser: c.SSH.User, SSHPort: c.SSH.Port}
}

// connect dials TrueNAS (or the simulator) once per invocation.
func (a *app) connect(ctx context.Context) (truenas.Backend, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.backend != nil {
		return a.backend, nil
	}
	opts := truenas.DialOptions{Host: a.cfg.TrueNAS.Host, Port: a.cfg.TrueNAS.Port,
		Username: a.cfg.TrueNAS.Username, APIKey: a.cfg.TrueNAS.APIKey,
		Password: a.cfg.TrueNAS.Password, InsecureSkipVerify: a.cfg.TrueNAS.InsecureSkipVerify,
		Logger: a.log, PollInterval: a.cfg.Timing.Poll, RetryInterval: a.cfg.Timing.Retry}
	if a.sim {
		rec, err := a.ensureSim(ctx)
		if err != nil {
			return nil, err
		}
		opts = truenas.DialOptions{Host: rec.URL, Username: "root", APIKey: rec.APIKey,
			Logger: a.log, PollInterval: a.cfg.Timing.Poll, RetryInterval: a.cfg.Timing.Retry}
	}
	opts.Warn = func(msg string) { fmt.Fprintf(a.env.stderr, "pixels: warning: %s\n", msg) }
	b, err := truenas.Dial(ctx, opts)
	if err != nil {
		return nil, err
	}
	a.backend = b
	return b, nil
}

// ensureSim starts the background simulator when none answers, saying so the first time
// its state is made.
func (a *app) ensureSim(ctx context.Context) (*sim.Record, error) {
	dir := a.simDir()
	_, statErr := os.Stat(filepath.Join(dir, "state.json"))
	fresh := errors.Is(statErr, os.ErrNotExist)
	rec, _, err := sim.Ensure(ctx, dir, a.simVersion(), a.spawnSim)
	if err != nil {
		return nil, fmt.Errorf("starting the simulator: %w: %w", err, truenas.ErrUnreachable)
	}
	if fresh && !a.out.JSON && !a.out.Quiet {
		fmt.Fprintf(a.env.stderr, "pixels: no TrueNAS configured: using the built-in simulator "+
			"(state in %s; set truenas.host in %s for a real NAS)\n", dir,
			filepath.Join(a.paths.Config, "config.toml"))
	}
	return rec, nil
}

// spawnSim runs this same program as the background simulator.
func (a *app) spawnSim() *exec.Cmd {
	self := os.Args[0]
	if p, err := exec.LookPath(self); err == nil {
		self = p
	} else if p, err := os.Executable(); err == nil {
		self = p
	}
	cmd := exec.Command(self, "sim", "serve", "--background", "--dir", a.simDir(),
		"--version", a.simVersion())
	cmd.Env = os.Environ()
	return cmd
}

func (a *app) simVersion() string {
	if a.cfg != nil && a.cfg.Sim.Version != "" {
		return a.cfg.Sim.Version
	}
	return defaultSimVersion
}

func (a *app) sshPort(pxName string) int {
	if a.sim {
		rec, err := sim.ReadRecord(a.simDir())
		if err == nil {
			return rec.SSHPorts[pxName]
		}
		return 0
	}
	return a.cfg.SSH.Port
}

func (a *app) sshClient(rt *engine.Runtime) (*ssh.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sshc != nil {
		return a.sshc, nil
	}
	c, err := ssh.New(ssh.Options{User: a.cfg.SSH.User, KeyPath: a.cfg.SSH.Key,
		DataDir: a.paths.Data, Logger: a.log,
		// Ten polls, at least two seconds: a refused key is final once the container has
		// settled.
		AuthGrace:  max(10*a.cfg.Timing.Poll, 2*time.Second),
		Notice:     func(msg string) { rt.Notice("%s", msg) },
		Passphrase: a.askPassphrase})
	if err != nil {
		return nil, err
	}
	a.sshc = c
	return c, nil
}

// askPassphrase reads an SSH key's passphrase from the terminal, without echo. Without a
// terminal it says how to do without one.
func (a *app) askPassphrase(prompt string) ([]byte, error) {
	in, ok := a.env.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return nil, errors.New("the key is passphrase-protected and there is no terminal to " +
			"ask on: add it to ssh-agent (ssh-add), or set ssh.key to a key without one")
	}
	fmt.Fprint(a.env.stderr, prompt)
	pass, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(a.env.stderr)
	return pass, err
}

func (a *app) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sshc != nil {
		_ = a.sshc.Close()
	}
	if a.backend != nil {
		_ = a.backend.Close()
	}
}

// exitCodes is the one table from error codes to exit statuses.
var exitCodes = map[string]int{
	engine.CodeUsage:       2,
	engine.CodePartial:     3,
	engine.CodeUnreachable: 4,
	engine.CodeAuth:        4,
	engine.CodeInterrupted: 130,
}

// exitCode maps an error to the process's exit status.
func exitCode(err error) int {
	var xe *engine.ExitError
	if errors.As(err, &xe) {
		return xe.Status & 0xff
	}
	var ee *engine.Error
	if errors.As(err, &ee) && ee.Status > 0 {
		return ee.Status
	}
	if c, ok := exitCodes[engine.CodeOf(err)]; ok {
		return c
	}
	return 1
}

// fail reports err on stderr, as one JSON object under --json, and returns the status.
func (a *app) fail(err error) int {
	code := exitCode(err)
	var xe *engine.ExitError
	if errors.As(err, &xe) {
		return code
	}
	msg := err.Error()
	var ee *engine.Error
	if errors.As(err, &ee) && a.out.Debug && ee.Traceback != "" {
		msg += "\n" + ee.Traceback
	}
	if a.out.JSON {
		b, _ := json.Marshal(map[string]string{"code": engine.CodeOf(err), "message": err.Error()})
		fmt.Fprintln(a.env.stderr, string(b))
		return code
	}
	msg = strings.TrimPrefix(msg, "pixels: ")
	fmt.Fprintf(a.env.stderr, "pixels: %s\n", msg)
	return code
}
