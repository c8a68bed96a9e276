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
//	state.json                            containers, checkpoints, credentials, cron jobs,
//	                                      loose datasets, local ZFS properties (atomic writes)
//	server.json                           the Record of the running server (pid, url, key, ports)
//	lock                                  flock taken by Ensure while it starts a server
//	serve.lock                            flock held by the running server (one per directory)
//	sim.log                               stdout and stderr of a background server
//	containers/<px-name>/                 the Box of each container:
//	    rootfs/                           its tree, which is its dataset's data
//	    snapshots/<label>/                copies of the tree, its dataset's snapshots
//	    ssh_host_ed25519_key, commands.log    its own: they never move with the dataset
//	datasets/<n>/rootfs/, snapshots/      the data of each loose dataset (see below);
//	                                      directories no dataset owns are removed at Start
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
//	cron_time=DURATION  a cron job waits that long before running its command (slow task)
//	stop_hang           a graceful stop runs until its timeout, then fails
//	                    "Failed shutting down instance"; a forced stop still works (on 26
//	                    a plain stop succeeds and leaves the container running, as there)
//	drop_conn_midjob=N  the first N jobs close the WebSocket that started them while running
//	early_events        the terminal job event is sent before the reply carrying the job id
//	strict_rollback     rollback of a running container's dataset is refused (the real server
//	                    does not check; this keeps clients honest about stopping first)
//
// # Cron jobs
//
// cronjob.create, query, get_instance, run and delete play TrueNAS's cron jobs on every
// generation; entries persist in state.json (so a leaked one is visible, see ReadLeftovers
// and `pixels sim status`) and the simulator never runs them on a schedule. Only user root
// exists. cronjob.run [id, skip_disabled] is a job, one at a time per entry, beside any
// other job: as TrueNAS does, it removes the command's newlines, appends "> /dev/null" when
// stdout is true and "2> /dev/null" when stderr is true (so they cover the last command
// only), and runs the line with sh -c as root; progress is 10 "Executing Cron Task", 85, 95
// when there was output, 100. stdout and stderr go, merged, into the job's log:
// logs_excerpt holds its first and last ten lines with "... N more lines ..." between, and,
// as on TrueNAS, the log repeats the output after "Executed CronTask - <line>: ". The
// simulator keeps output whole up to 256 KiB, then only both ends (lines cut at 64 KiB). A
// non-zero exit fails the job with `[EFAULT] CronTask "<line>" exited with <n> (non-zero)
// exit status.`; skip_disabled on a disabled entry fails with "[EINVAL] Cron job is
// disabled" (TrueNAS's behaviour, not a skip); a missing id is "CronJob <id> does not
// exist". Closing the server cancels the script.
//
// The shell (cron_shell.go) stands for the NAS and touches nothing on the host: it is
// mvdan.cc/sh's interpreter with dash's dialect (POSIX) and dash's messages; redirections
// reach /dev/null only (anything else: "sh: 1: cannot create X: Permission denied");
// cd, ".", tests, globs and type/command -v see no host file; the only programs are zfs
// (at /sbin/zfs and /usr/sbin/zfs) and sleep, anything else is "sh: 1: NAME: not found"
// (127), as are bash-only builtins; the environment is fixed (HOME=/root, cron's PATH).
// Differences from dash: echo does not expand backslash escapes, local is refused, a
// failing "." does not end the shell, and umask, kill and ulimit are unsupported.
//
// # Datasets and the zfs command
//
// The zfs command of cron jobs (zfs_cli.go) is a subset of OpenZFS's over the simulator's
// datasets, with its error wording and exit statuses (1 failure, 2 usage): list [-Hpr]
// [-o] [-t]; get [-Hpr] [-o field] [-s source] [-t] PROPS|all; set; snapshot; rollback
// [-rRf] (without -r only to the newest snapshot); destroy [-rRf] DS and DS@L[,L...];
// send DS@L; receive/recv [-uv] [-o p=v]; rename [-fu]. Other options are refused with
// "the simulator does not support ...". There are three kinds of dataset:
//
//   - the layout, which holds no data: tank, tank/.ix-virt, tank/.ix-virt/containers on
//     25.x; tank, tank/.truenas_containers, tank/.truenas_containers/containers on 26. It
//     cannot be destroyed, renamed, snapshotted or sent.
//   - one dataset per container (containerOfDataset, Server.dataset), whose data is the
//     container's rootfs/ and snapshots/.
//   - loose datasets, made by recv or renamed away from a container, kept in state.json and
//     under datasets/<n>/. They sit directly below a layout dataset, never deeper.
//
// A snapshot made with zfs snapshot is exactly one made through the API: a copy of the tree,
// with txg, size and creation, listed by the snapshot queries (so checkpoints see it). The
// zfs route is never guarded, also on 26-rc where the API refuses snapshot writes on
// container datasets; it honours strict_rollback as the API does. send writes an opaque
// stream naming the snapshot (recv copies the snapshot's tree, so the pair must run while
// the snapshot exists); recv makes the new dataset with that tree and the snapshot, keeping
// its creation time. Moving a dataset moves only rootfs/ and snapshots/: a container keeps
// its host key and command log. A container whose dataset was destroyed or renamed away
// (state: no_dataset) has no root file system: start fails ("dataset does not exist"),
// file_receive and stat fail, and API delete works as usual (on 25.x as on 26); renaming or
// receiving a dataset onto its dataset name gives it that tree and its snapshots.
// destroy and rename of a running container's dataset fail "cannot unmount '...': pool or
// dataset is busy".
//
// Properties: type, creation, used, available, referenced, mounted, origin (always "-"),
// mountpoint, compression, readonly, createtxg (snapshots), canmount, and user properties
// (names with a colon). 25.x container datasets carry local mountpoint=legacy and
// canmount=noauto, as Incus sets them, and are mounted only while running; 26 container
// datasets have no local property and inherit /mnt/.truenas_containers/tank/containers/
// <name> from tank/.truenas_containers (local mountpoint /mnt/.truenas_containers/tank);
// tank has local compression=lz4. Values are shown as stored: there is no altroot. Local
// properties move with a dataset. Sizes are the bytes of the files (a snapshot's used is 0);
// the pool pretends to hold 1 TiB.
//
// # Schema checks
//
// With Options.SchemaFile set to a methods JSON file (the 25.04 method schemas), every request's
// params are validated against the method's "accepts" schema and violations are answered with
// -32602 as TrueNAS does.
package sim
