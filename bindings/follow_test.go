package bindings

import (
	"context"
	"errors"
	"testing"

	"github.com/pixels-dev/pixels/internal/truenas"
)

// TestFollowCreate: an interrupted create is followed to its outcome, and only a create that
// made its container asks the caller to remove it.
func TestFollowCreate(t *testing.T) {
	for _, tt := range []struct {
		name     string
		outcome  error
		halfMade bool
	}{
		{"the job made the container", nil, true},
		{"the job found the name taken", truenas.ErrExists, false},
		{"the job failed after making it", truenas.ErrHalfMade, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			release := make(chan struct{})
			waited := false
			_, err := followCreate(ctx, func() { waited = true; close(release) },
				func(fctx context.Context) (*truenas.Container, error) {
					cancel() // the user presses Ctrl-C while the job runs
					<-release
					if fctx.Err() != nil {
						return nil, fctx.Err() // the job was not followed past the cancel
					}
					return &truenas.Container{Name: "px-r"}, tt.outcome
				})
			if !waited {
				t.Error("the user was not told pixels waits for the create")
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want it to say the create was cancelled", err)
			}
			if got := errors.Is(err, truenas.ErrHalfMade); got != tt.halfMade {
				t.Errorf("ErrHalfMade = %v, want %v (err %v)", got, tt.halfMade, err)
			}
		})
	}

	t.Run("uninterrupted", func(t *testing.T) {
		c, err := followCreate(context.Background(), func() { t.Error("waiting told") },
			func(context.Context) (*truenas.Container, error) {
				return &truenas.Container{Name: "px-r"}, nil
			})
		if err != nil || c == nil || c.Name != "px-r" {
			t.Errorf("followCreate = %v, %v", c, err)
		}
	})
}
