package sim

// Symlink resolution inside the container. os.Root refuses every symlink that points outside
// the directory it was opened on, which includes all absolute targets; but a container is
// full of those (/etc/localtime, /usr/local/bin/python -> /usr/bin/python3) and they mean
// "from the container's root". resolve walks a path one component at a time, the way a
// chroot would, so absolute targets restart at the container root and ".." never climbs above
// it. The os.Root operation that follows is the second guard: if a link changes in between,
// it still cannot leave the tree.

import (
	"os"
	"path"
	"strings"
)

// maxLinks bounds symlink hops, as the kernel's ELOOP limit does.
const maxLinks = 40

// name returns the root-relative name for in-container path p (absolute, or relative to
// cwd) with symlinks resolved inside the container; the last component is followed only when
// follow is set. On a resolution failure (a loop, an unreadable link) the lexical name is
// returned and the operation on it reports the problem.
func (b *Box) name(cwd, p string, follow bool) string {
	root, err := b.fsRoot()
	if err != nil {
		return rel(cwd, p)
	}
	if resolved, ok := resolve(root, cwd, p, follow); ok {
		return resolved
	}

	return rel(cwd, p)
}

// resolve does the work of name; ok is false after too many links or a failed readlink.
func resolve(root *os.Root, cwd, p string, follow bool) (string, bool) {
	full := p
	if !path.IsAbs(p) {
		full = cwd + "/" + p
	}
	pending := components(full)
	var done []string
	links := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		if c == ".." {
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}

		cand := strings.Join(append(done, c), "/")
		if len(pending) == 0 && !follow {
			done = append(done, c)
			break
		}
		info, err := root.Lstat(cand)
		if err != nil || info.Mode()&os.ModeSymlink == 0 {
			done = append(done, c) // missing names fail later, in the real operation
			continue
		}

		if links++; links > maxLinks {
			return "", false
		}
		target, err := root.Readlink(cand)
		if err != nil {
			return "", false
		}
		if path.IsAbs(target) {
			done = done[:0]
		}
		pending = append(components(target), pending...)
	}

	if len(done) == 0 {
		return ".", true
	}

	return strings.Join(done, "/"), true
}

// components splits a path into its names, dropping empty ones and ".".
func components(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}

	return out
}
