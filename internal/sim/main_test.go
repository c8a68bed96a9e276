package sim

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// serveEnv names the state directory when the test binary is started as a background
// simulator by TestEnsure.
const serveEnv = "PIXELS_SIM_TEST_SERVE"

// TestMain runs the test binary as a simulator when serveEnv is set, so Ensure can be tested
// with a real detached process.
func TestMain(m *testing.M) {
	if dir := os.Getenv(serveEnv); dir != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := Serve(ctx, Options{Dir: dir, Version: os.Getenv("PIXELS_SIM_VERSION"),
			Idle: time.Minute}, nil)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "sim:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
