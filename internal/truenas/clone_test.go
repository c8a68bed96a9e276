package truenas

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestVirtCreateFrom(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(map[bool]string{false: "copy", true: "copy fails"}[fail], func(t *testing.T) {
			s := newFake(t)
			v := s.virtModel()
			cron := s.cronModel(func(string) (string, int) {
				if fail {
					return "cannot open 'tank/.ix-virt/containers/px-a@gone': dataset does " +
						"not exist\n", 1
				}
				return "", 0
			})
			v.add("px-a", "RUNNING")
			b := dialFake(t, s)

			spec := CreateSpec{Name: "px-b", Image: "debian/12", Memory: 1 << 30, Autostart: true}
			ct, err := b.CreateFrom(testCtx(t), spec, "px-a", "gone", nil)
			if fail {
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "px-a@gone") ||
					!errors.Is(err, ErrHalfMade) {
					t.Fatalf("CreateFrom = %v, want ErrNotFound naming the checkpoint, and "+
						"ErrHalfMade: the new container exists", err)
				}
				if n := len(s.callsTo("virt.instance.start")); n != 0 {
					t.Errorf("a failed copy was started %d times", n)
				}
				if cron.left() != 0 {
					t.Errorf("%d cron entries left", cron.left())
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateFrom: %v", err)
			}
			if ct.Name != "px-b" {
				t.Errorf("created %+v", ct)
			}
			var got []map[string]any
			_ = json.Unmarshal(s.callsTo("virt.instance.create")[0], &got)
			// The source's image, CPU and pool; the caller's memory.
			if got[0]["image"] != "ubuntu/noble" || got[0]["cpu"] != "2" ||
				got[0]["memory"] != float64(1<<30) || got[0]["storage_pool"] != "tank" {
				t.Errorf("shell create params = %v", got[0])
			}
			if n := len(s.callsTo("virt.instance.stop")); n != 1 {
				t.Errorf("shell stopped %d times before the copy, want 1", n)
			}
			cmds := cron.commands()
			if len(cmds) != 1 || !strings.Contains(cmds[0],
				"src='tank/.ix-virt/containers/px-a@gone'") ||
				!strings.Contains(cmds[0], "dst='tank/.ix-virt/containers/px-b'") {
				t.Errorf("root commands = %q", cmds)
			}
			if n := len(s.callsTo("virt.instance.start")); n != 1 ||
				s.lastCall("virt.instance.start") < s.lastCall("cronjob.run") ||
				s.lastCall("virt.instance.stop") > s.lastCall("cronjob.run") {
				t.Errorf("want stop, copy, start in that order (%d starts)", n)
			}
		})
	}
}

func TestLXCCreateFrom(t *testing.T) {
	s, x, b := dialLXC(t, "TrueNAS-26.0.0-RC.1")
	cron := s.cronModel(func(string) (string, int) { return "", 0 })
	src := x.add("px-a", "RUNNING")
	s.mu.Lock()
	src["description"] = imageTag + "alpine/3.20"
	s.mu.Unlock()

	if _, err := b.CreateFrom(testCtx(t), CreateSpec{Name: "px-b", Image: "debian/12",
		Autostart: true}, "px-a", "clean", nil); err != nil {
		t.Fatalf("CreateFrom: %v", err)
	}
	var got []map[string]any
	_ = json.Unmarshal(s.callsTo("container.create")[0], &got)
	if got[0]["description"] != imageTag+"alpine/3.20" || got[0]["autostart"] != true {
		t.Errorf("shell create params = %v: want the source's image, autostart kept", got[0])
	}
	cmds := cron.commands()
	if len(cmds) != 1 || !strings.Contains(cmds[0],
		"src='tank/.truenas_containers/containers/px-a@clean'") ||
		!strings.Contains(cmds[0], "dst='tank/.truenas_containers/containers/px-b'") {
		t.Errorf("root commands = %q", cmds)
	}
	// One start, after the copy (the shell is never started).
	if n := len(s.callsTo("container.start")); n != 1 {
		t.Errorf("container.start called %d times, want 1", n)
	}
	if s.lastCall("container.start") < s.lastCall("cronjob.run") {
		t.Errorf("started before the copy ran")
	}
	if cron.left() != 0 {
		t.Errorf("%d cron entries left", cron.left())
	}
}

// lastCall is the index of the last call to method, or -1.
func (s *fakeServer) lastCall(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	last := -1
	for i, c := range s.calls {
		if c.Method == method {
			last = i
		}
	}
	return last
}

// A source image the NAS cannot fetch any more falls back to the caller's image for the
// shell, whose root filesystem is replaced anyway.
func TestVirtCreateFromImageGone(t *testing.T) {
	s := newFake(t)
	v := s.virtModel()
	s.cronModel(func(string) (string, int) { return "", 0 })
	s.handle("virt.instance.create", func(r *fakeReq) (any, *fakeErr) {
		var p []map[string]any
		_ = json.Unmarshal(r.Params, &p)
		if p[0]["image"] == "ubuntu/noble" {
			return r.startJob("virt.instance.create", nil, `[EFAULT] Failed to create `+
				`instance: Image "ubuntu/noble" not found on remote LINUX_CONTAINERS`,
				map[string]any{"type": "CallError", "errno": 14}), nil
		}
		return v.create(r)
	})
	v.add("px-a", "STOPPED")
	b := dialFake(t, s)
	if _, err := b.CreateFrom(testCtx(t), CreateSpec{Name: "px-b", Image: "debian/12"},
		"px-a", "clean", nil); err != nil {
		t.Fatalf("CreateFrom: %v", err)
	}
	creates := s.callsTo("virt.instance.create")
	if len(creates) != 2 || !strings.Contains(string(creates[1]), `"image":"debian/12"`) {
		t.Errorf("creates = %s, want a retry with the caller's image", creates)
	}
}

// A name another client holds fails before anything is made: the caller must not delete it.
func TestVirtCreateFromNameTaken(t *testing.T) {
	s := newFake(t)
	v := s.virtModel()
	s.cronModel(func(string) (string, int) { return "", 0 })
	v.add("px-a", "STOPPED")
	v.add("px-b", "RUNNING")
	b := dialFake(t, s)
	_, err := b.CreateFrom(testCtx(t), CreateSpec{Name: "px-b", Image: "debian/12"}, "px-a",
		"clean", nil)
	if err == nil || errors.Is(err, ErrHalfMade) {
		t.Fatalf("CreateFrom onto a taken name = %v, want an error without ErrHalfMade", err)
	}
	if n := len(s.callsTo("cronjob.create")); n != 0 {
		t.Errorf("%d root jobs for a failed create", n)
	}
}
