package cache

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a second cache-writing process.
const helperEnv = "PIXELS_CACHE_TEST_WRITER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(helperWriter(spec))
	}
	os.Exit(m.Run())
}

// helperWriter puts n entries named prefix-i into dir; spec is "dir prefix n".
func helperWriter(spec string) int {
	var dir, prefix string
	var n int
	if _, err := fmt.Sscanf(spec, "%s %s %d", &dir, &prefix, &n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	c := Open(dir, nil)
	for i := range n {
		if err := c.Put(Entry{Name: fmt.Sprintf("%s-%d", prefix, i), IPv4: "127.0.0.1"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func TestPutGetDeleteAll(t *testing.T) {
	c := Open(filepath.Join(t.TempDir(), "nested", "pixels"), nil)

	if _, ok := c.Get("dev"); ok {
		t.Fatal("Get on an empty cache found an entry")
	}

	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	entries := []Entry{
		{Name: "web", IPv4: "127.77.0.3", Status: "RUNNING", SSHPort: 2222, UpdatedAt: when},
		{Name: "dev", IPv4: "127.77.0.2", Status: "RUNNING", UpdatedAt: when},
	}
	for _, e := range entries {
		if err := c.Put(e); err != nil {
			t.Fatal(err)
		}
	}

	got, ok := c.Get("web")
	if !ok || got != entries[0] {
		t.Errorf("Get(web) = %+v, %v; want %+v", got, ok, entries[0])
	}

	all := c.All()
	if len(all) != 2 || all[0].Name != "dev" || all[1].Name != "web" {
		t.Errorf("All() = %+v, want dev then web", all)
	}

	if err := c.Delete("dev"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("never-there"); err != nil {
		t.Errorf("Delete of an absent name: %v", err)
	}
	if _, ok := c.Get("dev"); ok {
		t.Error("dev still cached after Delete")
	}

	// A second Cache on the same dir sees the file, as another process would.
	if _, ok := Open(c.dir, nil).Get("web"); !ok {
		t.Error("a second Cache does not see web")
	}
}

func TestPutRefuses(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
	}{
		{"no ipv4", Entry{Name: "dev", Status: "RUNNING"}},
		{"no name", Entry{IPv4: "127.0.0.1"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Open(t.TempDir(), nil)
			if err := c.Put(tt.e); err == nil {
				t.Fatal("Put succeeded")
			}
			if len(c.All()) != 0 {
				t.Errorf("All() = %+v after a refused Put", c.All())
			}
		})
	}
}

func TestCorruptFile(t *testing.T) {
	tests := []struct {
		name, content string
	}{
		{"half written", `{"version":1,"containers":{"dev":{"name":"dev","ipv4":"127.`},
		{"garbage", "\x00\x01not json"},
		{"wrong shape", `{"containers": [1, 2, 3]}`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "cache.json"), []byte(tt.content),
				0o600); err != nil {
				t.Fatal(err)
			}

			var warnings []string
			c := Open(dir, func(s string) { warnings = append(warnings, s) })

			if _, ok := c.Get("dev"); ok {
				t.Error("Get found an entry in a corrupt file")
			}
			if len(c.All()) != 0 {
				t.Error("All() not empty for a corrupt file")
			}
			if len(warnings) != 1 {
				t.Errorf("got %d warnings, want exactly 1: %q", len(warnings), warnings)
			}

			// A write replaces the damage with a good file.
			if err := c.Put(Entry{Name: "dev", IPv4: "127.0.0.9"}); err != nil {
				t.Fatal(err)
			}
			if e, ok := Open(dir, nil).Get("dev"); !ok || e.IPv4 != "127.0.0.9" {
				t.Errorf("after repair Get = %+v, %v", e, ok)
			}
		})
	}
}

func TestUnwritableDir(t *testing.T) {
	base := t.TempDir()

	notDir := filepath.Join(base, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{"dir is a file": notDir}

	if os.Geteuid() != 0 { // root ignores permission bits
		ro := filepath.Join(base, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		dirs["read-only dir"] = ro
	}

	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			c := Open(dir, nil)
			if err := c.Put(Entry{Name: "dev", IPv4: "127.0.0.1"}); err == nil {
				t.Error("Put into an unwritable dir succeeded")
			}
			if err := c.Delete("dev"); err == nil {
				t.Error("Delete in an unwritable dir succeeded")
			}
			if _, ok := c.Get("dev"); ok {
				t.Error("Get found an entry")
			}
		})
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	dir := t.TempDir()
	const writers, each = 8, 20

	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			c := Open(dir, nil) // separate Caches, as separate processes would have
			for i := range each {
				name := "c" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				errs <- c.Put(Entry{Name: name, IPv4: "127.0.0.1"})
			}
		})
	}
	wg.Wait()
	close(errs)

	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(Open(dir, nil).All()); n != writers*each {
		t.Errorf("cache holds %d entries, want %d (a write was lost)", n, writers*each)
	}
}

func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	const procs, each = 3, 25

	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s p%d %d", helperEnv, dir, p, each))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("writer process: %v", err)
		}
	}

	var warnings []string
	all := Open(dir, func(s string) { warnings = append(warnings, s) }).All()
	if len(all) != procs*each || len(warnings) != 0 {
		t.Errorf("cache holds %d entries (want %d), warnings %q", len(all), procs*each, warnings)
	}
}

func TestCheckpointLabels(t *testing.T) {
	c := Open(t.TempDir(), nil)
	if got := c.Checkpoints("dev"); got != nil {
		t.Fatalf("empty cache has labels %v", got)
	}
	if err := c.PutCheckpoints("dev", []string{"b", "a"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(Entry{Name: "dev", IPv4: "127.0.2.10"}); err != nil {
		t.Fatal(err)
	}
	if got := c.Checkpoints("dev"); len(got) != 2 || got[0] != "b" {
		t.Fatalf("labels = %v, want [b a] (a container write must keep them)", got)
	}
	if err := c.PutCheckpoints("dev", nil); err != nil {
		t.Fatal(err)
	}
	if got := c.Checkpoints("dev"); got != nil {
		t.Fatalf("labels after forgetting = %v", got)
	}
}

func TestCreateRecords(t *testing.T) {
	c := Open(t.TempDir(), nil)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Two runs race for "a" on one host; another "a" is made on another host.
	must(c.BeginCreate("a", "nas1", "t1"))
	must(c.BeginCreate("a", "nas1", "t2"))
	must(c.BeginCreate("a", "nas2", "t3"))
	must(c.EndCreate("t2")) // the loser ends its own record only
	got := c.Creating()
	if len(got) != 2 || got["t1"].Name != "a" || got["t1"].Host != "nas1" ||
		got["t1"].PID != os.Getpid() || got["t1"].Started.IsZero() {
		t.Fatalf("Creating = %+v", got)
	}
	must(c.EndCreates("a", "nas1")) // a destroy on nas1 leaves nas2's record
	if got := c.Creating(); len(got) != 1 || got["t3"].Host != "nas2" {
		t.Fatalf("Creating after the destroy = %+v", got)
	}
}
