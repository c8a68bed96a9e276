package truenas

import (
	"context"
	"encoding/base64"
	"fmt"
	"path"
	"strings"
)

// fileChunk is the most file content sent in one filesystem.file_receive call. TrueNAS
// accepts frames up to 2 MiB for that method; base64 grows data by 4/3, so 1 MiB of content
// leaves room for the envelope. Larger files go in appended chunks.
const fileChunk = 1 << 20

// defaultFileMode is used when the caller passes mode 0.
const defaultFileMode = 0o644

// WriteFile writes data into the container's root filesystem through the host path Incus
// mounts it at, which exists only while the container runs, so a container that is not
// RUNNING is refused with ErrInvalid rather than written beside. Empty data is refused with
// ErrInvalid: filesystem.file_receive rejects empty content and no other API route can
// create an empty file without a root shell on the NAS. A path through a symlink inside the
// container is refused with ErrInvalid too, because 25.x would follow it on the NAS host.
func (v *virt) WriteFile(ctx context.Context, name, p string, data []byte, mode uint32,
	uid, gid int) error {
	clean, err := containerPath(p, data)
	if err != nil {
		return fmt.Errorf("writing %s in container %q: %w", p, name, err)
	}

	in, err := v.instance(ctx, name)
	if err != nil {
		return fmt.Errorf("writing %s in container %q: %w", p, name, err)
	}
	if in.Status != "RUNNING" {
		// Unmounted, the path is a plain host directory: the write would land outside.
		return fmt.Errorf("writing %s in container %q: %w: the container is %s and its "+
			"root filesystem is mounted only while it runs (start it first)", p, name,
			ErrInvalid, strings.ToLower(in.Status))
	}
	cfg, err := v.config(ctx)
	if err != nil {
		return fmt.Errorf("writing %s in container %q: %w", p, name, err)
	}

	root := "/var/lib/incus/storage-pools/" + in.incusPool(cfg) + "/containers/" + name + "/rootfs"
	if err := checkNoSymlinks(ctx, v.c, root, clean); err != nil {
		return fmt.Errorf("writing %s in container %q: %w", p, name, err)
	}
	if err := receiveFile(ctx, v.c, root+clean, data, mode, uid, gid); err != nil {
		return fmt.Errorf("writing %s in container %q: %w", p, name, err)
	}
	return nil
}

// containerPath checks a path inside a container and cleans it so that no ".." climbs out
// of the root filesystem. Symlinks inside the tree are a separate matter: 26 refuses them
// server-side, and on 25.x WriteFile checks for them first (see checkNoSymlinks).
func containerPath(p string, data []byte) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%w: path must be absolute", ErrInvalid)
	}
	clean := path.Clean(p)
	if clean == "/" {
		return "", fmt.Errorf("%w: path names the root directory, not a file", ErrInvalid)
	}
	if len(data) == 0 {
		return "", fmt.Errorf("%w: content is empty, and TrueNAS cannot write an empty file "+
			"(write at least one byte, e.g. a newline)", ErrInvalid)
	}
	return clean, nil
}

// receiveFile sends data with filesystem.file_receive, in appended chunks when large.
// uid/gid below zero leave ownership unchanged.
func receiveFile(ctx context.Context, c *Conn, hostPath string, data []byte, mode uint32,
	uid, gid int) error {
	if mode == 0 {
		mode = defaultFileMode
	}
	uid, gid = max(uid, -1), max(gid, -1)

	for off := 0; off < len(data); off += fileChunk {
		end := min(off+fileChunk, len(data))
		opts := map[string]any{"append": off > 0, "mode": mode, "uid": uid, "gid": gid}
		b64 := base64.StdEncoding.EncodeToString(data[off:end])
		params := []any{hostPath, b64, opts}
		if err := c.Call(ctx, "filesystem.file_receive", params, nil); err != nil {
			return err
		}
	}
	return nil
}
