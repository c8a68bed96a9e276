package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options configures a Server.
type Options struct {
	// Dir holds the persisted state (see the package doc); it is created if missing.
	Dir string
	// Version is the TrueNAS generation to play: "25.04" (default), "25.10", "26" (BETA.3)
	// or "26-rc" (RC.1); a full version string such as "26.0.0-RC.1" works too.
	Version string
	// Faults is a comma separated fault list; empty means PIXELS_SIM_FAULTS.
	Faults string
	// Listen is the loopback host:port to serve on; empty means 127.0.0.1:0.
	Listen string
	// TLS serves wss:// with a fresh self-signed certificate.
	TLS bool
	// Idle makes Wait return after this long without WebSocket connections or SSH sessions;
	// zero means never.
	Idle time.Duration
	// SchemaFile, when set, names a methods JSON file whose "accepts" schemas every request's
	// params are checked against.
	SchemaFile string
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Server is one simulated TrueNAS: the JSON-RPC WebSocket API plus the SSH servers of its
// running containers. All state changes happen with mu held, one at a time.
type Server struct {
	opts   Options
	log    *slog.Logger
	ver    version
	faults *faults
	logins loginLimit // failed-login rate limit
	schema *schemaSet

	mu      sync.Mutex // guards st, boxes, sshd and the record
	st      *state
	boxes   map[string]*Box
	sshd    map[string]*sshEntry
	sshPort int  // port shared by all container addresses, 0 in fallback mode
	noAlias bool // 127.77.0.0/16 cannot be bound: every container uses 127.0.0.1

	sending map[string]int // snapshot id -> zfs sends of it in progress; guarded by mu

	boots     map[string]*bootRun // the boot hooks of each started container; guarded by mu
	bootShut  bool                // Close has begun: no more boots; guarded by mu
	bootLimit time.Duration       // how long one boot command may run
	bootWG    sync.WaitGroup

	jobs        *jobTable
	tableOnce   sync.Once
	methodTable map[string]handlerFunc

	connMu   sync.Mutex
	conns    map[*conn]struct{}
	lastBusy time.Time

	lock    *os.File // the serving lock, held from Start to Close
	ln      net.Listener
	http    *http.Server
	url     string
	ctx     context.Context // cancelled by Close; jobs and sleeps watch it
	cancel  context.CancelFunc
	workers sync.WaitGroup
	closing sync.Once
	closed  chan struct{}
}

// New loads (or creates) the state in opts.Dir and prepares a Server; Start makes it listen.
func New(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("creating simulator: no state directory given")
	}
	if opts.Version == "" {
		opts.Version = DefaultVersion
	}
	ver, err := lookupVersion(opts.Version)
	if err != nil {
		return nil, fmt.Errorf("creating simulator: %w", err)
	}
	if opts.Faults == "" {
		opts.Faults = os.Getenv("PIXELS_SIM_FAULTS")
	}
	flt, err := parseFaults(opts.Faults)
	if err != nil {
		return nil, fmt.Errorf("creating simulator: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "containers"), 0o700); err != nil {
		return nil, fmt.Errorf("creating simulator: %w", err)
	}
	st, err := loadState(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("creating simulator: %w", err)
	}
	if err := st.save(opts.Dir); err != nil {
		return nil, fmt.Errorf("creating simulator: %w", err)
	}

	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		opts: opts, log: logger, ver: ver, faults: flt, st: st,
		boxes: map[string]*Box{}, sshd: map[string]*sshEntry{},
		boots: map[string]*bootRun{}, bootLimit: bootHookLimit,
		conns: map[*conn]struct{}{}, closed: make(chan struct{}),
	}
	s.jobs = newJobTable(s)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if opts.SchemaFile != "" {
		s.schema, err = loadSchemas(opts.SchemaFile)
		if err != nil {
			return nil, fmt.Errorf("creating simulator: %w", err)
		}
	}
	return s, nil
}

