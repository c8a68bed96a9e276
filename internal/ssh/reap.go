package ssh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// markerVar is the environment variable Exec sets to a fresh random value on each command
// without a terminal, so that reap can find the command and its children after a cancel.
const markerVar = "PIXELS_EXEC"

// reapScript sends SIGTERM to every process whose environment holds the line $1, found
// through /proc. Where there is no /proc it does nothing. Its own processes get the value
// as an argument, not in their environment, so it never matches itself.
const reapScript = `m=$1
for d in /proc/[0-9]*; do
	[ -r "$d/environ" ] || continue
	if tr '\000' '\n' < "$d/environ" 2>/dev/null | grep -qxF "$m"; then
		kill -TERM "${d#/proc/}" 2>/dev/null
	fi
done
exit 0`

// withMarker puts markerVar=marker in front of the command part of cmd, after the `cd DIR &&`
// command() may have put first, as a shell assignment: it reaches the command's environment
// and its children's, and needs no program of its own.
func withMarker(cmd string, req ExecRequest, marker string) string {
	assign := markerVar + "=" + marker + " "
	if req.Cwd != "" {
		prefix := "cd " + Quote([]string{req.Cwd}) + " && "
		return prefix + assign + strings.TrimPrefix(cmd, prefix)
	}
	return assign + cmd
}

// newMarker returns a value for markerVar.
func newMarker() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// reap ends what is left of a cancelled command on the host at addr. See afterCancel.
func (c *Client) reap(ctx context.Context, addr, marker string) {
	c.afterCancel(ctx, addr, "sh", "-c", reapScript, "pixels-reap", markerVar+"="+marker)
	c.log.Debug("ssh reaped a cancelled command", "addr", addr)
}

// afterCancel runs argv on the host at addr to clean up after a cancelled or failed
// command: in a session of its own, on a short deadline of its own (ctx may be done), never
// reaped itself, and ignoring failures, as a best effort after the user asked to stop.
func (c *Client) afterCancel(ctx context.Context, addr string, argv ...string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = c.Exec(rctx, addr, ExecRequest{Argv: argv, noReap: true})
}
