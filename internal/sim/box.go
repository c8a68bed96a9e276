package sim

// The container sandbox: a file tree opened with os.OpenRoot that commands from the simulated
// SSH server run against, so nothing a recipe does ever touches the host outside the
// simulator's own state directory. doc.go holds the package documentation.

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Box is one simulated container: a file tree under dir/rootfs, opened with os.OpenRoot so
// that no path, ".." or symlink can leave it, plus the shell that runs commands inside it.
// A Box is safe for concurrent use.
type Box struct {
	dir      string
	hostname string

	mu   sync.RWMutex // guards root; Restore swaps it
	root *os.Root

	logMu sync.Mutex // serialises appends to commands.log

	addrMu    sync.Mutex // guards addrs and addrsFrom; see SetAddrs
	addrs     []string
	addrsFrom time.Time
}

// skeleton lists the directories every new container tree starts with, so recipes find the
// usual places of a minimal Linux install.
var skeleton = []string{
	"bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin", "etc",
	"root", "root/.ssh", "tmp", "var/log", "var/tmp", "home", "opt", "srv", "dev", "proc",
}

// OpenBox opens the container tree under dir/rootfs, creating it with a minimal Linux
// skeleton on first use. hostname is what hostname, uname -n and the prompt report.
func OpenBox(dir, hostname string) (*Box, error) {
	rootfs := filepath.Join(dir, "rootfs")
	if _, err := os.Stat(rootfs); errors.Is(err, fs.ErrNotExist) {
		os.Rename(rootfs+".old", rootfs) // a Restore that crashed between its two renames
	}
	_, err := os.Stat(rootfs)
	fresh := errors.Is(err, fs.ErrNotExist)
	if err != nil && !fresh {
		return nil, fmt.Errorf("opening box %q: %w", dir, err)
	}

	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return nil, fmt.Errorf("opening box %q: %w", dir, err)
	}

	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, fmt.Errorf("opening box %q: %w", dir, err)
	}

	b := &Box{dir: dir, hostname: hostname, root: root}
	if fresh {
		if err := b.populate(); err != nil {
			root.Close()
			return nil, fmt.Errorf("opening box %q: %w", dir, err)
		}
	}

	return b, nil
}

// populate writes the skeleton of a fresh tree.
func (b *Box) populate() error {
	for _, d := range skeleton {
		if err := b.root.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating /%s: %w", d, err)
		}
	}
	if err := b.root.Chmod("tmp", 0o777|fs.ModeSticky); err != nil {
		return fmt.Errorf("creating /tmp: %w", err)
	}
	if err := b.root.Chmod("root/.ssh", 0o700); err != nil {
		return fmt.Errorf("creating /root/.ssh: %w", err)
	}

	files := map[string]string{
		"etc/hostname":   b.hostname + "\n",
		"etc/hosts":      "127.0.0.1\tlocalhost\n127.0.1.1\t" + b.hostname + "\n",
		"etc/os-release": osRelease,
		"etc/passwd":     "root:x:0:0:root:/root:/bin/bash\n",
		"etc/group":      "root:x:0:\n",
		"etc/shells":     "/bin/sh\n/bin/bash\n",
		"root/.profile":  "",
	}
	for name, body := range files {
		if err := b.root.WriteFile(name, []byte(body), 0o644); err != nil {
			return fmt.Errorf("creating /%s: %w", name, err)
		}
	}

	return nil
}

// osRelease is what the simulated containers claim to be.
const osRelease = `PRETTY_NAME="Ubuntu 24.04 LTS (pixels simulator)"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04 LTS (Noble Numbat)"
ID=ubuntu
ID_LIKE=debian
`

// Close releases the tree. Commands still running fail their file operations.
func (b *Box) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()

	if b.root == nil {
		return nil
	}
	err := b.root.Close()
	b.root = nil
	if err != nil {
		return fmt.Errorf("closing box %q: %w", b.dir, err)
	}

	return nil
}

