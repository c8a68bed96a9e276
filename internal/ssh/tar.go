package ssh

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ErrUnsafeEntry means a tar archive held an entry that would land outside the destination:
// an absolute name, a ".." step, or a link that points out of the tree.
var ErrUnsafeEntry = errors.New("unsafe archive entry")

// WriteTar writes the file or directory tree at src to w as a tar archive whose entries all
// start with name (the tree's top). Modes are kept; owners are not (entries belong to uid 0,
// so the receiving side's user owns what it extracts). Symbolic links are stored as links;
// devices, sockets and fifos are skipped.
func WriteTar(w io.Writer, src, name string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		arc := path.Join(name, filepath.ToSlash(rel))
		return addEntry(tw, p, arc)
	})
	if err != nil {
		return fmt.Errorf("archiving %s: %w", src, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archiving %s: %w", src, err)
	}

	return nil
}

// addEntry writes the header (and content, for a regular file) of the local file p.
func addEntry(tw *tar.Writer, p, arc string) error {
	info, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	case !info.Mode().IsRegular() && !info.IsDir():
		return nil
	}

	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = arc
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "root", "root"
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}

	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(tw, f); err != nil {
		return err
	}

	return nil
}

// ExtractTar reads a tar archive from r into the directory dir. Every entry must sit below
// top (the archive's first path element); it lands below rename instead ("" keeps top).
// Entries that would escape dir are refused with ErrUnsafeEntry before anything of them is
// written, and all writes go through an os.Root on dir, so a link already in dir cannot
// lead outside either. Modes are kept; directory modes are applied last, so a read-only
// directory can still receive its contents.
func ExtractTar(r io.Reader, dir, top, rename string) error {
	if rename == "" {
		rename = top
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("extracting archive: %w", err)
	}
	defer root.Close()

	type dirMode struct {
		name string
		mode fs.FileMode
	}
	var dirs []dirMode
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("extracting archive: %w", err)
		}
		name, err := entryName(hdr, top, rename)
		if err != nil {
			return fmt.Errorf("extracting archive: %w", err)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, dirMode{name, fs.FileMode(hdr.Mode).Perm()})
		}
		if err := writeEntry(root, tr, hdr, name, top, rename); err != nil {
			return fmt.Errorf("extracting %s: %w", hdr.Name, err)
		}
	}
	// Children first, so a read-only parent does not stop its child's chmod.
	for _, d := range slices.Backward(dirs) {
		if err := root.Chmod(d.name, d.mode); err != nil {
			return fmt.Errorf("extracting %s: %w", d.name, err)
		}
	}

	return nil
}

// entryName checks hdr's name and link and returns the local slash path it extracts to.
func entryName(hdr *tar.Header, top, rename string) (string, error) {
	name, err := cleanRel(hdr.Name)
	if err != nil {
		return "", err
	}
	first, rest, _ := strings.Cut(name, "/")
	if first != top {
		return "", fmt.Errorf("%w: %q is not below %q", ErrUnsafeEntry, hdr.Name, top)
	}
	name = path.Join(rename, rest)

	switch hdr.Typeflag {
	case tar.TypeSymlink:
		if path.IsAbs(hdr.Linkname) {
			return "", fmt.Errorf("%w: link %q points to the absolute path %q", ErrUnsafeEntry,
				hdr.Name, hdr.Linkname)
		}
		target := path.Join(path.Dir(name), hdr.Linkname)
		if target != rename && !strings.HasPrefix(target, rename+"/") {
			return "", fmt.Errorf("%w: link %q points out of the destination (%q)",
				ErrUnsafeEntry, hdr.Name, hdr.Linkname)
		}
	case tar.TypeLink:
		if _, err := cleanRel(hdr.Linkname); err != nil {
			return "", err
		}
	}

	return name, nil
}

// cleanRel refuses absolute names and ".." steps and returns the cleaned relative name.
func cleanRel(name string) (string, error) {
	if path.IsAbs(name) || strings.HasPrefix(name, `\`) {
		return "", fmt.Errorf("%w: %q is absolute", ErrUnsafeEntry, name)
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", fmt.Errorf("%w: %q climbs out with \"..\"", ErrUnsafeEntry, name)
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", fmt.Errorf("%w: entry %q has no name", ErrUnsafeEntry, name)
	}

	return clean, nil
}

// writeEntry creates one checked entry inside root.
func writeEntry(root *os.Root, r io.Reader, hdr *tar.Header, name, top, rename string) error {
	mode := fs.FileMode(hdr.Mode).Perm()
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		// Owner-writable until the end, when ExtractTar applies the archived mode.
		if err := root.MkdirAll(name, 0o700); err != nil {
			return err
		}
		return root.Chmod(name, mode|0o700)
	case tar.TypeSymlink:
		if err := removeIfPresent(root, name); err != nil {
			return err
		}
		return root.Symlink(hdr.Linkname, name)
	case tar.TypeLink:
		target, _ := cleanRel(hdr.Linkname)
		first, rest, _ := strings.Cut(target, "/")
		if first != top {
			return fmt.Errorf("%w: hard link to %q is not below %q", ErrUnsafeEntry,
				hdr.Linkname, top)
		}
		if err := removeIfPresent(root, name); err != nil {
			return err
		}
		return root.Link(path.Join(rename, rest), name)
	case tar.TypeReg:
		// Replace a link rather than write through it.
		if info, err := root.Lstat(name); err == nil && !info.Mode().IsRegular() &&
			!info.IsDir() {
			if err := root.Remove(name); err != nil {
				return err
			}
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode|0o200)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := root.Chmod(name, mode); err != nil {
			return err
		}
		return root.Chtimes(name, hdr.ModTime, hdr.ModTime)
	default:
		return nil // devices and fifos are not copied
	}
}

func removeIfPresent(root *os.Root, name string) error {
	err := root.Remove(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
