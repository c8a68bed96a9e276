package sim

// The zfs command that cron jobs run (cron_shell.go): a subset of the OpenZFS CLI over the
// simulator's datasets (zfs.go), with OpenZFS's wording for errors and its exit statuses
// (1 for a failure, 2 for a usage error). Options the simulator does not play are refused
// with a message that says so, rather than ignored. This file holds what the subcommands
// share; they live in zfs_cli_read.go (list, get), zfs_cli_write.go (set, snapshot,
// rollback, destroy) and zfs_cli_move.go (send, receive, rename).

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// zfsUsage is the usage line of each simulated subcommand.
var zfsUsage = map[string]string{
	"list": "list [-Hpr] [-o property[,...]] [-t type[,...]] " +
		"[filesystem|snapshot] ...",
	"get": "get [-Hpr] [-o field[,...]] [-t type[,...]] [-s source[,...]]\n" +
		"\t    <\"all\" | property[,...]> [filesystem|snapshot] ...",
	"set":      "set <property=value> ... <filesystem> ...",
	"snapshot": "snapshot <filesystem>@<snap> ...",
	"rollback": "rollback [-rRf] <snapshot>",
	"destroy":  "destroy [-rRf] <filesystem>\n\tdestroy <filesystem>@<snap>[,<snap>]...",
	"send":     "send <snapshot>",
	"receive":  "receive [-uv] [-o <property>=<value>] ... <filesystem|snapshot>",
	"rename":   "rename [-fu] <filesystem> <filesystem>",
}

// zfsOrder is the order subcommands appear in the general usage.
var zfsOrder = []string{"list", "get", "set", "snapshot", "rollback", "destroy", "send",
	"receive", "rename"}

// zfsUnsimulated are real subcommands the simulator does not play.
var zfsUnsimulated = map[string]bool{"create": true, "clone": true, "promote": true,
	"inherit": true, "upgrade": true, "userspace": true, "groupspace": true,
	"projectspace": true, "project": true, "mount": true, "unmount": true, "umount": true,
	"share": true, "unshare": true, "bookmark": true, "hold": true, "holds": true,
	"release": true, "diff": true, "allow": true, "unallow": true, "load-key": true,
	"unload-key": true, "change-key": true, "redact": true, "wait": true, "jail": true,
	"unjail": true, "zone": true, "unzone": true, "program": true, "version": true}

// zfsCmd is one run of the zfs command. Its output is recorded while the server's lock is
// held and written out after, so that a reader of its output never waits on the lock.
type zfsCmd struct {
	s     *Server
	stdin io.Reader
	out   *recorder
	sub   string
}

// recorder keeps what a command writes to stdout and stderr, in order.
type recorder struct {
	mu     sync.Mutex
	chunks []chunk
}

// chunk is one write of a recorder.
type chunk struct {
	err  bool
	data []byte
}

// stream returns a writer for stdout (err false) or stderr (err true).
func (r *recorder) stream(err bool) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.chunks = append(r.chunks, chunk{err: err, data: bytes.Clone(p)})
		return len(p), nil
	})
}

// replay writes what was recorded to the real streams.
func (r *recorder) replay(stdout, stderr io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.chunks {
		w := stdout
		if c.err {
			w = stderr
		}
		if _, err := w.Write(c.data); err != nil {
			return
		}
	}
	r.chunks = nil
}

// writerFunc adapts a function to io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// zfs runs one zfs command line (args without the program name) and returns its exit
// status. It never touches the host: it reads and changes the simulator's datasets only.
func (s *Server) zfs(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	z := &zfsCmd{s: s, stdin: stdin, out: &recorder{}}
	defer z.out.replay(stdout, stderr)
	if len(args) == 0 {
		return z.generalUsage()
	}
	z.sub = args[0]
	switch args[0] {
	case "list":
		return z.list(args[1:])
	case "get":
		return z.get(args[1:])
	case "set":
		return z.set(args[1:])
	case "snapshot", "snap":
		z.sub = "snapshot"
		return z.snapshot(args[1:])
	case "rollback":
		return z.rollback(args[1:])
	case "destroy":
		return z.destroy(args[1:])
	case "send":
		return z.send(args[1:], stdout)
	case "receive", "recv":
		z.sub = "receive"
		return z.receive(args[1:])
	case "rename":
		return z.rename(args[1:])
	}
	if zfsUnsimulated[args[0]] {
		return z.fail("cannot run 'zfs %s': the simulator does not play this command "+
			"(it plays %s)", args[0], strings.Join(zfsOrder, ", "))
	}
	z.errf("unrecognized command '%s'\n", args[0])
	return z.generalUsage()
}

