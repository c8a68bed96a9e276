package ssh

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestConsoleNeedsTerminal(t *testing.T) {
	srv := newTestServer(t)
	c := newTestClient(t)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	tests := []struct {
		name  string
		stdin *os.File
	}{
		{"pipe", r},
		{"nil", nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := c.Console(context.Background(), srv.addr, ConsoleOptions{Stdin: tt.stdin})
			if code != 255 || !errors.Is(err, ErrNoTerminal) {
				t.Errorf("Console = %d, %v; want 255, ErrNoTerminal", code, err)
			}
			if err != nil && ErrNoTerminal.Error() != "console needs a terminal" {
				t.Errorf("ErrNoTerminal says %q", ErrNoTerminal)
			}
		})
	}

	if srv.handshakes.Load() != 0 {
		t.Error("Console connected although there was no terminal")
	}
}
