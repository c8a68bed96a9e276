package sim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// containerPath splits a host path under a container's rootfs into the container name and
// the path inside the container ("/" for the rootfs itself). On 26 the rootfs is the
// dataset's mountpoint under /mnt/.truenas_containers; before, Incus's rootfs directory.
func (s *Server) containerPath(p string) (name, inner string, ok bool) {
	if s.ver.gen26 {
		rest, found := strings.CutPrefix(path.Clean(p), lxcPrefix)
		if !found || rest == "" {
			return "", "", false
		}
		name, after, _ := strings.Cut(rest, "/")
		return name, "/" + after, true
	}
	rest, found := strings.CutPrefix(path.Clean(p), rootfsPrefix)
	if !found {
		return "", "", false
	}
	name, after, _ := strings.Cut(rest, "/")
	if after != "rootfs" && !strings.HasPrefix(after, "rootfs/") {
		return "", "", false
	}
	return name, "/" + strings.TrimPrefix(strings.TrimPrefix(after, "rootfs"), "/"), true
}

// fileReceive answers filesystem.file_receive: only into a running container's rootfs.
func (s *Server) fileReceive(cl *call) (any, *rpcError) {
	if rerr := tooManyArgs(cl.args, 3); rerr != nil {
		return nil, rerr
	}
	var p, content string
	o := struct {
		Append bool `json:"append"`
		Mode   *int `json:"mode"`
		UID    *int `json:"uid"`
		GID    *int `json:"gid"`
	}{}
	if rerr := arg(cl.args, 0, "path", &p); rerr != nil {
		return nil, rerr
	}
	if rerr := arg(cl.args, 1, "content", &content); rerr != nil {
		return nil, rerr
	}
	if rerr := arg(cl.args, 2, "options", &o); rerr != nil {
		return nil, rerr
	}
	if content == "" {
		return nil, invalidParams(fieldError{"filesystem.file_receive.content",
			"String should have at least 1 character", errnoEINVAL})
	}
	data, err := base64.StdEncoding.DecodeString(content)
	if err != nil {
		return nil, invalidParams(fieldError{"filesystem.file_receive.content",
			"Content is not valid base64", errnoEINVAL})
	}

	name, inner, ok := s.containerPath(p)
	if !ok || inner == "/" {
		// The simulator never writes outside a container tree; a real NAS would.
		return nil, plainError(fmt.Sprintf("[Errno 13] Permission denied: '%s'", p))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Incus mounts the rootfs only while the container runs; 26 keeps it mounted.
	in, exists := s.st.Instances[name]
	if !exists || in.NoDataset || in.Status != statusRunning && !s.ver.gen26 {
		return nil, plainError(fmt.Sprintf("[Errno 2] No such file or directory: '%s'", p))
	}
	if s.ver.gen26 {
		if err := s.refuseSymlinks(name, inner); err != nil {
			return nil, plainError(fmt.Sprintf("[Errno 40] Too many levels of symbolic links: "+
				"'%s'", p))
		}
	}
	box, err := s.openBox(name)
	if err != nil {
		return nil, plainError(err.Error())
	}

	mode, uid, gid := fs.FileMode(0o644), 0, 0
	if st, err := s.lstat(name, inner); err == nil {
		mode = st.Mode().Perm()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(sys.Uid), int(sys.Gid)
		}
		if o.Append {
			old, rerr := box.ReadFile(inner)
			if rerr == nil {
				data = append(old, data...)
			}
		}
	}
	if o.Mode != nil && *o.Mode != 0 {
		mode = fs.FileMode(*o.Mode) & fs.ModePerm
	}
	if o.UID != nil && *o.UID >= 0 {
		uid = *o.UID
	}
	if o.GID != nil && *o.GID >= 0 {
		gid = *o.GID
	}
	if !s.ver.gen26 {
		if comp := s.danglingDir(name, inner); comp != "" {
			return nil, plainError(fmt.Sprintf("[Errno 17] File exists: '%s'",
				s.rootfsDir(name)+comp))
		}
	}
	if err := box.WriteFile(inner, data, mode, uid, gid); err != nil {
		return nil, plainError(fmt.Sprintf("[Errno 5] Input/output error: '%s' (%v)", p, err))
	}
	return true, nil
}

// rootfsDir returns the host path of a container's root filesystem, the prefix that
// containerPath strips.
func (s *Server) rootfsDir(name string) string {
	if s.ver.gen26 {
		return lxcPrefix + name
	}
	return rootfsPrefix + name + "/rootfs"
}

// openRootfs opens a container tree afresh, as an os.Root, so it sees the tree a rollback
// put in place.
func (s *Server) openRootfs(name string) (*os.Root, error) {
	return os.OpenRoot(filepath.Join(s.containerDir(name), "rootfs"))
}

// errLinkLoop is what statx reports after too many links, as the middleware's text shows it.
const errLinkLoop = "[Errno 40] Too many levels of symbolic links"

// lstat stats a path inside a container tree the way statx with AT_SYMLINK_NOFOLLOW does:
// links before the last component are followed, the last is not. The server resolves those
// links on the NAS host; the simulator has no host, so it resolves them from the container
// root and never leaves the tree.
func (s *Server) lstat(name, inner string) (fs.FileInfo, error) {
	root, err := s.openRootfs(name)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	rel, ok := resolve(root, "/", inner, false)
	if !ok {
		return nil, &fs.PathError{Op: "stat", Path: inner, Err: syscall.ELOOP}
	}
	return root.Lstat(rel)
}

