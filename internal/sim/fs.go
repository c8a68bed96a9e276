package sim

// The interpreter's file handlers. Each one turns an in-container path into a name inside the
// box's os.Root, so "..", absolute paths and symlinks all stay within the tree; os.Root
// refuses any symlink whose target would leave it.

import (
	"context"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/interp"
)

// stat stats an absolute in-container path.
func (b *Box) stat(p string, follow bool) (fs.FileInfo, error) {
	return b.statAt("/", p, follow)
}

// statAt stats an in-container path, absolute or relative to cwd.
func (b *Box) statAt(cwd, p string, follow bool) (fs.FileInfo, error) {
	root, err := b.fsRoot()
	if err != nil {
		return nil, pathErr("stat", p, err)
	}

	var info fs.FileInfo
	if name := b.name(cwd, p, follow); follow {
		info, err = root.Stat(name)
	} else {
		info, err = root.Lstat(name)
	}
	if err != nil {
		return nil, pathErr("stat", p, err)
	}

	return info, nil
}

// openFile opens an in-container path relative to cwd.
func (b *Box) openFile(cwd, p string, flag int, perm fs.FileMode) (*os.File, error) {
	root, err := b.fsRoot()
	if err != nil {
		return nil, pathErr("open", p, err)
	}

	f, err := root.OpenFile(b.name(cwd, p, true), flag, perm)
	if err != nil {
		return nil, pathErr("open", p, err)
	}

	return f, nil
}

// open is the interpreter's OpenHandler. A few device files are emulated; everything else
// is a file in the tree.
func (st *runState) open(ctx context.Context, p string, flag int, perm os.FileMode) (
	io.ReadWriteCloser, error) {
	hc := interp.HandlerCtx(ctx)
	switch p {
	case "/dev/null":
		return devNull{}, nil
	case "/dev/zero":
		return devZero{}, nil
	case "/dev/stdout":
		return nopRWC{w: hc.Stdout}, nil
	case "/dev/stderr":
		return nopRWC{w: hc.Stderr}, nil
	}

	return st.box.openFile(hc.Dir, p, flag, perm)
}

// statHandler is the interpreter's StatHandler.
func (st *runState) statHandler(ctx context.Context, p string, follow bool) (fs.FileInfo, error) {
	hc := interp.HandlerCtx(ctx)

	return st.box.statAt(hc.Dir, p, follow)
}

// readDir is the interpreter's ReadDirHandler2, used for globbing.
func (st *runState) readDir(ctx context.Context, p string) ([]fs.DirEntry, error) {
	hc := interp.HandlerCtx(ctx)

	return st.box.readDir(hc.Dir, p)
}

// readDir lists an in-container directory, sorted by name.
func (b *Box) readDir(cwd, p string) ([]fs.DirEntry, error) {
	f, err := b.openFile(cwd, p, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, pathErr("readdir", p, err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int {
		return strings.Compare(a.Name(), b.Name())
	})

	return entries, nil
}

// access is the interpreter's AccessHandler. Commands run as root, so only execute
// permission can be missing: a regular file needs some x bit.
func (st *runState) access(ctx context.Context, p string, mode interp.AccessMode) error {
	hc := interp.HandlerCtx(ctx)
	info, err := st.box.statAt(hc.Dir, p, true)
	if err != nil {
		return err
	}
	if mode&interp.AccessExec != 0 && !info.IsDir() && info.Mode().Perm()&0o111 == 0 {
		return pathErr("access", p, fs.ErrPermission)
	}

	return nil
}

// devNull reads as empty and swallows writes.
type devNull struct{}

func (devNull) Read([]byte) (int, error)    { return 0, io.EOF }
func (devNull) Write(p []byte) (int, error) { return len(p), nil }
func (devNull) Close() error                { return nil }

// devZero reads as endless zero bytes and swallows writes.
type devZero struct{}

func (devZero) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
func (devZero) Write(p []byte) (int, error) { return len(p), nil }
func (devZero) Close() error                { return nil }

// nopRWC writes to w, reads as empty and does not close w.
type nopRWC struct{ w io.Writer }

func (n nopRWC) Read([]byte) (int, error)    { return 0, io.EOF }
func (n nopRWC) Write(p []byte) (int, error) { return n.w.Write(p) }
func (n nopRWC) Close() error                { return nil }
