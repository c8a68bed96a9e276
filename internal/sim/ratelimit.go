package sim

import (
	"sync"
	"syscall"
	"time"
)

// loginLimit plays TrueNAS's limit on anonymous calls, as it bites in practice: after 20
// failed logins within a minute, further logins are refused with EBUSY "Rate Limit
// Exceeded" until the window has passed. (The simulator has one client address, loopback.)
type loginLimit struct {
	mu       sync.Mutex
	failures []time.Time
}

const (
	loginLimitCount  = 20
	loginLimitWindow = time.Minute
)

// refused reports whether a login must be refused now.
func (l *loginLimit) refused(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	return len(l.failures) >= loginLimitCount
}

// failed records a failed login.
func (l *loginLimit) failed(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	l.failures = append(l.failures, now)
}

func (l *loginLimit) prune(now time.Time) {
	i := 0
	for i < len(l.failures) && now.Sub(l.failures[i]) > loginLimitWindow {
		i++
	}
	l.failures = l.failures[i:]
}

func rateLimited() *rpcError {
	return callError(int(syscall.EBUSY), "Rate Limit Exceeded")
}
