package sim

// Checkpoints of a box: whole copies of its tree under dir/snapshots/<label>. Copies are
// plain directories so a snapshot survives simulator restarts without any index file.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// snapshotDir returns where label's copy lives, refusing labels that could name anything but
// one entry of dir/snapshots.
func (b *Box) snapshotDir(label string) (string, error) {
	if label == "" || label == "." || label == ".." || strings.ContainsAny(label, `/\`+"\x00") {
		return "", fmt.Errorf("invalid snapshot label %q", label)
	}

	return filepath.Join(b.dir, "snapshots", label), nil
}

// Snapshot copies the tree to dir/snapshots/<label>. An existing label is refused, as TrueNAS
// refuses a duplicate snapshot name.
func (b *Box) Snapshot(label string) error {
	dst, err := b.snapshotDir(label)
	if err != nil {
		return fmt.Errorf("creating snapshot: %w", err)
	}

	b.mu.Lock()
	defer b.mu.Unlock()

	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("creating snapshot %q: %w", label, fs.ErrExist)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("creating snapshot %q: %w", label, err)
	}
	tmp := dst + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("creating snapshot %q: %w", label, err)
	}
	if err := copyTree(filepath.Join(b.dir, "rootfs"), tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("creating snapshot %q: %w", label, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("creating snapshot %q: %w", label, err)
	}

	return nil
}

// Restore replaces the tree by the copy saved under label; the snapshot itself stays.
func (b *Box) Restore(label string) error {
	src, err := b.snapshotDir(label)
	if err != nil {
		return fmt.Errorf("restoring snapshot: %w", err)
	}

	b.mu.Lock()
	defer b.mu.Unlock()

	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("restoring snapshot %q: %w", label, err)
	}
	rootfs := filepath.Join(b.dir, "rootfs")
	fresh, old := rootfs+".restoring", rootfs+".old"
	for _, p := range []string{fresh, old} {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("restoring snapshot %q: %w", label, err)
		}
	}
	if err := copyTree(src, fresh); err != nil {
		os.RemoveAll(fresh)
		return fmt.Errorf("restoring snapshot %q: %w", label, err)
	}

	if b.root != nil {
		b.root.Close()
		b.root = nil
	}
	err = errors.Join(os.Rename(rootfs, old), os.Rename(fresh, rootfs))
	root, openErr := os.OpenRoot(rootfs)
	if openErr != nil {
		return fmt.Errorf("restoring snapshot %q: %w", label, errors.Join(err, openErr))
	}
	b.root = root
	if err != nil {
		return fmt.Errorf("restoring snapshot %q: %w", label, err)
	}

	return os.RemoveAll(old)
}

// DeleteSnapshot removes the copy saved under label.
func (b *Box) DeleteSnapshot(label string) error {
	dir, err := b.snapshotDir(label)
	if err != nil {
		return fmt.Errorf("deleting snapshot: %w", err)
	}

	b.mu.Lock()
	defer b.mu.Unlock()

	if _, err := os.Lstat(dir); err != nil {
		return fmt.Errorf("deleting snapshot %q: %w", label, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("deleting snapshot %q: %w", label, err)
	}

	return nil
}

// copyTree copies src to a new dst, keeping modes and copying symlinks as links (never
// following them, so a link pointing out of the tree copies as the same dangling link).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, r)
		info, err := d.Info()
		if err != nil {
			return err
		}

		switch {
		case d.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			return os.Chmod(target, info.Mode()&(fs.ModePerm|fs.ModeSticky))
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		default:
			return nil // devices, sockets and fifos have no place in a simulated tree
		}
	})
}

// copyFile copies one regular file.
func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()

	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}

	return out.Close()
}
