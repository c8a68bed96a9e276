// Package sim is the simulated TrueNAS SCALE server pixels uses when no real NAS is configured.
//
// It is a stand-in rather than a mock: a WebSocket JSON-RPC 2.0 server with the real reply, job,
// event and error shapes of TrueNAS (25.04 "virt" generation by default; on request 25.10,
// and 26 with container.* as 26.0.0-BETA.3 ("26") or 26.0.0-RC.1 ("26-rc"), where delete
// is a job and snapshot writes on container datasets are refused), plus
// one SSH server per running container backed by a sandboxed file tree (see box.go). State lives
// in a directory so that a new Server on the same directory sees the same containers,
// checkpoints, API key and SSH host keys:
//
//	state.json                            containers, checkpoints, credentials (atomic writes)
//	server.json                           the Record of the running server (pid, url, key, ports)
//	lock                                  flock taken by Ensure while it starts a server
//	serve.lock                            flock held by the running server (one per directory)
//	sim.log                               stdout and stderr of a background server
//	containers/<px-name>/                 the Box of each container
//	containers/<px-name>/ssh_host_ed25519_key
//
// # Serving
//
// New builds a Server from Options, Start listens (default 127.0.0.1:0, only loopback addresses
// are accepted) and Wait blocks until the context ends, Close is called, or the server has been
// idle (no WebSocket connection, no SSH session) for Options.Idle. Ensure starts a detached
// background server when none answers; StopBackground and Reset end and clear it.
//
// # Containers and addresses
//
// A running container gets a loopback address 127.77.X.Y (allocated once, persisted) that the
// API reports as an INET alias, and an SSH listener on it: port 22 when it can be bound, else a
// port chosen at server start and reused on every container address. Where 127.77.0.0/16 cannot
// be bound, each container listens on its own port of 127.0.0.1 instead. The Record's ssh_ports
// and ssh_hosts name the port and address of every running container (on 26, whose API
// reports no address, ssh_hosts is the only place to learn it).
//
// Each start boots the container (boot.go): in the background, its Box runs the ExecStart=
// lines of the services enabled under /etc/systemd/system/*.target.wants and an executable
// /etc/rc.local, or, with no service enabled, rc.local and /etc/local.d/*.start as OpenRC
// would; each command for at most two minutes, logged as "boot: ..." in the command log.
// Inside, `hostname -I` and `ip addr` report the container's address while it runs.
//
// # Faults
//
// Options.Faults, or the environment variable PIXELS_SIM_FAULTS when that is empty, is a comma
// separated list that makes the simulator misbehave the way real systems do:
//
//	delete_busy=N       the first N deletes fail with a storage-busy error
//	ip_late=DURATION    a started container reports no address for that long
//	job_time=DURATION   base job duration: start/stop/delete take it, create three times it
//	                    (default 100ms, so create takes about 300ms with progress steps)
//	stop_hang           a graceful stop runs until its timeout, then fails
//	                    "Failed shutting down instance"; a forced stop still works (on 26
//	                    a plain stop succeeds and leaves the container running, as there)
//	drop_conn_midjob=N  the first N jobs close the WebSocket that started them while running
//	early_events        the terminal job event is sent before the reply carrying the job id
//	strict_rollback     rollback of a running container's dataset is refused (the real server
//	                    does not check; this keeps clients honest about stopping first)
//
// # Schema checks
//
// With Options.SchemaFile set to a methods JSON file (the 25.04 method schemas), every request's
// params are validated against the method's "accepts" schema and violations are answered with
// -32602 as TrueNAS does.
package sim
