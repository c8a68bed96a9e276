package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pixels-dev/pixels/internal/sim"
	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/term"
)

// TestMain lets the test binary act as the pixels command inside test scripts, and as the
// background simulator that pixels spawns from them.
func TestMain(m *testing.M) {
	os.Exit(testscript.RunMain(m, map[string]func() int{"pixels": pixelsMain}))
}

func pixelsMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	return run(ctx, os.Args[1:], env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		stdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		stderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	})
}

// schemaFile holds the real 25.04 method schemas, beside the project in every checkout.
const schemaFile = "../shared/truenas/methods-25.04.json"

// simVersions are the TrueNAS generations the simulator plays in the end-to-end suite.
var simVersions = []string{"25.04", "25.10", "26"}

// TestScripts runs testdata/script/*.txtar: the built binary, driven as a user would, against
// a simulator of its own per script, once for every TrueNAS generation the simulator plays.
func TestScripts(t *testing.T) {
	for _, version := range simVersions {
		t.Run(version, func(t *testing.T) {
			testscript.Run(t, scriptParams(version))
		})
	}
	// 26 RC.1 differs from BETA.3 only where the API refuses snapshot writes on container
	// datasets: run the scripts that depend on those.
	t.Run("26-rc", func(t *testing.T) {
		p := scriptParams("26-rc")
		p.Dir = ""
		for _, name := range rcScripts {
			p.Files = append(p.Files, filepath.Join("testdata", "script", name))
		}
		testscript.Run(t, p)
	})
}

// rcScripts are the end-to-end scripts also run against 26 RC.1.
var rcScripts = []string{"checkpoint.txtar", "copy.txtar"}

func scriptParams(version string) testscript.Params {
	return testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status": cmdStatus, "waitfile": cmdWaitfile},
		// [v26]: the simulator plays TrueNAS 26, which has no CPU or memory limits.
		Condition: func(cond string) (bool, error) {
			if cond == "v26" {
				return strings.HasPrefix(version, "26"), nil
			}
			// [sim:VERSION]: the simulator plays exactly that generation.
			if v, ok := strings.CutPrefix(cond, "sim:"); ok {
				return version == v, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(e *testscript.Env) error {
			home := e.WorkDir
			e.Setenv("HOME", home)
			e.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			e.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
			e.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
			e.Setenv("PIXELS_POLL_INTERVAL", "50ms")
			e.Setenv("PIXELS_RETRY_INTERVAL", "50ms")
			e.Setenv("PIXELS_SIM_IDLE", "2m")
			e.Setenv("PIXELS_SIM_VERSION", version)
			// Short simulated jobs keep the suite quick; scripts that inject faults set
			// their own list.
			e.Setenv("PIXELS_SIM_FAULTS", "job_time=20ms")
			e.Setenv("SIMVER", version)
			e.Setenv("SSH_AUTH_SOCK", "")
			// The simulator checks every request against TrueNAS's own method schemas.
			if schema, err := filepath.Abs(schemaFile); err == nil && version == "25.04" {
				if _, err := os.Stat(schema); err == nil {
					e.Setenv("PIXELS_SIM_SCHEMA", schema)
				}
			}
			simDir := filepath.Join(home, ".cache", "pixels", "sim")
			e.Defer(func() { _ = sim.StopBackground(simDir) })
			return nil
		},
	}
}

// cmdStatus is `status N CMD ARGS...`: run CMD and require exit status N, keeping its
// output for the stdout and stderr checks that follow.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: %q is not a number", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		got = xe.ExitCode()
	} else if err != nil {
		ts.Fatalf("status: %v", err)
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// cmdWaitfile is `waitfile PATH [VAR REGEXP]`: poll, up to a deadline, until PATH exists
// and, when VAR is given, its content matches REGEXP; VAR is then set to the last group of
// the match. It lets a script wait for a background command (a recipe writing a marker, a
// simulator writing its record) without fixed sleeps.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || (len(args) != 1 && len(args) != 3) {
		ts.Fatalf("usage: waitfile PATH [VAR REGEXP]")
	}
	path := ts.MkAbs(args[0])
	var re *regexp.Regexp
	if len(args) == 3 {
		var err error
		if re, err = regexp.Compile(args[2]); err != nil {
			ts.Fatalf("waitfile: %v", err)
		}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil {
			if re == nil {
				return
			}
			if m := re.FindSubmatch(b); m != nil {
				ts.Setenv(args[1], string(m[len(m)-1]))
				return
			}
		}
		select {
		case <-tick.C:
		case <-deadline:
			ts.Fatalf("waitfile: %s did not appear (or match) within 30s", args[0])
		}
	}
}

// TestLuaScripts runs the *_test.lua files of the built-in verbs and the example recipes,
// each test against a fresh in-process simulator, as `pixels script test` does for users.
func TestLuaScripts(t *testing.T) {
	for _, dir := range []string{"builtin", "scripts"} {
		t.Run(dir, func(t *testing.T) {
			var out strings.Builder
			code := run(context.Background(), []string{"script", "test", dir},
				env{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: testEnv(t)})
			t.Log(out.String())
			if code != 0 {
				t.Fatalf("pixels script test %s: exit %d", dir, code)
			}
			if !strings.Contains(out.String(), " 0 failed") || strings.Contains(out.String(), "\n0 passed") {
				t.Fatalf("unexpected summary:\n%s", out.String())
			}
		})
	}
}

// testEnv is an environment with every pixels path inside a temporary directory.
func testEnv(t *testing.T) func(string) string {
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "config"),
		"XDG_CACHE_HOME": filepath.Join(home, "cache"), "XDG_DATA_HOME": filepath.Join(home, "data"),
		"PIXELS_POLL_INTERVAL": "50ms", "PIXELS_RETRY_INTERVAL": "50ms"}
	return func(k string) string { return vars[k] }
}
