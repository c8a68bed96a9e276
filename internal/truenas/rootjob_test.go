package truenas

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"mvdan.cc/sh/v3/syntax"
)

// rootConn dials the fake as 25.04 with a cron model and returns the connection and the
// warnings it passes on.
func rootConn(t *testing.T, run func(string) (string, int)) (*fakeServer, *fakeCron, *Conn,
	func() []string) {
	t.Helper()
	s := newFake(t)
	cron := s.cronModel(run)
	b := dialFake(t, s)
	c := b.(*virt).c
	var mu sync.Mutex
	var warnings []string
	c.onWarn = func(m string) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, m)
	}
	return s, cron, c, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), warnings...)
	}
}

func TestRunAsRoot(t *testing.T) {
	s, cron, c, warnings := rootConn(t, func(cmd string) (string, int) {
		return "copied\n" + warnPrefix + "could not set quota on tank/x\n", 0
	})
	out, err := runAsRoot(testCtx(t), c, "copy a", "zfs list -H", nil)
	if err != nil {
		t.Fatalf("runAsRoot: %v", err)
	}
	if !strings.Contains(out, "copied") {
		t.Errorf("output = %q, want the job's logs", out)
	}
	if w := warnings(); len(w) != 1 || w[0] != "could not set quota on tank/x" {
		t.Errorf("warnings = %q", w)
	}
	var entry []map[string]any
	_ = json.Unmarshal(s.callsTo("cronjob.create")[0], &entry)
	e := entry[0]
	if e["user"] != "root" || e["enabled"] != false || e["stdout"] != false ||
		e["stderr"] != false || e["command"] != "zfs list -H" ||
		!strings.HasPrefix(e["description"].(string), rootJobPrefix) {
		t.Errorf("cron entry = %v: want a disabled root entry keeping both streams", e)
	}
	if cron.left() != 0 || len(s.callsTo("cronjob.delete")) != 1 {
		t.Errorf("cron entries left = %d, deletes = %d", cron.left(),
			len(s.callsTo("cronjob.delete")))
	}
}

func TestRunAsRootFailure(t *testing.T) {
	script := "zfs send 'tank/secret-script-text@x'"
	_, cron, c, _ := rootConn(t, func(string) (string, int) {
		return "cannot open 'tank/a@x': dataset does not exist\n", 1
	})
	_, err := runAsRoot(testCtx(t), c, "copy a@x into b", script, nil)
	var e *Error
	if !errors.As(err, &e) || e.JobID == 0 {
		t.Fatalf("err = %v, want a failed-job *Error", err)
	}
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "dataset does not exist") ||
		!strings.Contains(err.Error(), "copy a@x into b") {
		t.Errorf("err = %v, want ErrNotFound naming the task and quoting the output", err)
	}
	if strings.Contains(err.Error(), "secret-script-text") {
		t.Errorf("err = %v repeats the script instead of its output", err)
	}
	if cron.left() != 0 {
		t.Errorf("a failed run left %d cron entries", cron.left())
	}
}

func TestRunAsRootRefusesMultiline(t *testing.T) {
	s, _, c, _ := rootConn(t, func(string) (string, int) { return "", 0 })
	for _, script := range []string{"true\nfalse", "date +%s"} {
		if _, err := runAsRoot(testCtx(t), c, "x", script, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("runAsRoot(%q) = %v, want ErrInvalid", script, err)
		}
	}
	if n := len(s.callsTo("cronjob.create")); n != 0 {
		t.Errorf("%d cron entries created for refused scripts", n)
	}
}

// A cancel while the root job runs waits for the job (its own cleanup runs on the NAS) and
// still deletes the cron entry.
func TestRunAsRootCancelWaitsForJob(t *testing.T) {
	s, cron, c, _ := rootConn(t, func(string) (string, int) { return "", 0 })
	cron.hold = true
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		_, err := runAsRoot(ctx, c, "copy", "zfs list", nil)
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.callsTo("cronjob.run")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("cronjob.run never called")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	// The job is still RUNNING: the entry must outlive it. Wait for the client to poll the
	// job after the cancel, then end the job; the delete must come after that.
	polls := len(s.callsTo("core.get_jobs"))
	for len(s.callsTo("core.get_jobs")) < polls+2 {
		if time.Now().After(deadline) {
			t.Fatal("the client stopped following its job after the cancel")
		}
		time.Sleep(time.Millisecond)
	}
	s.mu.Lock()
	ended := len(s.calls)
	for id, j := range s.jobs {
		if j["method"] == "cronjob.run" {
			// A new map: replies being encoded may still read the old one.
			ended := map[string]any{}
			for k, v := range j {
				ended[k] = v
			}
			ended["state"] = "SUCCESS"
			s.jobs[id] = ended
		}
	}
	s.mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("err = %v, want nil: the job succeeded after the cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("runAsRoot did not return after its job ended")
	}
	if cron.left() != 0 {
		t.Errorf("cron entries left after cancel = %d", cron.left())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, call := range s.calls {
		if call.Method == "cronjob.delete" && i < ended {
			t.Errorf("cron entry deleted (call %d) before its job ended (call %d)", i, ended)
		}
	}
}

func TestCopyScriptIsOneParsableLine(t *testing.T) {
	script := copyScript("tank/.ix-virt/containers/px-a", "it's", "tank/.ix-virt/containers/px-b")
	if strings.ContainsAny(script, "\n%") {
		t.Fatalf("script has a newline or %%: %q", script)
	}
	if _, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(
		strings.NewReader(script), "copy"); err != nil {
		t.Fatalf("copy script does not parse as POSIX sh: %v\n%s", err, script)
	}
	if !strings.Contains(script, `'tank/.ix-virt/containers/px-a@it'\''s'`) {
		t.Errorf("source not quoted for sh: %s", script)
	}
}

func TestCronOutput(t *testing.T) {
	const cmd = "set -eu; zfs send 'a@b' | zfs recv 'c'"
	for _, tt := range []struct{ name, excerpt, want string }{
		{"empty", "", ""},
		{"short, logged twice", "copied\n" + warnPrefix + "x\n" + cronMarker + cmd +
			": copied\n" + warnPrefix + "x\n", "copied\n" + warnPrefix + "x"},
		{"no newline", "oops" + cronMarker + cmd + ": oops", "oops"},
		{"discarded stdout", "err\n" + cronMarker + cmd + " > /dev/null: err\n", "err"},
		{"long, cut in the middle", "l1\nl2\n... 4 more lines ...\nl2\nl3\n",
			"l1\nl2\n... 4 more lines ...\nl3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := cronOutput(tt.excerpt, cmd); got != tt.want {
				t.Errorf("cronOutput = %q, want %q", got, tt.want)
			}
		})
	}
}
