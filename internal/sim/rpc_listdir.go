package sim

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// fileListdir answers filesystem.listdir [path, filters, options] for directories inside
// container trees, with the usual query filters and options over the entries.
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

	root, err := os.OpenRoot(filepath.Join(s.containerDir(name), "rootfs"))
	if err != nil {
		return nil, plainError(err.Error())
	}
	defer root.Close()
	rel := strings.TrimPrefix(path.Clean("/"+inner), "/")
	if rel == "" {
		rel = "."
	}
	st, err := root.Stat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, callError(errnoENOENT, "Directory %s does not exist", p)
	}
	if err != nil {
		return nil, plainError(err.Error())
	}
	if !st.IsDir() {
		return nil, callError(int(syscall.ENOTDIR), "Path %s is not a directory", p)
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
		full := path.Join(path.Clean(p), d.Name())
		e := statEntry(full, info)
		e["name"], e["path"] = d.Name(), full
		e["xattrs"], e["zfs_attrs"] = []string{}, nil
		entries = append(entries, e)
	}
	return query(entries, cl.args[min(1, len(cl.args)):])
}
