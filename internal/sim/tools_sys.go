package sim

// System programs: identity, signals, environment and service queries.

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/interp"
)

// killedError ends a script that signalled itself; Run reports it as 128+num and name.
type killedError struct {
	num  int
	name string
}

// Error implements error.
func (e *killedError) Error() string { return "killed by signal " + e.name }

// signals maps the usual Linux signal names to numbers.
var signals = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8,
	"KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
}

// signalNumber returns the number of a signal name ("KILL", "SIGKILL") or number ("9").
func signalNumber(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		_, ok := signalName(n)
		return n, ok
	}
	n, ok := signals[strings.TrimPrefix(strings.ToUpper(s), "SIG")]

	return n, ok
}

// signalName returns the name of signal number n.
func signalName(n int) (string, bool) {
	for name, num := range signals {
		if num == n {
			return name, true
		}
	}

	return "", false
}

// toolKill signals the running script when given its own $$ (the innermost sh level, since
// every level shares the host pid the interpreter expands $$ to); the box has no other
// processes.
func toolKill(tc *toolCtx, args []string) error {
	sig := "TERM"
	rest := args[1:]
	switch {
	case len(rest) > 0 && rest[0] == "-l":
		for n := 1; n <= 15; n++ {
			if name, ok := signalName(n); ok {
				fmt.Fprintf(tc.stdout, "%2d) SIG%s\n", n, name)
			}
		}
		return nil
	case len(rest) > 1 && (rest[0] == "-s" || rest[0] == "-n"):
		sig, rest = rest[1], rest[2:]
	case len(rest) > 0 && strings.HasPrefix(rest[0], "-") && rest[0] != "--":
		sig, rest = rest[0][1:], rest[1:]
	}
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	num, ok := signalNumber(sig)
	if !ok {
		return tc.failCode(2, "%s: invalid signal specification", sig)
	}
	if len(rest) == 0 {
		return tc.failCode(2, "usage: kill [-s sigspec | -signum] pid ...")
	}

	self := strconv.Itoa(os.Getpid()) // what the interpreter expands $$ to
	status := 0
	for _, pid := range rest {
		if lvl, ok := tc.ctx.Value(levelKey{}).(*level); ok && pid == self {
			name, _ := signalName(num)
			lvl.kill(&killedError{num: num, name: name})
			return exitCode(128 + num) // the cancelled level stops; run reports the signal
		}
		fmt.Fprintf(tc.stderr, "kill: (%s) - No such process\n", pid)
		status = 1
	}

	return exitCode(status)
}

// toolEnv prints the environment, or runs a program with a changed one.
func toolEnv(tc *toolCtx, args []string) error {
	env := slices.Clone(tc.env)
	rest := args[1:]
	for len(rest) > 0 {
		switch a := rest[0]; {
		case a == "-i" || a == "-":
			env = nil
		case a == "-u" && len(rest) > 1:
			env = slices.DeleteFunc(env, func(kv string) bool {
				return strings.HasPrefix(kv, rest[1]+"=")
			})
			rest = rest[1:]
		case strings.Contains(a, "=") && !strings.HasPrefix(a, "="):
			k, _, _ := strings.Cut(a, "=")
			env = slices.DeleteFunc(env, func(kv string) bool {
				return strings.HasPrefix(kv, k+"=")
			})
			env = append(env, a)
		default:
			sub := *tc
			sub.env = env
			return sub.dispatch(rest)
		}
		rest = rest[1:]
	}

	for _, kv := range env {
		fmt.Fprintln(tc.stdout, kv)
	}

	return nil
}

// toolWrapper runs its command unchanged (sudo, nohup): everything already runs as root.
func toolWrapper(tc *toolCtx, args []string) error {
	rest := args[1:]
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
		if rest[0] == "--" {
			rest = rest[1:]
			break
		}
		if slices.Contains([]string{"-u", "-g", "-C", "-h"}, rest[0]) && len(rest) > 1 {
			rest = rest[1:]
		}
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return nil
	}

	return tc.dispatch(rest)
}

// toolID describes the only user, root.
func toolID(tc *toolCtx, args []string) error {
	flags := strings.Join(args[1:], "")
	switch {
	case strings.ContainsAny(flags, "ug") && strings.Contains(flags, "n"):
		fmt.Fprintln(tc.stdout, "root")
	case strings.ContainsAny(flags, "ug"):
		fmt.Fprintln(tc.stdout, "0")
	default:
		fmt.Fprintln(tc.stdout, "uid=0(root) gid=0(root) groups=0(root)")
	}

	return nil
}

