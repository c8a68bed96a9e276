package truenas

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCallSessionDiesBeforeSend covers the window between current() handing out a live
// session and the request being written: when the session dies there, nothing reached the
// server, so the call must go out on a fresh session instead of failing as connection lost.
// The window is held open by filling the in-flight slots before the call and freeing them
// only after the session died.
func TestCallSessionDiesBeforeSend(t *testing.T) {
	tests := []struct {
		name string
		job  bool
	}{
		{name: "plain call"},
		{name: "job call", job: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.jobMode = "events"
			s.handle("test.job", func(r *fakeReq) (any, *fakeErr) {
				return r.startJob("test.job", "done", "", nil), nil
			})
			c := connOf(t, dialFake(t, s))
			ctx := testCtx(t)
			c.mu.Lock()
			old := c.sess
			c.mu.Unlock()

			for range maxInFlight {
				c.sem <- struct{}{}
			}
			errc := make(chan error, 1)
			go func() {
				var out any
				if tt.job {
					errc <- c.CallJob(ctx, "test.job", nil, &out, nil)
					return
				}
				errc <- c.Call(ctx, "system.version", nil, &out)
			}()
			waitPending(t) // the call holds the live session and waits for a slot

			s.mu.Lock()
			for _, ss := range s.sessions {
				_ = ss.ws.Close()
			}
			s.mu.Unlock()
			<-old.done
			for range maxInFlight {
				<-c.sem
			}

			if err := <-errc; err != nil {
				t.Fatalf("call whose session died before sending = %v, want it resent", err)
			}
			if n := len(s.callsTo("auth.login_ex")); n != 2 {
				t.Errorf("logins = %d, want 2 (one reconnect)", n)
			}
		})
	}
}

// waitPending polls, with a deadline, until some goroutine is inside callOn: the call has
// its session from current() and waits for an in-flight slot.
func waitPending(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		n := runtime.Stack(buf, true)
		if strings.Contains(string(buf[:n]), "(*Conn).callOn(") {
			return
		}
		runtime.Gosched()
	}
	t.Fatal("the call never reached callOn")
}
