package ssh

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// WaitReady polls addr every interval, connecting and running `true`, until it exits 0 or
// ctx ends. A changed host key stops the wait at once, since retrying cannot fix it, and so
// does a refusal of pixels' key that lasts Options.AuthGrace (the error then wraps ErrAuth). The
// error of a wait that ran out names the last failure.
func (c *Client) WaitReady(ctx context.Context, addr string, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Second
	}

	t := time.NewTicker(interval)
	defer t.Stop()

	var last error
	var refusedSince time.Time // start of the current run of key refusals
	for {
		code, err := c.Exec(ctx, addr, ExecRequest{Argv: []string{"true"}})
		switch {
		case !errors.Is(err, ErrAuth):
			refusedSince = time.Time{}
		case refusedSince.IsZero():
			refusedSince = time.Now()
		}
		switch {
		case err == nil && code == 0:
			return nil
		case errors.Is(err, ErrHostKeyMismatch):
			return fmt.Errorf("waiting for ssh on %s: %w", addr, err)
		case !refusedSince.IsZero() && time.Since(refusedSince) >= c.authGrace:
			return fmt.Errorf("waiting for ssh on %s: %w", addr, err)
		case err != nil && !expired(ctx):
			last = err
		case err == nil:
			last = fmt.Errorf("true exited with status %d", code)
		}
		c.log.Debug("ssh not ready", "addr", addr, "err", last)

		select {
		case <-ctx.Done():
			if last == nil {
				return fmt.Errorf("waiting for ssh on %s: %w", addr, ctx.Err())
			}
			return fmt.Errorf("waiting for ssh on %s: %w (last attempt: %w)", addr, ctx.Err(),
				last)
		case <-t.C:
		}
	}
}

// expired reports whether ctx is done or its deadline has passed; a dial can fail on the
// deadline a moment before ctx itself reports it, and that failure says nothing new.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
