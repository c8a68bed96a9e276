package sim

// File programs: cat, ls, mkdir, rm, cp, mv, touch, chmod, chown. All of them go through the
// box's os.Root, so they cannot reach past the container's tree.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// flags is a parsed command line: single-letter flags, their values, and operands. val holds
// the last value of each flag and vals all of them in order, for flags that may repeat.
type flags struct {
	set      map[rune]bool
	val      map[rune]string
	vals     map[rune][]string
	long     map[string]bool
	operands []string
}

// parseFlags splits args (without the program name) into flags and operands; letters in
// withValue take a value from the rest of the word or the next argument.
func parseFlags(args []string, withValue string) flags {
	f := flags{set: map[rune]bool{}, val: map[rune]string{}, vals: map[rune][]string{},
		long: map[string]bool{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			f.operands = append(f.operands, args[i+1:]...)
			return f
		case strings.HasPrefix(a, "--"):
			f.long[a] = true
		case strings.HasPrefix(a, "-") && a != "-":
			for j, c := range a[1:] {
				if !strings.ContainsRune(withValue, c) {
					f.set[c] = true
					continue
				}
				v := a[1+j+1:]
				if v == "" && i+1 < len(args) {
					i++
					v = args[i]
				}
				f.set[c], f.val[c] = true, v
				f.vals[c] = append(f.vals[c], v)
				break
			}
		default:
			f.operands = append(f.operands, a)
		}
	}

	return f
}

// in opens an input operand: "-" is stdin.
func (tc *toolCtx) in(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(tc.input()), nil
	}

	return tc.st.box.openFile(tc.dir, name, os.O_RDONLY, 0)
}

// eachInput calls fn for every operand, or for stdin when there are none, reporting
// unreadable operands on stderr and ending with status 1 if any were.
func (tc *toolCtx) eachInput(operands []string, fn func(name string, r io.Reader) error) error {
	if len(operands) == 0 {
		operands = []string{"-"}
	}
	status := 0
	for _, name := range operands {
		r, err := tc.in(name)
		if err != nil {
			fmt.Fprintf(tc.stderr, "%s: %s: %v\n", tc.name, name, unwrapPath(err))
			status = 1
			continue
		}
		err = fn(name, r)
		r.Close()
		if err != nil {
			if tc.ctx.Err() != nil {
				return tc.ctx.Err()
			}
			fmt.Fprintf(tc.stderr, "%s: %s: %v\n", tc.name, name, unwrapPath(err))
			status = 1
		}
	}

	return exitCode(status)
}

// unwrapPath drops the op and path of a *fs.PathError, which messages already name.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}

	return err
}

// toolCat copies its inputs to stdout as they arrive.
func toolCat(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "")

	return tc.eachInput(f.operands, func(_ string, r io.Reader) error {
		_, err := io.Copy(tc.stdout, r)
		return err
	})
}

// toolLs lists directories: names one per line, or a long listing with -l.
func toolLs(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "")
	all := f.set['a'] || f.set['A']
	if len(f.operands) == 0 {
		f.operands = []string{"."}
	}

	status := 0
	for i, op := range f.operands {
		info, err := tc.st.box.statAt(tc.dir, op, !f.set['d'] && !f.set['l'])
		if err != nil {
			fmt.Fprintf(tc.stderr, "ls: cannot access '%s': %v\n", op, unwrapPath(err))
			status = 2
			continue
		}
		if !info.IsDir() || f.set['d'] {
			tc.lsLine(f.set['l'], op, info)
			continue
		}
		if len(f.operands) > 1 {
			if i > 0 {
				fmt.Fprintln(tc.stdout)
			}
			fmt.Fprintf(tc.stdout, "%s:\n", op)
		}
		entries, err := tc.st.box.readDir(tc.dir, op)
		if err != nil {
			fmt.Fprintf(tc.stderr, "ls: cannot open directory '%s': %v\n", op, unwrapPath(err))
			status = 2
			continue
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") && !all {
				continue
			}
			if info, err := e.Info(); err == nil {
				tc.lsLine(f.set['l'], e.Name(), info)
			}
		}
	}

	return exitCode(status)
}

