package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/pixels-dev/pixels/internal/cache"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pixels-dev/pixels/engine"
	"github.com/pixels-dev/pixels/internal/ssh"
	"github.com/pixels-dev/pixels/internal/truenas"
	"github.com/urfave/cli/v2"
)

// check is one line of `pixels doctor`.
type check struct {
	name, status, detail string
}

// doctorCommand checks configuration, TrueNAS and SSH, and says what to fix.
func (a *app) doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check config, TrueNAS connection and SSH setup, and say what to fix",
		Action: func(c *cli.Context) error {
			checks := a.doctor(c.Context)
			failed := 0
			var rows []any
			for _, ch := range checks {
				if ch.status == "fail" {
					failed++
				}
				rows = append(rows, map[string]any{"check": ch.name, "status": ch.status,
					"detail": ch.detail})
			}
			if a.out.JSON {
				if err := engine.Render(a.env.stdout, rows, a.out); err != nil {
					return err
				}
			} else {
				for _, ch := range checks {
					fmt.Fprintf(a.env.stdout, "%-5s %-15s %s\n", ch.status, ch.name, ch.detail)
				}
			}
			if failed > 0 {
				return &engine.Error{Code: engine.CodeFailed,
					Message: fmt.Sprintf("doctor: %d check(s) failed", failed)}
			}
			return nil
		},
	}
}

func (a *app) doctor(ctx context.Context) []check {
	var out []check
	file := a.cfg.File
	if file == "" {
		file = filepath.Join(a.paths.Config, "config.toml") + " (absent: defaults)"
	}
	if err := a.cfg.Strict(); err != nil {
		out = append(out, check{"config", "fail", strings.ReplaceAll(err.Error(), "\n", "; ")})
	} else {
		out = append(out, check{"config", "ok", file})
	}

	target := "simulator"
	if !a.sim {
		target = a.cfg.TrueNAS.Host
		if a.cfg.TrueNAS.APIKey == "" && a.cfg.TrueNAS.Password == "" {
			out = append(out, check{"credentials", "fail",
				"no API key: set truenas.api_key or PIXELS_TRUENAS_API_KEY"})
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	b, err := a.connect(cctx)
	if err != nil {
		out = append(out, check{"truenas", "fail", fmt.Sprintf("%s: %v", target, err)})
	} else {
		out = append(out, check{"truenas", "ok", fmt.Sprintf("%s, TrueNAS %s, logged in as %s",
			target, b.Version(), a.cfg.TrueNAS.Username)})
		if d, ok := b.(truenas.Diagnoser); ok {
			for _, f := range d.Diagnose(cctx, a.cfg.Defaults.NICType, a.cfg.Defaults.Parent) {
				out = append(out, check{f.Name, f.Status, f.Detail})
			}
		}
		list, err := b.List(cctx, "px-")
		if err != nil {
			out = append(out, check{"containers", "fail", err.Error()})
		} else {
			out = append(out, check{"containers", "ok", fmt.Sprintf("%d pixels container(s)", len(list))})
			if c, ok := leftoverCheckpoints(cctx, b, list); ok {
				out = append(out, c)
			}
			if a.cache != nil {
				if c, ok := unfinishedCreates(a.cache.Creating(), a.target(), list,
					processAlive); ok {
					out = append(out, c)
				}
			}
		}
	}

	sc, err := ssh.New(ssh.Options{User: a.cfg.SSH.User, KeyPath: a.cfg.SSH.Key,
		DataDir: a.paths.Data, Notice: func(string) {}})
	if err == nil {
		var key string
		key, err = sc.AuthorizedKey()
		_ = sc.Close()
		if err == nil {
			f := strings.Fields(key)
			detail := f[0]
			if len(f) > 2 {
				detail += " " + f[2]
			}
			out = append(out, check{"ssh key", "ok", detail})
		}
	}
	if err != nil {
		out = append(out, check{"ssh key", "fail", err.Error()})
	}

	if err := os.MkdirAll(a.paths.Cache, 0o755); err != nil {
		out = append(out, check{"cache", "warn", fmt.Sprintf("%s not writable: %v (pixels "+
			"still works, without the cache)", a.paths.Cache, err)})
	} else {
		out = append(out, check{"cache", "ok", a.paths.Cache})
	}
	return out
}

// copyLabelPrefix starts the label of the temporary checkpoint `create --from NAME` takes of
// NAME's current state (bindings.temporaryLabel); the copy deletes it, unless interrupted
// twice.
const copyLabelPrefix = "pixels-copy-"

// leftoverCheckpoints reports temporary copy checkpoints that an interrupted copy left on
// its source, with the command that deletes each. ok is false when there are none.
func leftoverCheckpoints(ctx context.Context, b truenas.Backend, list []truenas.Container) (
	check, bool) {
	var left, fixes []string
	for _, c := range list {
		snaps, err := b.Snapshots(ctx, c.Name)
		if err != nil {
			continue // the containers check already speaks for the connection
		}
		name := strings.TrimPrefix(c.Name, "px-")
		for _, sn := range snaps {
			if strings.HasPrefix(sn.Label, copyLabelPrefix) {
				left = append(left, name+"@"+sn.Label)
				fixes = append(fixes, "pixels checkpoint delete "+name+" "+sn.Label)
			}
		}
	}
	if len(left) == 0 {
		return check{}, false
	}
	return check{"checkpoints", "warn", fmt.Sprintf("%d temporary checkpoint(s) left by an "+
		"interrupted create --from: %s; delete with: %s", len(left), strings.Join(left, ", "),
		strings.Join(fixes, "; "))}, true
}

// unfinishedCreates reports containers on host whose create began on this machine and never
// ended: the run was killed, or interrupted twice, partway. Such a container may lack
// pixels' key, or be a copy that still carries its source's name and host keys. A create
// whose process is still alive is running, not unfinished; records of containers that no
// longer exist, or of another TrueNAS, are not reported. ok is false when there is nothing
// to report.
func unfinishedCreates(creating map[string]cache.Create, host string,
	list []truenas.Container, alive func(pid int) bool) (check, bool) {
	exists := map[string]bool{}
	for _, c := range list {
		exists[strings.TrimPrefix(c.Name, "px-")] = true
	}
	seen := map[string]bool{}
	var names, fixes []string
	for _, cr := range creating {
		if cr.Host != host || !exists[cr.Name] || seen[cr.Name] || alive(cr.PID) {
			continue
		}
		seen[cr.Name] = true
		names = append(names, fmt.Sprintf("%s (begun %s)", cr.Name,
			cr.Started.Local().Format("2006-01-02 15:04")))
		fixes = append(fixes, "pixels destroy "+cr.Name+" --force")
	}
	if len(names) == 0 {
		return check{}, false
	}
	sort.Strings(names)
	sort.Strings(fixes)
	return check{"creates", "warn", fmt.Sprintf("%d container(s) whose create never finished, "+
		"so they may be half made: %s; remove with: %s", len(names), strings.Join(names, ", "),
		strings.Join(fixes, "; "))}, true
}

// processAlive reports whether a process with this id runs on this machine. A zombie (killed,
// and not yet reaped by a parent that may never do so) counts as dead.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// "pid (comm) S ...": the state follows the last ')', as comm may hold one.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
			return stat[i+2] != 'Z' && stat[i+2] != 'X'
		}
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
