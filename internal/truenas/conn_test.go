package truenas

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// connOf reaches the connection under a backend.
func connOf(t *testing.T, b Backend) *Conn {
	t.Helper()
	v, ok := b.(*virt)
	if !ok {
		t.Fatalf("backend is %T, want *virt", b)
	}
	return v.c
}

func TestCallErrors(t *testing.T) {
	tests := []struct {
		name    string
		reply   *fakeErr
		kind    error
		errno   int
		errname string
		reason  string
	}{
		{"validation not found takes errno from extra",
			validationErr(2, "ENOENT", "None", "VirtInstance px-gone does not exist"),
			ErrNotFound, 2, "ENOENT", "[ENOENT] None: VirtInstance px-gone does not exist"},
		{"validation other", validationErr(22, "EINVAL", "x.name", "Invalid snapshot name"),
			ErrInvalid, 22, "EINVAL", "[EINVAL] x.name: Invalid snapshot name"},
		{"call error exists", callErr(17, "EEXIST", "Failed to snapshot a@b: already exists"),
			ErrExists, 17, "EEXIST", ""},
		{"call error busy", callErr(16, "EBUSY", "Rate Limit Exceeded"), ErrBusy, 16, "EBUSY", ""},
		{"not authenticated", callErr(207, "ENOTAUTHENTICATED", "Not authenticated"), ErrAuth,
			207, "ENOTAUTHENTICATED", ""},
		{"fault has no sentinel", callErr(14, "EFAULT", "Virtualization not initialized."), nil,
			14, "EFAULT", ""},
		{"no method", &fakeErr{Code: -32601, Message: "Method does not exist"}, ErrUnsupported,
			0, "", "Method does not exist"},
		{"too many calls",
			&fakeErr{Code: -32000, Message: "Maximum number of concurrent calls (20) has exceeded"},
			ErrBusy, 0, "", ""},
		{"os error text", &fakeErr{Code: -32001, Message: "Method call error", Data: map[string]any{
			"error": 22, "reason": "[Errno 13] Permission denied: '/x'", "extra": nil}},
			ErrInvalid, 22, "EINVAL", "[Errno 13] Permission denied: '/x'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.handle("test.method", func(*fakeReq) (any, *fakeErr) { return nil, tt.reply })
			c := connOf(t, dialFake(t, s))

			err := c.Call(testCtx(t), "test.method", nil, nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Call error = %v (%T), want *Error", err, err)
			}
			if e.Kind != tt.kind || (tt.kind != nil && !errors.Is(err, tt.kind)) {
				t.Errorf("Kind = %v, want %v", e.Kind, tt.kind)
			}
			if e.Errno != tt.errno || e.Errname != tt.errname || e.Code != tt.reply.Code {
				t.Errorf("errno %d %q code %d, want %d %q %d", e.Errno, e.Errname, e.Code,
					tt.errno, tt.errname, tt.reply.Code)
			}
			if tt.reason != "" && e.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", e.Reason, tt.reason)
			}
			if e.Method != "test.method" {
				t.Errorf("Method = %q", e.Method)
			}
		})
	}
}

func TestCallDecodesResult(t *testing.T) {
	s := newFake(t)
	s.handle("test.date", func(*fakeReq) (any, *fakeErr) {
		return map[string]any{"when": map[string]any{"$date": 1754042400000}}, nil
	})
	c := connOf(t, dialFake(t, s))

	var out struct {
		When wireTime `json:"when"`
	}
	if err := c.Call(testCtx(t), "test.date", nil, &out); err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(1754042400, 0).UTC(); !out.When.Equal(want) {
		t.Errorf("date = %v, want %v", out.When, want)
	}
}

func TestCallHonoursContext(t *testing.T) {
	s := newFake(t)
	s.handle("test.hang", func(*fakeReq) (any, *fakeErr) { return nil, errNoReply })
	c := connOf(t, dialFake(t, s))

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, "test.hang", nil, nil)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call error = %v, want ErrTimeout and DeadlineExceeded", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	err = c.Call(ctx, "test.hang", nil, nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Call error = %v, want context.Canceled only", err)
	}
}