// lsLine prints one entry, long or short.
func (tc *toolCtx) lsLine(long bool, name string, info fs.FileInfo) {
	if !long {
		fmt.Fprintln(tc.stdout, name)
		return
	}
	owner, group := ownerNames(info)
	fmt.Fprintf(tc.stdout, "%s 1 %s %s %8d %s %s\n", info.Mode().String(), owner, group,
		info.Size(), info.ModTime().Format("Jan _2 15:04"), name)
}

// ownerNames returns the owner and group ls -l shows for info, from the file's own ids: 0 is
// "root" and any other id its number, since the simulated containers keep no user database
// worth consulting. Without host ids both are "root".
func ownerNames(info fs.FileInfo) (string, string) {
	sys, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return "root", "root"
	}

	return idText(sys.Uid), idText(sys.Gid)
}

// idText names a user or group id the way ownerNames does.
func idText(id uint32) string {
	if id == 0 {
		return "root"
	}

	return strconv.FormatUint(uint64(id), 10)
}

// toolMkdir creates directories; -p makes parents and accepts existing ones.
func toolMkdir(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "m")
	perm := fs.FileMode(0o755)
	if m, ok := f.val['m']; ok {
		n, err := strconv.ParseUint(m, 8, 32)
		if err != nil {
			return tc.fail("invalid mode '%s'", m)
		}
		perm = fs.FileMode(n)
	}
	root, err := tc.st.box.fsRoot()
	if err != nil {
		return err
	}

	status := 0
	for _, op := range f.operands {
		failed := op
		if f.set['p'] {
			failed, err = tc.mkdirParents(root, op, perm)
		} else {
			err = root.Mkdir(tc.path(op, false), perm)
		}
		if err != nil {
			fmt.Fprintf(tc.stderr, "mkdir: cannot create directory '%s': %s\n", failed,
				errnoText(err))
			status = 1
		}
	}

	return exitCode(status)
}

// mkdirParents makes op and every missing directory above it, as mkdir -p does. Existing
// directories and symlinks to them are passed through; a dangling symlink is "File exists",
// so its target is never created. Parents get mode 0755 and op itself perm. On failure it
// returns the part of op, as typed, that could not be made.
func (tc *toolCtx) mkdirParents(root *os.Root, op string, perm fs.FileMode) (string, error) {
	end := 0
	for {
		start := end
		for start < len(op) && op[start] == '/' {
			start++
		}
		if start == len(op) {
			return "", nil
		}
		end = start
		for end < len(op) && op[end] != '/' {
			end++
		}
		if c := op[start:end]; c == "." || c == ".." {
			continue
		}
		prefix, mode := op[:end], fs.FileMode(0o755)
		if strings.Trim(op[end:], "/") == "" {
			prefix, mode = op, perm
		}

		info, err := tc.st.box.statAt(tc.dir, prefix, true)
		switch {
		case err == nil && info.IsDir():
			continue
		case err == nil && prefix == op:
			return prefix, syscall.EEXIST
		case err == nil:
			return prefix, syscall.ENOTDIR
		case !errors.Is(err, fs.ErrNotExist):
			return prefix, err
		}
		if _, err := tc.st.box.statAt(tc.dir, prefix, false); err == nil {
			return prefix, syscall.EEXIST // a symlink to nothing
		}

		if err := root.Mkdir(tc.path(prefix, false), mode); err != nil {
			info, serr := tc.st.box.statAt(tc.dir, prefix, true)
			if serr != nil || !info.IsDir() {
				return prefix, err
			}
		}
	}
}

// errnoText words a system error as the C library does ("File exists"), where Go's texts are
// lower case; coreutils messages end with these words.
func errnoText(err error) string {
	err = unwrapPath(err)
	var errno syscall.Errno
	if !errors.As(err, &errno) || errno.Error() == "" {
		return err.Error()
	}
	text := errno.Error()

	return strings.ToUpper(text[:1]) + text[1:]
}

