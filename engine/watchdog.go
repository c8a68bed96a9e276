package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

// errHeapLimit is the cancel cause when a script's allocations pass the limit. gopher-lua
// has no memory cap of its own, so a runaway allocation is stopped from outside.
var errHeapLimit = errors.New("memory limit exceeded")

// heapLimit is PIXELS_LUA_MEMORY_LIMIT in MiB, default 2048.
func heapLimit() uint64 {
	if v, err := strconv.Atoi(os.Getenv("PIXELS_LUA_MEMORY_LIMIT")); err == nil && v > 0 {
		return uint64(v) << 20
	}
	return 2048 << 20
}

// watch cancels the runtime when the Go heap passes the limit, until ctx ends. It samples
// twice a second: ReadMemStats is cheap at that rate, and a runaway table fills memory in
// seconds, not milliseconds.
func (rt *Runtime) watch(ctx context.Context, cancel context.CancelCauseFunc) {
	limit := heapLimit()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var ms runtime.MemStats
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > limit {
				cancel(fmt.Errorf("%w: the script holds %d MiB, the limit is %d MiB "+
					"(PIXELS_LUA_MEMORY_LIMIT)", errHeapLimit, ms.HeapAlloc>>20, limit>>20))
				return
			}
		}
	}
}

// guard starts the watchdog for a command's runtime and returns its stop function.
func (rt *Runtime) guard() func() {
	ctx, cancel := context.WithCancelCause(rt.ctx)
	rt.ctx = ctx
	rt.L.SetContext(ctx)
	done := make(chan struct{})
	wctx, stop := context.WithCancel(ctx)
	go func() {
		defer close(done)
		rt.watch(wctx, cancel)
	}()
	return func() {
		stop()
		<-done
		cancel(nil)
	}
}
