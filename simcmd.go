package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/pixels-dev/pixels/bindings"
	"github.com/pixels-dev/pixels/engine"
	"github.com/pixels-dev/pixels/internal/sim"
	"github.com/urfave/cli/v2"
)

// simCommand is `pixels sim ...`: the built-in TrueNAS simulator's controls.
func (a *app) simCommand() *cli.Command {
	return &cli.Command{
		Name:  "sim",
		Usage: "control the built-in TrueNAS simulator (serve, stop, reset, log, status)",
		Subcommands: []*cli.Command{
			{
				Name:  "serve",
				Usage: "serve the simulator in the foreground for any TrueNAS client",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "listen", Value: "127.0.0.1:0", Usage: "loopback address to listen on"},
					&cli.BoolFlag{Name: "tls", Usage: "serve wss:// with a self-signed certificate"},
					&cli.StringFlag{Name: "dir", Usage: "state directory (default: the cache dir's sim/)"},
					&cli.StringFlag{Name: "version", Value: defaultSimVersion,
						Usage:   "TrueNAS version to play (25.04, 25.10, 26, 26-rc)",
						EnvVars: []string{"PIXELS_SIM_VERSION"}},
					&cli.DurationFlag{Name: "idle", Usage: "exit after this long unused (0: never)"},
					&cli.StringFlag{Name: "schema", EnvVars: []string{"PIXELS_SIM_SCHEMA"},
						Usage: "check every request against this TrueNAS methods JSON file " +
							"and answer violations as TrueNAS does"},
					&cli.BoolFlag{Name: "background", Hidden: true},
				},
				Action: a.simServe,
			},
			{Name: "stop", Usage: "stop the background simulator",
				Action: func(c *cli.Context) error {
					return wrapSim(sim.StopBackground(a.simDir()))
				}},
			{Name: "reset", Usage: "stop the simulator and delete its containers and checkpoints",
				Action: func(c *cli.Context) error {
					if err := sim.Reset(a.simDir()); err != nil {
						return wrapSim(err)
					}
					entries := a.cache.All()
					for _, e := range entries {
						_ = a.cache.Delete(e.Name)
					}
					return nil
				}},
			{Name: "log", Usage: "show the commands a simulated container ran", ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					name := c.Args().First()
					if c.NArg() != 1 {
						return &engine.Error{Code: engine.CodeUsage, Message: "sim log: usage: pixels sim log NAME"}
					}
					if err := bindings.CheckName(name); err != nil {
						return &engine.Error{Code: engine.CodeInvalid, Message: err.Error()}
					}
					lines, err := sim.CommandLog(a.simDir(), bindings.Prefix+name)
					if errors.Is(err, fs.ErrNotExist) {
						return &engine.Error{Code: engine.CodeNotFound, Target: name,
							Message: fmt.Sprintf("sim log: no simulated container %q", name)}
					}
					if err != nil {
						return wrapSim(err)
					}
					if a.out.JSON {
						return engine.Render(a.env.stdout, toAny(lines), a.out)
					}
					for _, l := range lines {
						fmt.Fprintln(a.env.stdout, l)
					}
					return nil
				}},
			{Name: "status", Usage: "show whether the background simulator runs",
				Action: func(c *cli.Context) error {
					rec, err := sim.ReadRecord(a.simDir())
					if err != nil {
						return &engine.Error{Code: engine.CodeNotFound,
							Message: "the simulator is not running (it starts on first use)"}
					}
					left, err := sim.ReadLeftovers(a.simDir())
					if err != nil {
						return wrapSim(err)
					}
					return engine.Render(a.env.stdout, map[string]any{"pid": rec.PID,
						"url": rec.URL, "version": rec.Version, "dir": a.simDir(),
						"cron_jobs": left.CronJobs, "datasets": toAny(left.Datasets)}, a.out)
				}},
		},
	}
}

func toAny(lines []string) []any {
	out := make([]any, len(lines))
	for i, l := range lines {
		out[i] = l
	}
	return out
}

func wrapSim(err error) error {
	if err == nil {
		return nil
	}
	return &engine.Error{Code: engine.CodeInternal, Message: err.Error(), Err: err}
}

func (a *app) simServe(c *cli.Context) error {
	dir := c.String("dir")
	if dir == "" {
		dir = a.simDir()
	}
	opts := sim.Options{Dir: dir, Version: c.String("version"), Listen: c.String("listen"),
		TLS: c.Bool("tls"), Idle: c.Duration("idle"), Logger: a.log,
		SchemaFile: c.String("schema")}
	if c.Bool("background") {
		opts.Idle = 10 * time.Minute
		if v := os.Getenv("PIXELS_SIM_IDLE"); v != "" {
			if d, err := time.ParseDuration(v); err == nil {
				opts.Idle = d
			}
		}
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
		return wrapSim(sim.Serve(c.Context, opts, nil))
	}
	err := sim.Serve(c.Context, opts, func(s *sim.Server) {
		fmt.Fprintf(a.env.stdout, "url: %s\napi_key: %s\n", s.URL(), s.APIKey())
		fmt.Fprintf(a.env.stderr, "pixels: simulator serving on %s (state in %s); Ctrl-C stops it\n",
			strings.TrimSuffix(s.URL(), "/api/current"), dir)
	})
	return wrapSim(err)
}