// toolRm removes files, and trees with -r; -f ignores missing operands.
func toolRm(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "")
	recursive := f.set['r'] || f.set['R'] || f.long["--recursive"]
	root, err := tc.st.box.fsRoot()
	if err != nil {
		return err
	}

	status := 0
	for _, op := range f.operands {
		name := tc.path(op, false)
		if name == "." {
			fmt.Fprintf(tc.stderr, "rm: refusing to remove '%s'\n", op)
			status = 1
			continue
		}
		info, err := root.Lstat(name)
		switch {
		case err != nil && f.set['f'] && errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
		case info.IsDir() && !recursive:
			err = errors.New("Is a directory")
		case recursive:
			err = root.RemoveAll(name)
		default:
			err = root.Remove(name)
		}
		if err != nil {
			fmt.Fprintf(tc.stderr, "rm: cannot remove '%s': %v\n", op, unwrapPath(err))
			status = 1
		}
	}

	return exitCode(status)
}

// target returns where src lands when copied, moved or linked to dst: inside dst if it is a
// directory. follow says whether an existing symlink at dst is written through.
func (tc *toolCtx) target(src, dst string, follow bool) string {
	if info, err := tc.st.box.statAt(tc.dir, dst, true); err == nil && info.IsDir() {
		return path.Join(tc.path(dst, true), path.Base(path.Clean(src)))
	}

	return tc.path(dst, follow)
}

// toolCp copies files, and trees with -r, -R or -a.
func toolCp(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "")
	if len(f.operands) < 2 {
		return tc.fail("missing destination file operand")
	}
	recursive := f.set['r'] || f.set['R'] || f.set['a']
	srcs, dst := f.operands[:len(f.operands)-1], f.operands[len(f.operands)-1]
	root, err := tc.st.box.fsRoot()
	if err != nil {
		return err
	}

	status := 0
	for _, src := range srcs {
		from := tc.path(src, !f.set['a'] && !f.set['P'] && !f.set['d'])
		info, err := root.Lstat(from)
		if err == nil && info.IsDir() && !recursive {
			err = errors.New("-r not specified; omitting directory")
		}
		if err == nil {
			err = copyInRoot(root, from, tc.target(src, dst, true))
		}
		if err != nil {
			fmt.Fprintf(tc.stderr, "cp: cannot copy '%s': %v\n", src, unwrapPath(err))
			status = 1
		}
	}

	return exitCode(status)
}

// copyInRoot copies src to dst inside root, recursing into directories and copying symlinks
// as links.
func copyInRoot(root *os.Root, src, dst string) error {
	info, err := root.Lstat(src)
	if err != nil {
		return err
	}

	switch {
	case info.IsDir():
		if err := root.MkdirAll(dst, info.Mode().Perm()); err != nil {
			return err
		}
		d, err := root.Open(src)
		if err != nil {
			return err
		}
		entries, err := d.ReadDir(-1)
		d.Close()
		if err != nil {
			return err
		}
		for _, e := range entries {
			err := copyInRoot(root, path.Join(src, e.Name()), path.Join(dst, e.Name()))
			if err != nil {
				return err
			}
		}
		return nil
	case info.Mode()&fs.ModeSymlink != 0:
		link, err := root.Readlink(src)
		if err != nil {
			return err
		}
		return root.Symlink(link, dst)
	default:
		in, err := root.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := root.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
}

// toolMv renames within the tree.
func toolMv(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "")
	if len(f.operands) < 2 {
		return tc.fail("missing destination file operand")
	}
	srcs, dst := f.operands[:len(f.operands)-1], f.operands[len(f.operands)-1]
	root, err := tc.st.box.fsRoot()
	if err != nil {
		return err
	}

	status := 0
	for _, src := range srcs {
		if err := root.Rename(tc.path(src, false), tc.target(src, dst, false)); err != nil {
			fmt.Fprintf(tc.stderr, "mv: cannot move '%s': %v\n", src, unwrapPath(err))
			status = 1
		}
	}

	return exitCode(status)
}

// toolTouch creates missing files and sets times to now.
func toolTouch(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "dtr")
	root, err := tc.st.box.fsRoot()
	if err != nil {
		return err
	}

	status := 0
	now := time.Now()
	for _, op := range f.operands {
		name := tc.path(op, true)
		file, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o644)
		if err == nil {
			file.Close()
			err = root.Chtimes(name, now, now)
		}
		if err != nil {
			fmt.Fprintf(tc.stderr, "touch: cannot touch '%s': %v\n", op, unwrapPath(err))
			status = 1
		}
	}

	return exitCode(status)
}