// errf writes to stderr.
func (z *zfsCmd) errf(format string, a ...any) {
	fmt.Fprintf(z.out.stream(true), format, a...)
}

// printf writes to stdout.
func (z *zfsCmd) printf(format string, a ...any) {
	fmt.Fprintf(z.out.stream(false), format, a...)
}

// fail prints one error line and returns status 1.
func (z *zfsCmd) fail(format string, a ...any) int {
	z.errf(format+"\n", a...)
	return 1
}

// usage prints the usage of the current subcommand and returns status 2.
func (z *zfsCmd) usage() int {
	z.errf("usage:\n\t%s\n", zfsUsage[z.sub])
	return 2
}

// generalUsage prints every simulated subcommand and returns status 2.
func (z *zfsCmd) generalUsage() int {
	z.errf("usage: zfs command args ...\nwhere 'command' is one of the following:\n\n")
	for _, sub := range zfsOrder {
		z.errf("\t%s\n", zfsUsage[sub])
	}
	return 2
}

// lock takes the server's lock; the returned function releases it.
func (z *zfsCmd) lock() func() {
	z.s.mu.Lock()
	return z.s.mu.Unlock
}

// zfsOpts holds parsed options: letter -> values (one empty value per flag use).
type zfsOpts map[byte][]string

// has reports whether a flag was given.
func (o zfsOpts) has(c byte) bool { return len(o[c]) > 0 }

// parseOpts reads options the way zfs's getopt does: grouped letters, values attached or
// in the next word, options and operands in any order, "--" ending options. spec lists the
// letters, each followed by ':' when it takes a value; letters in unsupported are real zfs
// options the simulator refuses. ok is false after a usage error was printed.
func (z *zfsCmd) parseOpts(args []string, spec, unsupported string) (zfsOpts, []string, bool) {
	opts := zfsOpts{}
	var operands []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			operands = append(operands, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			operands = append(operands, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(spec, c)
			switch {
			case strings.IndexByte(unsupported, c) >= 0:
				z.errf("the simulator does not support 'zfs %s -%c'\n", z.sub, c)
				return nil, nil, false
			case k < 0 || c == ':':
				z.errf("invalid option '%c'\n", c)
				z.usage()
				return nil, nil, false
			case k+1 < len(spec) && spec[k+1] == ':':
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						z.errf("missing argument for '%c' option\n", c)
						z.usage()
						return nil, nil, false
					}
					i++
					val = args[i]
				}
				opts[c] = append(opts[c], val)
				j = len(a)
			default:
				opts[c] = append(opts[c], "")
			}
		}
	}
	return opts, operands, true
}

// splitList splits comma separated option values.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// openFailed prints that a dataset or snapshot does not exist and returns status 1.
func (z *zfsCmd) openFailed(name string) int {
	return z.fail("cannot open '%s': dataset does not exist", name)
}

// findSnapshot finds a snapshot by "dataset@label". Called with mu held.
func (z *zfsCmd) findSnapshot(id string) *snapshot {
	return z.s.st.findSnapshot(id)
}

// checkSet returns why zfs set refuses key=value, or "".
func checkSet(key, value string) string {
	full := canonProp(key)
	switch {
	case full == "":
		return fmt.Sprintf("invalid property '%s'", key)
	case isUserProp(full):
		return ""
	case settable[full] == nil:
		return fmt.Sprintf("'%s' is readonly", full)
	}
	return settable[full](value)
}

// checkLabel returns why a snapshot label is not valid, or "".
func checkLabel(label string) string {
	switch {
	case label == "":
		return "empty component or misplaced '@' or '#' delimiter in name"
	case label == ".":
		return "self reference, '.' is found in name"
	case label == "..":
		return "parent reference, '..' is found in name"
	}
	for _, c := range label {
		if !strings.ContainsRune(snapshotChars, c) {
			return fmt.Sprintf("invalid character '%c' in name", c)
		}
	}
	return ""
}

// checkName returns why a dataset name is not valid, or "".
func checkName(name string) string {
	if strings.ContainsAny(name, "@#") {
		return "snapshot delimiter '@' is not expected here"
	}
	for _, part := range strings.Split(name, "/") {
		if msg := checkLabel(part); msg != "" {
			return msg
		}
	}
	return ""
}

// snapshotChars are the characters of a valid name component.
const snapshotChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:"
