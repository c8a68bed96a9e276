package sim

// tar: create (c), extract (x) and list (t) ustar/PAX archives, optionally gzipped (z), on
// a file in the tree or on stdin/stdout ("-f -", the default). Enough for
// `tar cf - dir | ... | tar xf - -C /tmp` to move a tree intact, byte for byte.

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// tarOpts is a parsed tar command line.
type tarOpts struct {
	mode    rune // 'c', 'x' or 't'
	file    string
	dir     string
	gzip    bool
	verbose bool
	names   []string
}

// parseTar reads both the old "cf -" form and dashed flags.
func parseTar(args []string) (tarOpts, error) {
	o := tarOpts{file: "-", dir: "."}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = append([]string{"-" + args[0]}, args[1:]...)
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "--gzip":
			o.gzip = true
		case strings.HasPrefix(a, "--directory="):
			o.dir = strings.TrimPrefix(a, "--directory=")
		case strings.HasPrefix(a, "--file="):
			o.file = strings.TrimPrefix(a, "--file=")
		case strings.HasPrefix(a, "--"):
			// other long options change nothing the simulator models
		case strings.HasPrefix(a, "-") && a != "-":
			for _, c := range a[1:] {
				switch c {
				case 'c', 'x', 't':
					o.mode = c
				case 'f':
					o.file = next()
				case 'C':
					o.dir = next()
				case 'z':
					o.gzip = true
				case 'v':
					o.verbose = true
				}
			}
		default:
			o.names = append(o.names, a)
		}
	}
	if o.mode == 0 {
		return o, errors.New("You must specify one of the '-ctx' options")
	}

	return o, nil
}

// toolTar runs tar.
func toolTar(tc *toolCtx, args []string) error {
	o, err := parseTar(args[1:])
	if err != nil {
		return tc.failCode(2, "%v", err)
	}
	dir := "/" + strings.TrimPrefix(tc.path(o.dir, true), ".") // -C, resolved in the box

	if o.mode == 'c' {
		out := tc.stdout
		if o.file != "-" {
			f, err := tc.st.box.openFile(tc.dir, o.file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				return tc.fail("%s: %v", o.file, unwrapPath(err))
			}
			defer f.Close()
			out = f
		}
		if err := tc.tarCreate(out, dir, o); err != nil {
			return tc.failCode(2, "%v", err)
		}
		return nil
	}

	in, err := tc.in(o.file)
	if err != nil {
		return tc.failCode(2, "%s: %v", o.file, unwrapPath(err))
	}
	defer in.Close()
	var r io.Reader = in
	if o.gzip {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return tc.failCode(2, "reading gzip: %v", err)
		}
		r = zr
	}
	if err := tc.tarRead(tar.NewReader(r), dir, o); err != nil {
		return tc.failCode(2, "%v", err)
	}

	return nil
}

// tarCreate writes o.names (relative to dir) and everything below them to out.
func (tc *toolCtx) tarCreate(out io.Writer, dir string, o tarOpts) error {
	if len(o.names) == 0 {
		return errors.New("Cowardly refusing to create an empty archive")
	}
	root, err := tc.st.box.fsRoot()
	if err != nil {
		return err
	}

	var zw *gzip.Writer
	if o.gzip {
		zw = gzip.NewWriter(out)
		out = zw
	}
	tw := tar.NewWriter(out)
	for _, name := range o.names {
		start := tc.st.box.name(dir, name, false)
		// Member names follow the name as given, minus a leading "/" as GNU tar does.
		prefix := strings.TrimPrefix(path.Clean("/"+name), "/")
		err := walkRoot(root, start, true, func(p string, info fs.FileInfo) error {
			sub := strings.TrimPrefix(p, start)
			if start == "." {
				sub = p
			}
			arcName := path.Join(prefix, sub)
			if arcName == "" {
				arcName = "."
			}
			return tc.tarAdd(tw, root, p, arcName, info, o.verbose)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, unwrapPath(err))
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if zw != nil {
		return zw.Close()
	}

	return nil
}

// tarAdd writes one entry.
func (tc *toolCtx) tarAdd(tw *tar.Writer, root *os.Root, p, arcName string, info fs.FileInfo,
	verbose bool) error {
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = root.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = arcName
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "root", "root"
	if verbose {
		fmt.Fprintln(tc.stderr, hdr.Name)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}

	f, err := root.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)

	return err
}

// tarRead lists or extracts every entry of tr under dir. Entry names are cleaned from "/"
// first, so "../" in an archive cannot climb out of dir's tree, let alone the box.
func (tc *toolCtx) tarRead(tr *tar.Reader, dir string, o tarOpts) error {
	root, err := tc.st.box.fsRoot()
	if err != nil {
		return err
	}

	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if o.mode == 't' || o.verbose {
			w := tc.stdout
			if o.mode != 't' {
				w = tc.stderr
			}
			fmt.Fprintln(w, hdr.Name)
		}
		if o.mode == 't' {
			continue
		}
		name := tc.st.box.name(dir, path.Clean("/" + hdr.Name)[1:], false)
		link := tc.st.box.name(dir, path.Clean("/" + hdr.Linkname)[1:], false)
		if err := extractEntry(root, tr, hdr, name, link); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, unwrapPath(err))
		}
	}
}

// extractEntry writes one archive entry to name inside root; link is where a hard link's
// target was extracted.
func extractEntry(root *os.Root, r io.Reader, hdr *tar.Header, name, link string) error {
	mode := fs.FileMode(hdr.Mode).Perm()
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return err
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := root.MkdirAll(name, mode); err != nil {
			return err
		}
		return root.Chmod(name, mode)
	case tar.TypeSymlink:
		root.Remove(name)
		return root.Symlink(hdr.Linkname, name)
	case tar.TypeLink:
		root.Remove(name)
		return root.Link(link, name)
	case tar.TypeReg:
		if info, err := root.Lstat(name); err == nil && info.Mode()&fs.ModeSymlink != 0 {
			root.Remove(name) // replace a link rather than write through it, as GNU tar does
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
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
		return nil // devices and fifos are skipped
	}
}
