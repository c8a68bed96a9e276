package sim

import (
	"errors"
	"io/fs"
	"path"
	"strings"
	"syscall"
)

// fileListdir answers filesystem.listdir [path, filters, options] for directories inside
// container trees, with the usual query filters and options over the entries. As on 25.04
// to 26, a link to a directory lists the target; a link among the entries is typed SYMLINK
// and otherwise described by its target; a dangling one is left out, and a looping one fails
// the whole call, because the server stats every entry before filtering.
func (s *Server) fileListdir(cl *call) (any, *rpcError) {
	var p string
	if rerr := arg(cl.args, 0, "path", &p); rerr != nil {
		return nil, rerr
	}
	if !strings.HasPrefix(p, "/") {
		return nil, callError(errnoEINVAL, "%s: path must be absolute", p)
	}
	name, inner, ok := s.containerPath(p)
	s.mu.Lock()
	in, exists := s.st.Instances[name]
	exists = exists && !in.NoDataset
	s.mu.Unlock()
	if !ok || !exists {
		return nil, callError(errnoENOENT, "Directory %s does not exist", p)
	}

	st, dir, err := s.follow(name, inner)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, callError(errnoENOENT, "Directory %s does not exist", p)
	case errors.Is(err, syscall.ELOOP):
		return nil, plainError(errLinkLoop)
	case err != nil:
		return nil, plainError(err.Error())
	case !st.IsDir():
		return nil, callError(int(syscall.ENOTDIR), "Path %s is not a directory", p)
	}
	root, err := s.openRootfs(name)
	if err != nil {
		return nil, plainError(err.Error())
	}
	defer root.Close()
	rel := strings.TrimPrefix(dir, "/")
	if rel == "" {
		rel = "."
	}
	dirents, err := fs.ReadDir(root.FS(), rel)
	if err != nil {
		return nil, plainError(err.Error())
	}

	entries := make([]map[string]any, 0, len(dirents))
	for _, d := range dirents {
		info, err := d.Info()
		if err != nil {
			continue // vanished meanwhile
		}
		target := path.Join(dir, d.Name())
		link := info.Mode()&fs.ModeSymlink != 0
		if link {
			info, target, err = s.follow(name, target)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				continue // dangling: the server cannot stat it and skips it
			case errors.Is(err, syscall.ELOOP):
				return nil, plainError(errLinkLoop)
			case err != nil:
				return nil, plainError(err.Error())
			}
		}
		full := path.Join(path.Clean(p), d.Name())
		e := statEntry(s.rootfsDir(name)+strings.TrimSuffix(target, "/"), info, link)
		e["name"], e["path"] = d.Name(), full
		e["xattrs"], e["zfs_attrs"] = []string{}, nil
		entries = append(entries, e)
	}
	return query(entries, cl.args[min(1, len(cl.args)):])
}
