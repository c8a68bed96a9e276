package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pixels-dev/pixels/internal/sim"
	"github.com/pixels-dev/pixels/internal/truenas"
)

// jobTime is the simulator's base job duration here: a create's job takes three times it.
const jobTime = 100 * time.Millisecond

// world is an in-process simulator and its address, shared by the sub-benchmarks of one
// benchmark function.
type world struct {
	srv *sim.Server
}

func newWorld(b *testing.B) *world {
	b.Helper()
	srv, err := sim.New(sim.Options{Dir: b.TempDir(), Faults: fmt.Sprintf("job_time=%s", jobTime)})
	if err != nil {
		b.Fatalf("making the simulator: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatalf("starting the simulator: %v", err)
	}
	b.Cleanup(func() { srv.Close() })
	return &world{srv: srv}
}

// dial logs in as pixels does once per process.
func (w *world) dial(b *testing.B) truenas.Backend {
	b.Helper()
	return w.dialVia(b, w.srv.URL())
}

// dialVia logs in through the API at url, the simulator's or a proxy's in front of it.
func (w *world) dialVia(b *testing.B, url string) truenas.Backend {
	b.Helper()
	be, err := truenas.Dial(context.Background(), truenas.DialOptions{Host: url,
		Username: "root", APIKey: w.srv.APIKey(), PollInterval: 50 * time.Millisecond,
		RetryInterval: 50 * time.Millisecond})
	if err != nil {
		b.Fatalf("dialling the simulator: %v", err)
	}
	return be
}

// create makes a running container named name.
func create(ctx context.Context, be truenas.Backend, name string) error {
	_, err := be.Create(ctx, truenas.CreateSpec{Name: name, Image: "debian/12", CPU: "1",
		Memory: 512 << 20, Autostart: true}, nil)
	if err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	return nil
}

// BenchmarkDial is the session cost every pixels process pays: connect, log in with an API
// key, subscribe to job events and detect the version (three calls).
func BenchmarkDial(b *testing.B) {
	w := newWorld(b)
	for b.Loop() {
		w.dial(b).Close()
	}
}

// BenchmarkList is one virt.instance.query round trip with ten containers to report.
func BenchmarkList(b *testing.B) {
	w := newWorld(b)
	be := w.dial(b)
	defer be.Close()
	ctx := context.Background()
	for i := range 10 {
		if err := create(ctx, be, fmt.Sprintf("px-list-%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		cs, err := be.List(ctx, "px-")
		if err != nil || len(cs) != 10 {
			b.Fatalf("listing: %d containers, %v", len(cs), err)
		}
	}
}

// BenchmarkCreateDelete is one container's whole life at the API level: create (a job of
// 3 x jobTime), then a forced stop and a delete (jobTime each).
func BenchmarkCreateDelete(b *testing.B) {
	w := newWorld(b)
	be := w.dial(b)
	defer be.Close()
	ctx := context.Background()
	for b.Loop() {
		if err := create(ctx, be, "px-cd"); err != nil {
			b.Fatal(err)
		}
		if err := be.Stop(ctx, "px-cd", truenas.StopOptions{Force: true}, nil); err != nil {
			b.Fatalf("stopping: %v", err)
		}
		if err := be.Delete(ctx, "px-cd", nil); err != nil {
			b.Fatalf("deleting: %v", err)
		}
	}
}

// BenchmarkFanout creates N containers at once over one connection, as px.parallel does,
// and reports "x-one": the time of N against the time of one create measured alongside
// (the jobs overlap on the simulator, so the ideal is close to 1), and "max-inflight": the
// most requests awaiting a reply at once, seen by a proxy, which must stay within 20.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 10, 20} {
		b.Run(fmt.Sprintf("creates=%d", n), func(b *testing.B) {
			w := newWorld(b)
			proxy := newInflightProxy(b, w.srv.URL())
			be := w.dialVia(b, proxy.URL())
			defer be.Close()
			ctx := context.Background()
			var one, many time.Duration
			round := 0
			for b.Loop() {
				round++
				start := time.Now()
				if err := create(ctx, be, fmt.Sprintf("px-one-%d", round)); err != nil {
					b.Fatal(err)
				}
				one += time.Since(start)

				start = time.Now()
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() { errs[i] = create(ctx, be, fmt.Sprintf("px-f%d-%d", round, i)) })
				}
				wg.Wait()
				many += time.Since(start)
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(many)/float64(one), "x-one")
			b.ReportMetric(float64(proxy.Max()), "max-inflight")
			if proxy.Max() > 20 {
				b.Errorf("%d requests were in flight at once; TrueNAS refuses past 20", proxy.Max())
			}
		})
	}
}