// Start listens on Options.Listen, serves the API, restores the SSH listeners of containers
// that were running, and writes the Record. It returns once the server accepts connections.
func (s *Server) Start(ctx context.Context) error {
	addr := s.opts.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := requireLoopback(addr); err != nil {
		return fmt.Errorf("starting simulator: %w", err)
	}
	lock, err := lockServing(s.opts.Dir)
	if err != nil {
		return fmt.Errorf("starting simulator: %w", err)
	}
	s.lock = lock
	s.mu.Lock()
	err = s.st.sweepDatasets(s.opts.Dir) // only the holder of the serving lock may
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("starting simulator: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("starting simulator: %w", err)
	}
	scheme := "ws"
	if s.opts.TLS {
		cert, err := selfSignedCert(ln.Addr().(*net.TCPAddr).IP)
		if err != nil {
			ln.Close()
			return fmt.Errorf("starting simulator: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
		scheme = "wss"
	}
	s.ln = ln
	s.url = fmt.Sprintf("%s://%s/api/current", scheme, ln.Addr())
	s.http = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	s.lastBusy = time.Now()

	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		_ = s.http.Serve(ln)
	}()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.probeSSHPort()
	for _, in := range s.st.Instances {
		if in.Status != statusRunning {
			continue
		}
		if err := s.startListener(in); err != nil {
			s.log.Warn("restoring ssh listener", "container", in.Name, "err", err)
		}
		s.publishAddrs(in) // it keeps running: no new boot
	}
	if err := s.writeRecord(); err != nil {
		return fmt.Errorf("starting simulator: %w", err)
	}
	s.log.Debug("simulator listening", "url", s.url, "version", s.ver.short)
	return nil
}

// URL is the WebSocket URL of the API, such as ws://127.0.0.1:40123/api/current.
func (s *Server) URL() string { return s.url }

// APIKey is the key auth.login_ex accepts with username root. It persists in the state.
func (s *Server) APIKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.APIKey
}

// Password is root's password for the PASSWORD_PLAIN mechanism. It persists in the state.
func (s *Server) Password() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Password
}

// Wait blocks until ctx is done (returning its error), Close is called, or the server has
// been idle for Options.Idle (returning nil). It does not close the server.
func (s *Server) Wait(ctx context.Context) error {
	tick := time.Second
	if s.opts.Idle > 0 && s.opts.Idle/4 < tick {
		tick = max(s.opts.Idle/4, time.Millisecond)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return nil
		case <-t.C:
			if s.opts.Idle > 0 && s.idleFor() >= s.opts.Idle {
				s.log.Debug("simulator idle, stopping", "idle", s.opts.Idle)
				return nil
			}
		}
	}
}

// idleFor reports how long there has been no connection and no SSH session.
func (s *Server) idleFor() time.Duration {
	s.mu.Lock()
	sessions := 0
	for _, e := range s.sshd {
		sessions += e.srv.Active()
	}
	s.mu.Unlock()

	s.connMu.Lock()
	defer s.connMu.Unlock()
	if len(s.conns) > 0 || sessions > 0 {
		s.lastBusy = time.Now()
		return 0
	}
	return time.Since(s.lastBusy)
}

// Close stops serving, ends every connection, job, SSH server and box, and removes the
// Record if it is this process's. State stays on disk.
func (s *Server) Close() error {
	var err error
	s.closing.Do(func() {
		s.connMu.Lock()
		close(s.closed)
		for c := range s.conns {
			c.close()
		}
		s.connMu.Unlock()
		s.cancel()
		if s.http != nil {
			err = s.http.Close()
		}
		s.workers.Wait()
		s.closeBoots()

		s.mu.Lock()
		defer s.mu.Unlock()
		for name, e := range s.sshd {
			err = errors.Join(err, e.srv.Close())
			delete(s.sshd, name)
		}
		for name, b := range s.boxes {
			err = errors.Join(err, b.Close())
			delete(s.boxes, name)
		}
		if rec, rerr := ReadRecord(s.opts.Dir); rerr == nil && rec.PID == os.Getpid() {
			err = errors.Join(err, os.Remove(filepath.Join(s.opts.Dir, recordFile)))
		}
		if s.lock != nil {
			err = errors.Join(err, s.lock.Close()) // releases the serving lock
		}
	})
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Serve runs a server until ctx ends or it idles out, then closes it. It is what
// `pixels sim serve` and the background process run; ready, if not nil, is called once the
// server listens.
func Serve(ctx context.Context, opts Options, ready func(*Server)) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return errors.Join(err, s.Close())
	}
	if ready != nil {
		ready(s)
	}
	werr := s.Wait(ctx)
	if errors.Is(werr, context.Canceled) {
		werr = nil
	}
	return errors.Join(werr, s.Close())
}

// requireLoopback refuses listen addresses that are not loopback.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("checking listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("checking listen address %q: only loopback addresses are allowed", addr)
	}
	return nil
}
