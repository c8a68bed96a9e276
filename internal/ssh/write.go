package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
)

// mktempSuffix ends a mktemp template: the six characters busybox's mktemp requires
// (GNU's takes three or more), which mktemp replaces with random ones.
var mktempSuffix = strings.Repeat("X", 6)

// ErrWriteRefused means the host refused a WriteFile: the path names a directory, a parent
// cannot be made, the user may not write there, and so on. The error text says which.
var ErrWriteRefused = errors.New("write refused")

// writeScript replaces the file $1 with its stdin, which must be $4 bytes long: the content
// goes into a new temporary file beside it, which gets mode $2 and owner $3 and is renamed
// over $1 only once all of it has arrived. So readers see the old file or the new one, and a
// write that stops early (OpenSSH ignores signal requests for root sessions, so a cancelled
// write ends with its input cut short and cat still exits 0) keeps the old file. The
// temporary file's name holds $5, a random token from the client, so the client can remove
// it when the script is killed before it can, even if the script never got to say its name. Everything happens inside the container, where its symlinks
// resolve: directories on the way are followed like any program would, and a link at $1
// itself, even one to a directory, is replaced by the file. A directory at $1 is refused
// (status 2). It needs only a POSIX shell, mkdir, mktemp, cat, wc, chmod, chown, rm and mv,
// which busybox images have too.
var writeScript = `p=$1
d=${p%/*}
[ -n "$d" ] || d=/
if [ -d "$p" ] && [ ! -L "$p" ]; then echo "$p is a directory" >&2; exit 2; fi
mkdir -p "$d" || exit 1
t=$(mktemp "$d/.pixels-write.$5.` + mktempSuffix + `") || exit 1
if cat > "$t"; then
	n=$(wc -c < "$t")
	if [ $n -eq "$4" ] 2>/dev/null; then
		if chmod "$2" "$t" && chown "$3" "$t"; then
			if [ -L "$p" ] && [ -d "$p" ]; then rm -f "$p"; fi
			if mv -f "$t" "$p"; then exit 0; fi
		fi
	else
		echo "only $n of $4 bytes arrived; $p was left as it was" >&2
	fi
fi
rm -f "$t"
exit 1`

// WriteFile replaces the file at the absolute path p on the host at addr with data, with
// permission bits mode and owner uid:gid, creating missing parent directories. See
// writeScript for what it guarantees. An empty data makes an empty file. The path is used as
// given, so ".." after a linked directory resolves as the kernel resolves it; a path that
// ends in "/", ".", ".." or holds a NUL byte is refused before anything is sent.
func (c *Client) WriteFile(ctx context.Context, addr, p string, data []byte, mode uint32,
	uid, gid int) error {
	if err := checkWritePath(p); err != nil {
		return fmt.Errorf("writing %s: %w: %w", p, ErrWriteRefused, err)
	}
	token := newMarker()
	var stderr strings.Builder
	code, err := c.Exec(ctx, addr, ExecRequest{
		Argv: []string{"sh", "-c", writeScript, "pixels-write", p, fmt.Sprintf("%04o", mode),
			fmt.Sprintf("%d:%d", uid, gid), fmt.Sprint(len(data)), token},
		Stdin:  bytes.NewReader(data),
		Stderr: &limitWriter{w: &stderr, n: 4096},
	})
	if err != nil || code != 0 {
		c.removeTemp(ctx, addr, p, token)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if code != 0 {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = fmt.Sprintf("the remote shell exited with status %d", code)
		}
		return fmt.Errorf("writing %s: %w: %s", p, ErrWriteRefused, msg)
	}
	return nil
}

// removeTemp deletes the temporary file a WriteFile of p with token left, if any; the
// file is hidden and nothing reads it, so a failure here is ignored (see afterCancel).
func (c *Client) removeTemp(ctx context.Context, addr, p, token string) {
	c.afterCancel(ctx, addr, "sh", "-c",
		`d=${1%/*}; [ -n "$d" ] || d=/; rm -f "$d"/.pixels-write."$2".*`, "pixels-clean", p,
		token)
}

// checkWritePath refuses paths WriteFile cannot write as a file.
func checkWritePath(p string) error {
	switch base := path.Base(p); {
	case !strings.HasPrefix(p, "/"):
		return errors.New("the path must be absolute")
	case strings.ContainsRune(p, 0):
		return errors.New("the path holds a NUL byte")
	case strings.HasSuffix(p, "/") || base == "." || base == "..":
		return errors.New("the path names a directory, not a file")
	}
	return nil
}