// toolHostname prints the container's hostname (setting it is accepted and ignored); -I
// prints its addresses the way Linux does, each followed by a space.
func toolHostname(tc *toolCtx, args []string) error {
	if len(args) > 1 && (args[1] == "-I" || args[1] == "--all-ip-addresses") {
		var line strings.Builder
		for _, a := range tc.st.box.Addrs() {
			line.WriteString(a + " ")
		}
		fmt.Fprintln(tc.stdout, line.String())
		return nil
	}
	fmt.Fprintln(tc.stdout, tc.st.box.hostname)

	return nil
}

// toolUname reports a Linux kernel on the host's architecture.
func toolUname(tc *toolCtx, args []string) error {
	const release = "6.8.0-pixels-sim"
	var out []string
	for _, a := range args[1:] {
		for _, c := range strings.TrimPrefix(a, "-") {
			switch c {
			case 'a':
				out = append(out, "Linux", tc.st.box.hostname, release, "#1 SMP", machine(),
					"GNU/Linux")
			case 's':
				out = append(out, "Linux")
			case 'n':
				out = append(out, tc.st.box.hostname)
			case 'r':
				out = append(out, release)
			case 'v':
				out = append(out, "#1 SMP")
			case 'm', 'p', 'i':
				out = append(out, machine())
			case 'o':
				out = append(out, "GNU/Linux")
			default:
				return tc.fail("invalid option -- '%c'", c)
			}
		}
	}
	if len(out) == 0 {
		out = []string{"Linux"}
	}
	fmt.Fprintln(tc.stdout, strings.Join(out, " "))

	return nil
}

// toolSystemctl answers the readiness questions recipes ask; other verbs succeed silently.
func toolSystemctl(tc *toolCtx, args []string) error {
	verb := ""
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			verb = a
			break
		}
	}
	switch verb {
	case "is-system-running":
		fmt.Fprintln(tc.stdout, "running")
	case "is-active":
		fmt.Fprintln(tc.stdout, "active")
	case "is-enabled":
		fmt.Fprintln(tc.stdout, "enabled")
	}

	return tc.st.box.record("+ " + quoteArgs(args))
}

// toolWhich answers type, command -v and which from the built-in tools and the tree's PATH,
// never the host's.
func toolWhich(tc *toolCtx, args []string) error {
	verbose := tc.name == "type"
	var names []string
	for _, a := range args[1:] {
		switch {
		case a == "-V" || a == "-t":
			verbose = true
		case strings.HasPrefix(a, "-"):
		default:
			names = append(names, a)
		}
	}

	status := 0
	for _, n := range names {
		found := ""
		switch {
		case interp.IsBuiltin(n) && tc.name != "which":
			if verbose {
				fmt.Fprintf(tc.stdout, "%s is a shell builtin\n", n)
			} else {
				fmt.Fprintln(tc.stdout, n)
			}
			continue
		case strings.Contains(n, "/"):
			if _, err := tc.st.box.statAt(tc.dir, n, true); err == nil {
				found = n
			}
		case lookupTool(n) != nil:
			found = "/usr/bin/" + n
		default:
			found = tc.searchPath(n)
		}
		switch {
		case found == "":
			status = 1
			if verbose {
				fmt.Fprintf(tc.stderr, "%s: %s: not found\n", tc.name, n)
			}
		case verbose:
			fmt.Fprintf(tc.stdout, "%s is %s\n", n, found)
		default:
			fmt.Fprintln(tc.stdout, found)
		}
	}

	return exitCode(status)
}

// searchPath finds an executable file called n along the tree's PATH.
func (tc *toolCtx) searchPath(n string) string {
	pathVar := defaultPath
	for _, kv := range tc.env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	for _, d := range strings.Split(pathVar, ":") {
		p := path.Join("/", d, n)
		if info, err := tc.st.box.statAt("/", p, true); err == nil && info.Mode().IsRegular() &&
			info.Mode().Perm()&0o111 != 0 {
			return p
		}
	}

	return ""
}

// toolUmask reports the usual root umask; setting one is accepted and has no effect, as files
// are created with the modes the commands ask for.
func toolUmask(tc *toolCtx, args []string) error {
	if len(args) == 1 {
		fmt.Fprintln(tc.stdout, "0022")
	}

	return nil
}
