package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pixels-dev/pixels/internal/sim"
)

var soakFlag = flag.Bool("soak", false, "run TestSoak, the fault-injected lifecycle loop")

// Soak bounds: iterations in all, iterations per simulator (each gets new random faults),
// and the whole test's deadline.
const (
	soakIterations = 30
	soakPhase      = 10
	soakDeadline   = 5 * time.Minute
)

// TestSoak drives pixels in-process through create, exec, checkpoint and destroy in a
// bounded loop against an in-process simulator with random injected faults, then checks
// that nothing leaked: no containers or checkpoints, no goroutines, no heap growth. It runs
// only with -soak or PIXELS_SOAK=1:
//
//	go test -run TestSoak -v . -args -soak     (or PIXELS_SOAK=1 go test -run TestSoak .)
//
// PIXELS_SOAK_SEED=N replays the faults of an earlier run (the seed is logged).
func TestSoak(t *testing.T) {
	if !*soakFlag && os.Getenv("PIXELS_SOAK") != "1" {
		t.Skip("soak test: run with -soak or PIXELS_SOAK=1")
	}
	if flag.Arg(0) == "sim" {
		// pixels would start its background simulator by running os.Args[0], this binary,
		// if ours were gone; it must then never run the soak loop itself.
		t.Skip("soak test: this binary was started as the simulator, not as a test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), soakDeadline)
	defer cancel()

	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("PIXELS_SOAK_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("PIXELS_SOAK_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (replay with PIXELS_SOAK_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	// The simulator runs in this process. pixels must find it and never spawn its own: that
	// would run os.Args[0], this test binary, so the version asked for is pinned to ours.
	base := testEnv(t)
	getenv := func(k string) string {
		if k == "PIXELS_SIM_VERSION" {
			return defaultSimVersion
		}
		return base(k)
	}
	simDir := filepath.Join(getenv("XDG_CACHE_HOME"), "pixels", "sim")
	r := &soakRig{t: t, ctx: ctx, getenv: getenv}

	goroutinesBefore := runtime.NumGoroutine()
	var heapAt5 uint64
	var srv *sim.Server
	defer func() {
		if srv != nil {
			srv.Close()
		}
	}()
	for i := range soakIterations {
		if i%soakPhase == 0 {
			if srv != nil {
				srv.Close()
			}
			faults := randomFaults(rng)
			t.Logf("iteration %d: simulator faults %s", i+1, faults)
			srv = startSoakSim(t, ctx, simDir, faults)
		}
		r.cycle(fmt.Sprintf("soak-%d", i+1))
		if i+1 == 5 {
			heapAt5 = liveHeap()
		}
	}

	if out := r.pixels("list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("pixels list --json after the loop = %q, want []", out)
	}
	entries, err := os.ReadDir(filepath.Join(simDir, "containers"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("reading the simulator's containers: %v", err)
	}
	for _, e := range entries {
		t.Errorf("the simulator still holds container %s (with its checkpoints)", e.Name())
	}
	heapEnd := liveHeap()
	t.Logf("live heap: %d KiB at iteration 5, %d KiB after %d", heapAt5>>10, heapEnd>>10,
		soakIterations)
	if heapEnd > 3*heapAt5 {
		t.Errorf("live heap grew from %d KiB to %d KiB (more than 3x)", heapAt5>>10, heapEnd>>10)
	}

	srv.Close()
	srv = nil
	waitGoroutines(t, goroutinesBefore)
}

// soakRig runs pixels in-process in one temporary world.
type soakRig struct {
	t      *testing.T
	ctx    context.Context
	getenv func(string) string
}

// pixels runs one pixels command and returns its stdout; a non-zero exit fails the test.
func (r *soakRig) pixels(args ...string) string {
	r.t.Helper()
	var out, errb bytes.Buffer
	code := run(r.ctx, args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: r.getenv})
	if code != 0 {
		r.t.Fatalf("pixels %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "),
			code, out.String(), errb.String())
	}
	return out.String()
}

// cycle is one iteration: a container created, used, checkpointed and destroyed.
func (r *soakRig) cycle(name string) {
	r.t.Helper()
	r.pixels("create", name, "--image", "debian/12")
	if got := r.pixels("exec", name, "--", "echo", "soak-"+name); got != "soak-"+name+"\n" {
		r.t.Fatalf("pixels exec %s echoed %q", name, got)
	}
	r.pixels("exec", name, "--", "sh", "-c", "echo data > /root/state")
	r.pixels("checkpoint", "create", name, "--label", "base")
	if got := r.pixels("checkpoint", "list", name, "--json"); !strings.Contains(got, `"base"`) {
		r.t.Fatalf("pixels checkpoint list %s = %q, want the checkpoint base", name, got)
	}
	r.pixels("destroy", name, "--force")
}

// startSoakSim starts an in-process simulator on the world's simulator directory, where
// pixels finds it through the Record instead of spawning a background one.
func startSoakSim(t *testing.T, ctx context.Context, dir, faults string) *sim.Server {
	t.Helper()
	srv, err := sim.New(sim.Options{Dir: dir, Faults: faults, Version: defaultSimVersion})
	if err != nil {
		t.Fatalf("making the simulator: %v", err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	rec, err := sim.ReadRecord(dir)
	if err != nil || rec.PID != os.Getpid() {
		srv.Close()
		t.Fatalf("the simulator record is not this process's (%v): pixels would spawn one", err)
	}
	return srv
}

// randomFaults picks a non-empty mix of the faults a real NAS shows under churn.
func randomFaults(rng *rand.Rand) string {
	var f []string
	for len(f) == 0 {
		if rng.IntN(2) == 0 {
			f = append(f, fmt.Sprintf("delete_busy=%d", 1+rng.IntN(2))) // destroy tries 3 times
		}
		if rng.IntN(2) == 0 {
			f = append(f, fmt.Sprintf("ip_late=%dms", 100+rng.IntN(400)))
		}
		if rng.IntN(2) == 0 {
			f = append(f, "early_events")
		}
	}
	return strings.Join(f, ",")
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// waitGoroutines polls, within a deadline, until no more goroutines run than before the
// loop (plus a small allowance for the runtime's own), and fails with their stacks if not.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	const allowance = 2
	deadline := time.Now().Add(10 * time.Second)
	n := runtime.NumGoroutine()
	for n > before+allowance && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling a condition under a deadline
		n = runtime.NumGoroutine()
	}
	t.Logf("goroutines: %d before the loop, %d after", before, n)
	if n > before+allowance {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("goroutines grew from %d to %d; stacks:\n%s", before, n, buf)
	}
}

// BenchmarkStartup is `pixels --help` in-process with no user recipes and with 50 trivial
// ones, the startup figure of bench/run.sh without process start-up, so that it can be
// profiled (-cpuprofile). It reports "x-none": this case's time over the case without
// recipes, measured alongside.
//
//	go test -bench Startup -run '^$' .
func BenchmarkStartup(b *testing.B) {
	none := startupWorld(b, 0)
	for _, n := range []int{0, 50} {
		b.Run(fmt.Sprintf("scripts=%d", n), func(b *testing.B) {
			getenv := startupWorld(b, n)
			var with, without time.Duration
			for b.Loop() {
				start := time.Now()
				startupRun(b, getenv)
				with += time.Since(start)
				start = time.Now()
				startupRun(b, none)
				without += time.Since(start)
			}
			b.ReportMetric(float64(with)/float64(without), "x-none")
		})
	}
}

// startupWorld is an environment whose scripts dir holds n trivial recipes.
func startupWorld(b *testing.B, n int) func(string) string {
	home := b.TempDir()
	dir := filepath.Join(home, "config", "pixels", "scripts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		src := fmt.Sprintf("local px = require(\"pixels\")\nreturn px.command { name = \"bench%d\","+
			" summary = \"trivial command %d\", run = function() return %d end }\n", i, i, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("bench%d.lua", i)), []byte(src),
			0o644); err != nil {
			b.Fatal(err)
		}
	}
	vars := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "config"),
		"XDG_CACHE_HOME": filepath.Join(home, "cache"), "XDG_DATA_HOME": filepath.Join(home, "data")}
	return func(k string) string { return vars[k] }
}

func startupRun(b *testing.B, getenv func(string) string) {
	var out bytes.Buffer
	code := run(context.Background(), []string{"--help"}, env{stdin: strings.NewReader(""),
		stdout: &out, stderr: &out, getenv: getenv})
	if code != 0 {
		b.Fatalf("pixels --help: exit %d\n%s", code, out.String())
	}
}
