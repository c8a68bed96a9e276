package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pixels-dev/pixels/internal/cache"
	"github.com/pixels-dev/pixels/internal/truenas"
)

func TestUnfinishedCreates(t *testing.T) {
	list := []truenas.Container{{Name: "px-dead"}, {Name: "px-live"}, {Name: "px-elsewhere"}}
	creating := map[string]cache.Create{
		"t1": {Name: "dead", Host: "nas1", PID: 101, Started: time.Now()},
		"t2": {Name: "live", Host: "nas1", PID: 202, Started: time.Now()},
		"t3": {Name: "elsewhere", Host: "nas2", PID: 303, Started: time.Now()},
		"t4": {Name: "gone", Host: "nas1", PID: 404, Started: time.Now()},
		"t5": {Name: "dead", Host: "nas1", PID: 505, Started: time.Now()},
	}
	alive := func(pid int) bool { return pid == 202 }
	c, ok := unfinishedCreates(creating, "nas1", list, alive)
	if !ok || c.status != "warn" || !strings.HasPrefix(c.detail, "1 container(s)") ||
		!strings.Contains(c.detail, "dead (begun") ||
		!strings.HasSuffix(c.detail, "remove with: pixels destroy dead --force") {
		t.Fatalf("unfinishedCreates = %+v, %v", c, ok)
	}
	for _, other := range []string{"live", "elsewhere", "gone"} {
		if strings.Contains(c.detail, other) {
			t.Errorf("%q reported: %s", other, c.detail)
		}
	}
	if _, ok := unfinishedCreates(creating, "nas3", list, alive); ok {
		t.Error("records of other hosts reported")
	}
	if !processAlive(os.Getpid()) {
		t.Error("processAlive says this process is dead")
	}
	if processAlive(0) || processAlive(-1) {
		t.Error("processAlive accepts ids that name no single process")
	}
}
