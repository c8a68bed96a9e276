package ssh

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"
)

// writeScript replaces the file $1 with its stdin, atomically: the content goes into a new
// temporary file beside it, which gets mode $2 and owner $3 and is then renamed over $1.
// Readers see the old file or the new one, never a part, and a failed write leaves the old
// file as it was. Everything happens inside the container, so its symlinks resolve there:
// the directories on the way are followed like any program would, and a link at $1 itself is
// replaced by the file rather than written through. A directory at $1 is refused, since mv
// would move the file into it. It needs only a POSIX shell, mkdir, mktemp, cat, chmod,
// chown and mv, which busybox images have too.
const writeScript = `p=$1
d=${p%/*}
[ -n "$d" ] || d=/
if [ -d "$p" ]; then echo "$p is a directory" >&2; exit 1; fi
mkdir -p "$d" || exit 1
t=$(mktemp "$d/.pixels-write.XXXXXX") || exit 1
if cat > "$t" && chmod "$2" "$t" && chown "$3" "$t" && mv -f "$t" "$p"; then exit 0; fi
rm -f "$t"
exit 1`

// WriteFile replaces the file at the absolute path p on the host at addr with data, with
// permission bits mode and owner uid:gid, creating missing parent directories. See
// writeScript for what it guarantees. An empty data makes an empty file.
func (c *Client) WriteFile(ctx context.Context, addr, p string, data []byte, mode uint32,
	uid, gid int) error {
	if !strings.HasPrefix(p, "/") || path.Clean(p) == "/" {
		return fmt.Errorf("writing %s: the path must be absolute and name a file", p)
	}
	p = path.Clean(p)
	var stderr strings.Builder
	code, err := c.Exec(ctx, addr, ExecRequest{
		Argv: []string{"sh", "-c", writeScript, "pixels-write", p, fmt.Sprintf("%04o", mode),
			fmt.Sprintf("%d:%d", uid, gid)},
		Stdin:  bytes.NewReader(data),
		Stderr: &limitWriter{w: &stderr, n: 4096},
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if code != 0 {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = fmt.Sprintf("the remote shell exited with status %d", code)
		}
		return fmt.Errorf("writing %s: %s", p, msg)
	}
	return nil
}
