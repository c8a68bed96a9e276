package sim

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// faults holds the injected misbehaviour parsed from Options.Faults. Counters are consumed
// under mu so that concurrent jobs see each budgeted failure exactly once.
type faults struct {
	mu             sync.Mutex
	deleteBusy     int
	ipLate         time.Duration
	jobTime        time.Duration
	cronTime       time.Duration
	stopHang       bool
	dropConnMidjob int
	earlyEvents    bool
	strictRollback bool
}

// defaultJobTime is the base job duration without a job_time fault.
const defaultJobTime = 100 * time.Millisecond

// parseFaults reads a comma separated fault list such as "delete_busy=2,ip_late=5s".
func parseFaults(spec string) (*faults, error) {
	f := &faults{jobTime: defaultJobTime}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, hasVal := strings.Cut(item, "=")
		if !hasVal && needsValue(key) {
			return nil, fmt.Errorf("parsing fault %q: missing value", item)
		}
		var err error
		switch key {
		case "delete_busy":
			f.deleteBusy, err = strconv.Atoi(val)
		case "drop_conn_midjob":
			f.dropConnMidjob, err = strconv.Atoi(val)
		case "ip_late":
			f.ipLate, err = time.ParseDuration(val)
		case "job_time":
			f.jobTime, err = time.ParseDuration(val)
		case "cron_time":
			f.cronTime, err = time.ParseDuration(val)
		case "stop_hang":
			f.stopHang = true
		case "early_events":
			f.earlyEvents = true
		case "strict_rollback":
			f.strictRollback = true
		default:
			return nil, fmt.Errorf("parsing fault %q: unknown fault (known: delete_busy, ip_late, "+
				"job_time, cron_time, stop_hang, drop_conn_midjob, early_events, strict_rollback)", item)
		}
		if err != nil {
			return nil, fmt.Errorf("parsing fault %q: %w", item, err)
		}
	}
	return f, nil
}

// needsValue reports whether a fault takes a "=VALUE" part.
func needsValue(key string) bool {
	switch key {
	case "delete_busy", "drop_conn_midjob", "ip_late", "job_time", "cron_time":
		return true
	}
	return false
}

// take consumes one unit of a counted fault and reports whether it fired.
func (f *faults) take(counter *int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *counter <= 0 {
		return false
	}
	*counter--
	return true
}
