package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrRemoteNotFound means the remote path of a copy does not exist.
var ErrRemoteNotFound = errors.New("no such file or directory")

// missingStatus is the exit status CopyFrom's remote script uses for a missing path.
const missingStatus = 66

// CopyTo copies the local file or directory tree src to dst on the host at addr, as one tar
// stream into the remote tar. When dst is an existing directory (or ends in "/") the copy
// lands inside it under src's name; otherwise it is created as dst, parents included. Modes
// are kept; the remote user owns the result. A missing src is an error wrapping
// fs.ErrNotExist, and nothing is sent.
func (c *Client) CopyTo(ctx context.Context, addr, src, dst string) error {
	abs, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if _, err := os.Lstat(abs); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if dst == "" {
		return errors.New("copying: empty remote path")
	}

	dir, name := remoteDir(dst), path.Base(dst)
	isDir := strings.HasSuffix(dst, "/")
	if !isDir {
		code, err := c.Exec(ctx, addr, ExecRequest{Argv: []string{"test", "-d", dst}})
		if err != nil {
			return fmt.Errorf("copying to %s: %w", dst, err)
		}
		isDir = code == 0
	}
	if isDir {
		dir, name = dst, filepath.Base(abs)
		if strings.HasPrefix(dir, "-") {
			dir = "./" + dir
		}
	}

	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		err := WriteTar(pw, abs, name)
		pw.CloseWithError(err)
		werr <- err
	}()
	var stderr strings.Builder
	script := `mkdir -p "$1" && tar -x -p --no-same-owner -f - -C "$1"`
	code, err := c.Exec(ctx, addr, ExecRequest{Argv: []string{"sh", "-c", script, "sh", dir},
		Stdin: pr, Stderr: &limitWriter{w: &stderr, n: 4096}})
	pr.CloseWithError(errors.New("remote tar stopped reading"))
	if wErr := <-werr; wErr != nil && !errors.Is(wErr, io.ErrClosedPipe) {
		return fmt.Errorf("copying %s: %w", src, wErr)
	}
	if err != nil {
		return fmt.Errorf("copying to %s: %w", dst, err)
	}
	if code != 0 {
		return fmt.Errorf("copying to %s: remote tar exited with status %d: %s", dst, code,
			strings.TrimSpace(stderr.String()))
	}

	return nil
}

// CopyFrom copies the remote file or directory tree src on the host at addr to the local
// path dst, as one tar stream from the remote tar. When dst is an existing directory the
// copy lands inside it under src's name; otherwise it is created as dst, whose parent must
// exist. Entries that would escape the destination are refused (ErrUnsafeEntry). A missing
// src is an error wrapping ErrRemoteNotFound.
func (c *Client) CopyFrom(ctx context.Context, addr, src, dst string) error {
	clean := path.Clean(src)
	base := path.Base(clean)
	if src == "" || base == "/" || base == "." || base == ".." {
		return fmt.Errorf("copying from %q: name a file or directory below /", src)
	}

	local, rename := dst, ""
	if info, err := os.Stat(dst); err != nil || !info.IsDir() {
		local, rename = filepath.Dir(dst), filepath.Base(dst)
		if info, err := os.Stat(local); err != nil {
			return fmt.Errorf("copying to %s: %w", dst, err)
		} else if !info.IsDir() {
			return fmt.Errorf("copying to %s: %s is not a directory", dst, local)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	xerr := make(chan error, 1)
	go func() {
		err := ExtractTar(pr, local, base, rename)
		if err != nil {
			cancel() // stop the remote tar
		}
		// Read what follows the archive's end (tar pads to whole records), or what a
		// stopped copy still sends, so the session never blocks on an unread stream.
		io.Copy(io.Discard, pr)
		xerr <- err
	}()

	var stderr strings.Builder
	script := fmt.Sprintf(`if ! test -e "$1/$2" && ! test -L "$1/$2"; then `+
		`echo "$1/$2: No such file or directory" >&2; exit %d; fi; `+
		`tar -c -f - -C "$1" "./$2"`, missingStatus)
	code, err := c.Exec(ctx, addr, ExecRequest{
		Argv:   []string{"sh", "-c", script, "sh", remoteDir(clean), base},
		Stdout: pw, Stderr: &limitWriter{w: &stderr, n: 4096}})
	pw.Close()
	xErr := <-xerr
	switch {
	case xErr != nil:
		return fmt.Errorf("copying from %s: %w", src, xErr)
	case err != nil:
		return fmt.Errorf("copying from %s: %w", src, err)
	case code == missingStatus:
		return fmt.Errorf("copying from %s: %w", src, ErrRemoteNotFound)
	case code != 0:
		return fmt.Errorf("copying from %s: remote tar exited with status %d: %s", src, code,
			strings.TrimSpace(stderr.String()))
	}

	return nil
}

// remoteDir is the directory of a remote path, kept from reading as an option.
func remoteDir(p string) string {
	d := path.Dir(p)
	if strings.HasPrefix(d, "-") {
		d = "./" + d
	}
	return d
}

// limitWriter keeps the first n bytes written and drops the rest.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