// TestCallsInFlightBounded runs more calls than the server allows at once and checks the
// client never has more than 20 outstanding, while all of them still succeed.
func TestCallsInFlightBounded(t *testing.T) {
	s := newFake(t)
	release := make(chan struct{})
	s.handle("test.slow", func(*fakeReq) (any, *fakeErr) {
		<-release
		return "ok", nil
	})
	c := connOf(t, dialFake(t, s))
	ctx := testCtx(t)

	const calls = 45
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out string
			errs <- c.Call(ctx, "test.slow", nil, &out)
		}()
	}

	deadline := time.Now().Add(3 * time.Second)
	for len(s.callsTo("test.slow")) < maxInFlight && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling a condition under a deadline
	}
	if got := len(s.callsTo("test.slow")); got != maxInFlight {
		t.Errorf("calls reaching the server while blocked = %d, want %d", got, maxInFlight)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Call: %v", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxFlight > maxInFlight {
		t.Errorf("server saw %d calls in flight, limit %d", s.maxFlight, maxInFlight)
	}
}

func TestCallConnectionLost(t *testing.T) {
	s := newFake(t)
	s.handle("test.drop", func(r *fakeReq) (any, *fakeErr) {
		_ = r.ss.ws.Close()
		return nil, errNoReply
	})
	c := connOf(t, dialFake(t, s))

	err := c.Call(testCtx(t), "test.drop", nil, nil)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Call error = %v, want ErrUnreachable", err)
	}
	// The next call reconnects, logs in and subscribes again.
	if err := c.Call(testCtx(t), "system.version", nil, nil); err != nil {
		t.Fatalf("Call after loss = %v, want a reconnect", err)
	}
	if n := len(s.callsTo("core.subscribe")); n != 2 {
		t.Errorf("core.subscribe calls = %d, want 2", n)
	}
	s.mu.Lock()
	s.apiKey = "1-rotated" // the key is no longer accepted: reconnecting must fail cleanly
	for _, ss := range s.sessions {
		_ = ss.ws.Close()
	}
	s.mu.Unlock()
	c.mu.Lock()
	cur := c.sess
	c.mu.Unlock()
	<-cur.done
	err = c.Call(testCtx(t), "system.version", nil, nil)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Call with a rejected key after loss = %v, want ErrAuth", err)
	}
}

func TestLogParamsRedactsAuth(t *testing.T) {
	tests := []struct {
		method string
		params []any
		hidden string
	}{
		{"auth.login_ex", []any{map[string]any{"api_key": "1-secret"}}, "1-secret"},
		{"auth.login_with_api_key", []any{"1-secret"}, "1-secret"},
		{"filesystem.file_receive", []any{"/p", "c2VjcmV0", map[string]any{}}, "c2VjcmV0"},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			got := fmt.Sprint(logParams(tt.method, tt.params))
			if strings.Contains(got, tt.hidden) {
				t.Errorf("logParams = %q shows %q", got, tt.hidden)
			}
		})
	}
}

// TestKeepalive checks both sides of the ping: an answering server keeps an idle
// connection alive past the dead-peer limit, and a silent one is declared gone.
func TestKeepalive(t *testing.T) {
	oldPing, oldWait := pingInterval, pongWait
	pingInterval, pongWait = 20*time.Millisecond, 60*time.Millisecond
	t.Cleanup(func() { pingInterval, pongWait = oldPing, oldWait })

	tests := []struct {
		name   string
		answer bool
	}{
		{"pongs keep it alive", true},
		{"silent peer is dropped", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.handle("test.mute", func(r *fakeReq) (any, *fakeErr) {
				s.mu.Lock()
				s.mutePings = !tt.answer
				s.mu.Unlock()
				return true, nil
			})
			c := connOf(t, dialFake(t, s))
			ctx := testCtx(t)
			if err := c.Call(ctx, "test.mute", nil, nil); err != nil {
				t.Fatal(err)
			}

			// Wait well past the dead-peer limit without traffic from our side.
			c.mu.Lock()
			first := c.sess
			c.mu.Unlock()
			timer := time.NewTimer(4 * (pingInterval + pongWait))
			select {
			case <-first.done:
			case <-timer.C:
			}
			if first.dead() == tt.answer {
				t.Errorf("session dead = %v after idling, want %v", first.dead(), !tt.answer)
			}
			// Either way the next call works: on the same session, or on a new one.
			if err := c.Call(ctx, "system.version", nil, nil); err != nil {
				t.Errorf("call after idle = %v, want success", err)
			}
			if n := len(s.callsTo("auth.login_ex")); (n == 2) == tt.answer {
				t.Errorf("logins = %d; a reconnect should log in again only when dropped", n)
			}
		})
	}
}
