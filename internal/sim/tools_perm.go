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
	owner, group, _ := strings.Cut(f.operands[0], ":")
	uid, gid := ownerID(owner), ownerID(group)
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

// ownerID maps "root" or a number to an id; anything else (users the box does not know)
// leaves that id unchanged.
func ownerID(s string) int {
	if s == "root" {
		return 0
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}

	return -1
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
