package sim

// Path programs: ln, mktemp, basename and dirname, small but common in set-up scripts.

import (
	"crypto/rand"
	"fmt"
	"os"
	"path"
	"strings"
)

// toolLn makes hard links, or symbolic ones with -s; -f replaces an existing target. A
// symlink may point anywhere, but the box never follows one out of its tree.
func toolLn(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "")
	if len(f.operands) < 2 {
		return tc.fail("missing destination file operand")
	}
	root, err := tc.st.box.fsRoot()
	if err != nil {
		return err
	}
	srcs, dst := f.operands[:len(f.operands)-1], f.operands[len(f.operands)-1]

	status := 0
	for _, src := range srcs {
		target := tc.target(src, dst, false)
		if f.set['f'] {
			root.Remove(target)
		}
		if f.set['s'] {
			err = root.Symlink(src, target)
		} else {
			err = root.Link(tc.path(src, false), target)
		}
		if err != nil {
			fmt.Fprintf(tc.stderr, "ln: failed to create link '%s': %v\n", dst, unwrapPath(err))
			status = 1
		}
	}

	return exitCode(status)
}

// toolMktemp creates a unique file (or directory with -d) from a template ending in X's,
// under /tmp by default, and prints its path.
func toolMktemp(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "p")
	tmpl := "tmp." + strings.Repeat("X", 10) // mktemp's default template
	if len(f.operands) > 0 {
		tmpl = f.operands[0]
	}
	dir := "/tmp"
	if d, ok := f.val['p']; ok {
		dir = d
	}
	if !strings.Contains(tmpl, "/") || f.set['p'] || f.set['t'] {
		tmpl = path.Join(dir, tmpl)
	}
	stem := strings.TrimRight(tmpl, "X")
	nx := len(tmpl) - len(stem)
	if nx < 3 {
		return tc.fail("too few X's in template '%s'", tmpl)
	}
	root, err := tc.st.box.fsRoot()
	if err != nil {
		return err
	}

	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for range 100 {
		p := stem + randomText(letters, nx)
		name := tc.path(p, true)
		if f.set['d'] {
			err = root.Mkdir(name, 0o700)
		} else {
			var file *os.File
			file, err = root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err == nil {
				file.Close()
			}
		}
		if err == nil {
			fmt.Fprintln(tc.stdout, p)
			return nil
		}
		if !os.IsExist(err) {
			break
		}
	}

	return tc.fail("failed to create file via template '%s': %v", tmpl, unwrapPath(err))
}

// randomText returns n characters drawn from letters.
func randomText(letters string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}

	return string(b)
}

// toolBasename prints the last element of a path, minus an optional suffix.
func toolBasename(tc *toolCtx, args []string) error {
	if len(args) < 2 {
		return tc.fail("missing operand")
	}
	base := path.Base(args[1])
	if len(args) > 2 && base != args[2] {
		base = strings.TrimSuffix(base, args[2])
	}
	fmt.Fprintln(tc.stdout, base)

	return nil
}

// toolDirname prints each path without its last element.
func toolDirname(tc *toolCtx, args []string) error {
	if len(args) < 2 {
		return tc.fail("missing operand")
	}
	for _, a := range args[1:] {
		fmt.Fprintln(tc.stdout, path.Dir(a))
	}

	return nil
}