// follow stats what a path inside a container tree leads to, following every link (from
// the container root, as lstat does), and returns the in-container path it resolved to.
// A dangling link is fs.ErrNotExist, a loop syscall.ELOOP.
func (s *Server) follow(name, inner string) (fs.FileInfo, string, error) {
	root, err := s.openRootfs(name)
	if err != nil {
		return nil, "", err
	}
	defer root.Close()
	rel, ok := resolve(root, "/", inner, true)
	if !ok {
		return nil, "", &fs.PathError{Op: "stat", Path: inner, Err: syscall.ELOOP}
	}
	st, err := root.Lstat(rel)
	if err != nil {
		return nil, "", err
	}
	return st, path.Join("/", rel), nil
}

// refuseSymlinks fails when any existing component of a path is a symlink, as 26 opens
// received files with RESOLVE_NO_SYMLINKS.
func (s *Server) refuseSymlinks(name, inner string) error {
	cur := ""
	for _, part := range strings.Split(strings.Trim(path.Clean(inner), "/"), "/") {
		cur += "/" + part
		st, err := s.lstat(name, cur)
		if err != nil {
			return nil // the rest does not exist yet and will be created
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink", cur)
		}
	}
	return nil
}

// fileStat answers filesystem.stat for paths inside container trees as 25.04 to 26 do: the
// path is lstat'ed, so a link reports type SYMLINK, but every other field, and realpath,
// describe the link's target. A dangling link is "not found", exactly like a missing path,
// and a link loop is a plain OSError.
func (s *Server) fileStat(cl *call) (any, *rpcError) {
	var p string
	if rerr := arg(cl.args, 0, "path", &p); rerr != nil {
		return nil, rerr
	}
	if !strings.HasPrefix(p, "/") {
		return nil, callError(errnoEINVAL, "%s: path must be absolute", p)
	}
	name, inner, ok := s.containerPath(p)
	if !ok {
		return nil, callError(errnoENOENT, "Path %s not found", p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, exists := s.st.Instances[name]; !exists || in.NoDataset {
		return nil, callError(errnoENOENT, "Path %s not found", p)
	}

	st, err := s.lstat(name, inner)
	realpath := p
	link := err == nil && st.Mode()&fs.ModeSymlink != 0
	if link {
		var resolved string
		st, resolved, err = s.follow(name, inner)
		realpath = s.rootfsDir(name) + strings.TrimSuffix(resolved, "/")
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, callError(errnoENOENT, "Path %s not found", p)
	case errors.Is(err, syscall.ELOOP):
		return nil, plainError(errLinkLoop)
	case err != nil:
		return nil, plainError(err.Error())
	}
	return statEntry(realpath, st, link), nil
}

// statEntry renders file information like filesystem.stat. st describes the entry, or its
// target when link is set (the type is SYMLINK then, and the rest is the target's).
func statEntry(realpath string, st fs.FileInfo, link bool) map[string]any {
	kind := "OTHER"
	switch {
	case link:
		kind = "SYMLINK"
	case st.IsDir():
		kind = "DIRECTORY"
	case st.Mode().IsRegular():
		kind = "FILE"
	}
	e := map[string]any{"realpath": realpath, "type": kind, "size": st.Size(),
		"mode": int(st.Mode().Perm()) | typeBits(st.Mode()), "uid": 0, "gid": 0,
		"mtime": float64(st.ModTime().UnixNano()) / 1e9, "acl": false, "is_mountpoint": false,
		"is_ctldir": false, "attributes": []string{}, "user": "root", "group": "root"}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		e["uid"], e["gid"], e["inode"], e["nlink"] = sys.Uid, sys.Gid, sys.Ino, sys.Nlink
		e["atime"] = float64(sys.Atim.Sec) + float64(sys.Atim.Nsec)/1e9
		e["ctime"] = float64(sys.Ctim.Sec) + float64(sys.Ctim.Nsec)/1e9
	}
	return e
}

// typeBits are the S_IFMT bits of a mode, as statx reports them.
func typeBits(m fs.FileMode) int {
	switch {
	case m.IsDir():
		return syscall.S_IFDIR
	case m&fs.ModeSymlink != 0:
		return syscall.S_IFLNK
	case m&fs.ModeNamedPipe != 0:
		return syscall.S_IFIFO
	case m&fs.ModeSocket != 0:
		return syscall.S_IFSOCK
	case m&fs.ModeCharDevice != 0:
		return syscall.S_IFCHR
	case m&fs.ModeDevice != 0:
		return syscall.S_IFBLK
	}
	return syscall.S_IFREG
}

// danglingDir returns the first directory component of inner that is a dangling link, or "".
// 25.x's file_receive makes the parent directories with Python's os.makedirs, which tries to
// mkdir such a name, finds it taken, and fails with EEXIST, since it is not a directory.
func (s *Server) danglingDir(name, inner string) string {
	cur := ""
	for _, part := range strings.Split(strings.Trim(path.Dir(inner), "/"), "/") {
		if part == "" {
			return ""
		}
		cur += "/" + part
		st, err := s.lstat(name, cur)
		if err != nil {
			return "" // missing: makedirs creates it and everything below
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		if _, _, err := s.follow(name, cur); errors.Is(err, fs.ErrNotExist) {
			return cur
		}
	}
	return ""
}