// fsRoot returns the current tree, or an error once the box is closed.
func (b *Box) fsRoot() (*os.Root, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()

	if b.root == nil {
		return nil, fs.ErrClosed
	}

	return b.root, nil
}

// rel turns an in-container path, absolute or relative to cwd, into a name inside the root.
// Cleaning it from "/" first means ".." can never climb above the container's root.
func rel(cwd, p string) string {
	if !path.IsAbs(p) {
		p = path.Join("/", cwd, p)
	}
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}

	return p
}

// pathErr reports a failure with the in-container path rather than the root-relative name.
func pathErr(op, p string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}

	return &fs.PathError{Op: op, Path: p, Err: err}
}

// WriteFile writes data to an absolute in-container path, creating missing parent
// directories. uid or gid -1 leaves that owner unchanged; ownership changes the host refuses
// (the simulator does not run as root) are ignored.
func (b *Box) WriteFile(p string, data []byte, mode fs.FileMode, uid, gid int) error {
	root, err := b.fsRoot()
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}

	name := b.name("/", p, true)
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", p, pathErr("mkdir", path.Dir(p), err))
	}
	if err := root.WriteFile(name, data, mode.Perm()); err != nil {
		return fmt.Errorf("writing %s: %w", p, pathErr("write", p, err))
	}
	if err := root.Chmod(name, mode.Perm()); err != nil {
		return fmt.Errorf("writing %s: %w", p, pathErr("chmod", p, err))
	}
	if uid != -1 || gid != -1 {
		if err := root.Lchown(name, uid, gid); err != nil && !errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("writing %s: %w", p, pathErr("chown", p, err))
		}
	}

	return nil
}

// replaceFile replaces the file at the absolute in-container path p with data (mode 0644),
// through a new file beside it renamed over p: a link at p is replaced, not followed, as
// Python's atomic_write does on the NAS. Its directory must exist.
func (b *Box) replaceFile(p string, data []byte) error {
	root, err := b.fsRoot()
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	name := b.name("/", p, false) // the last component itself, link or not
	tmp := path.Join(path.Dir(name), "."+path.Base(name)+".tmp-"+randomText("abcdef0123456789", 8))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, pathErr("open", p, err))
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = root.Rename(tmp, name)
	}
	if werr != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("writing %s: %w", p, pathErr("write", p, werr))
	}
	return nil
}

// ReadFile returns the contents of an absolute in-container path.
func (b *Box) ReadFile(p string) ([]byte, error) {
	root, err := b.fsRoot()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}

	data, err := root.ReadFile(b.name("/", p, true))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, pathErr("open", p, err))
	}

	return data, nil
}

// Size returns the bytes held by regular files in the tree, for the simulator's usage
// reports; unreadable entries are skipped.
func (b *Box) Size() int64 {
	root, err := b.fsRoot()
	if err != nil {
		return 0
	}

	var n int64
	_ = fs.WalkDir(root.FS(), ".", func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			n += info.Size()
		}
		return nil
	})

	return n
}

// Log returns the commands run in the box, oldest first. It reads dir/commands.log, so the
// history survives simulator restarts.
func (b *Box) Log() ([]string, error) {
	b.logMu.Lock()
	defer b.logMu.Unlock()

	f, err := os.Open(filepath.Join(b.dir, "commands.log"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading command log: %w", err)
	}
	defer f.Close()

	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading command log: %w", err)
	}

	return lines, nil
}

// record appends one command to the log, folding newlines so each entry stays one line.
func (b *Box) record(cmd string) error {
	b.logMu.Lock()
	defer b.logMu.Unlock()

	line := strings.ReplaceAll(strings.TrimRight(cmd, "\n"), "\n", "; ") + "\n"
	f, err := os.OpenFile(filepath.Join(b.dir, "commands.log"),
		os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("recording command: %w", err)
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("recording command: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("recording command: %w", err)
	}

	return nil
}
