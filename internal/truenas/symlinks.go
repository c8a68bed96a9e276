package truenas

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// checkNoSymlinks makes sure that no existing component of the in-container path clean
// (e.g. /root, /root/.ssh and /root/.ssh/authorized_keys) is a symlink, before a write on
// TrueNAS 25.x. filesystem.file_receive opens its host path normally there, so a link inside
// the container's tree is followed on the NAS itself: an absolute target, or a relative one
// with enough "..", names a host file, which the middleware would then overwrite as root.
// 26 opens with RESOLVE_NO_SYMLINKS and refuses such paths itself, so only 25.x needs this.
//
// It stats one component per call, from the top, and stops at the first one that is
// missing: nothing below it can exist, and file_receive creates the missing directories.
// On 25.04 and 25.10, filesystem.stat lstats its path (statx with AT_SYMLINK_NOFOLLOW), so
// a link reports type SYMLINK; the components above it have already been checked, so the
// kernel follows no link on the way there.
//
// A dangling link (its target missing on the NAS) reads as missing too, because 25.x stat
// follows a link to fill in the other fields and answers ENOENT when that fails (listdir
// leaves such entries out for the same reason). Above the last component that is harmless:
// file_receive's makedirs finds the name taken and the write fails. As the last component it
// passes, and no 25.x read call can tell it from a missing file. That, and the window in
// which a running process could swap a checked directory for a link, is why pixels uses
// this API route only to provision a container fresh from the image the user chose: a
// copied system and px.write_file are written over SSH, inside the container (see
// bindings/provision.go and docs/architecture.md, "Writing files into containers").
func checkNoSymlinks(ctx context.Context, c *Conn, root, clean string) error {
	parts := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	cur := ""
	for i, part := range parts {
		cur += "/" + part
		last := i == len(parts)-1

		var st struct {
			Type string `json:"type"`
		}
		err := c.Call(ctx, "filesystem.stat", []any{root + cur}, &st)
		var e *Error
		if errors.As(err, &e) && e.Errname == "ENOENT" {
			return nil
		}
		if err != nil {
			return fmt.Errorf("checking %s for symlinks: %w", cur, err)
		}

		switch {
		case st.Type == "SYMLINK":
			return fmt.Errorf("%w: %s is a symlink, which TrueNAS 25.x would follow on the NAS "+
				"itself rather than inside the container, so pixels does not write through "+
				"it (replace the link inside the container with a real file or directory)",
				ErrInvalid, cur)
		case !last && st.Type != "DIRECTORY":
			return fmt.Errorf("%w: %s is not a directory (type %s)", ErrInvalid, cur,
				strings.ToLower(st.Type))
		case last && st.Type != "FILE":
			// A directory cannot be overwritten, and opening a FIFO would hang the middleware.
			return fmt.Errorf("%w: %s is not a regular file (type %s)", ErrInvalid, cur,
				strings.ToLower(st.Type))
		}
	}
	return nil
}
