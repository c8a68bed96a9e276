package sim

// Permission programs: chmod with octal or simple symbolic modes, and chown, which is
// recorded and applied only where the host lets the simulator change owners.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// toolChmod changes permission bits, recursively with -R.
func toolChmod(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "")
	if len(f.operands) < 2 {
		return tc.fail("missing operand")
	}
	mode, files := f.operands[0], f.operands[1:]
	root, err := tc.st.box.fsRoot()
	if err != nil {
		return err
	}

	status := 0
	for _, op := range files {
		change := func(name string, info fs.FileInfo) error {
			perm, err := applyMode(info.Mode().Perm(), mode, info.IsDir())
			if err != nil {
				return err
			}
			return root.Chmod(name, perm)
		}
		if err := walkRoot(root, tc.path(op, true), f.set['R'], change); err != nil {
			fmt.Fprintf(tc.stderr, "chmod: cannot change '%s': %v\n", op, unwrapPath(err))
			status = 1
		}
	}

	return exitCode(status)
}

// applyMode applies an octal mode ("755") or symbolic clauses ("u+x,go-w", "+x", "a=r").
func applyMode(cur fs.FileMode, spec string, dir bool) (fs.FileMode, error) {
	if n, err := strconv.ParseUint(spec, 8, 32); err == nil {
		return fs.FileMode(n) & fs.ModePerm, nil
	}

	for _, clause := range strings.Split(spec, ",") {
		i := strings.IndexAny(clause, "+-=")
		if i < 0 {
			return 0, fmt.Errorf("invalid mode: '%s'", spec)
		}
		who, op, what := clause[:i], clause[i], clause[i+1:]
		var mask fs.FileMode
		for _, c := range who {
			switch c {
			case 'u':
				mask |= 0o700
			case 'g':
				mask |= 0o070
			case 'o':
				mask |= 0o007
			case 'a':
				mask |= 0o777
			default:
				return 0, fmt.Errorf("invalid mode: '%s'", spec)
			}
		}
		if who == "" {
			mask = 0o777
		}
		var bits fs.FileMode
		for _, c := range what {
			switch c {
			case 'r':
				bits |= 0o444
			case 'w':
				bits |= 0o222
			case 'x':
				bits |= 0o111
			case 'X':
				if dir || cur&0o111 != 0 {
					bits |= 0o111
				}
			default:
				return 0, fmt.Errorf("invalid mode: '%s'", spec)
			}
		}
		switch op {
		case '+':
			cur |= bits & mask
		case '-':
			cur &^= bits & mask
		case '=':
			cur = cur&^mask | bits&mask
		}
	}

	return cur, nil
}

// toolChown records owner changes and applies numeric or root ownership where the host
// allows it; an unprivileged simulator keeps its own ownership.
func toolChown(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "")
	if len(f.operands) < 2 {
		return tc.fail("missing operand")
	}
	if err := tc.st.box.record("+ " + quoteArgs(args)); err != nil {
		return err
	}
	spec := f.operands[0]
	owner, group, _ := strings.Cut(spec, ":")
	uid, ok := ownerID(owner)
	if !ok {
		return tc.fail("invalid user: '%s'", spec)
	}
	gid, ok := ownerID(group)
	if !ok {
		return tc.fail("invalid group: '%s'", spec)
	}
	root, err := tc.st.box.fsRoot()
	if err != nil {
		return err
	}

	status := 0
	for _, op := range f.operands[1:] {
		change := func(name string, _ fs.FileInfo) error {
			if err := root.Lchown(name, uid, gid); err != nil && !errors.Is(err, fs.ErrPermission) {
				return err
			}
			return nil
		}
		if err := walkRoot(root, tc.path(op, true), f.set['R'], change); err != nil {
			fmt.Fprintf(tc.stderr, "chown: cannot change '%s': %v\n", op, unwrapPath(err))
			status = 1
		}
	}

	return exitCode(status)
}

// maxID is the largest user or group id chown accepts: ids are 32 bits, and the all-ones
// value means "leave unchanged" to the kernel, so coreutils refuses it.
const maxID = 1<<32 - 2

// ownerID maps "root" or a decimal number (an optional "+" allowed, as coreutils does) to an
// id. An empty string and names the box does not know give -1, which leaves that id
// unchanged; ok is false for numbers out of range and for a leading "-", which chown refuses.
func ownerID(s string) (id int, ok bool) {
	if s == "root" {
		return 0, true
	}
	if strings.HasPrefix(s, "-") {
		return 0, false
	}
	digits := strings.TrimPrefix(s, "+")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return -1, s != "+"
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > maxID {
		return 0, false
	}

	return int(n), true
}

// walkRoot calls fn for name and, when recursive, everything below it, without following
// symlinks.
func walkRoot(root *os.Root, name string, recursive bool,
	fn func(name string, info fs.FileInfo) error) error {
	info, err := root.Lstat(name)
	if err != nil {
		return err
	}
	if err := fn(name, info); err != nil {
		return err
	}
	if !recursive || !info.IsDir() {
		return nil
	}

	d, err := root.Open(name)
	if err != nil {
		return err
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := walkRoot(root, path.Join(name, e.Name()), true, fn); err != nil {
			return err
		}
	}

	return nil
}
