package truenas

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Some ZFS work has no API on TrueNAS: copying a checkpoint into another container's dataset
// (every version), and any snapshot change on a 26 RC.1 container dataset. The one route
// every supported version offers is a root cron job: create it disabled, run it once (a job
// whose output lands in logs_excerpt), delete it. The schedule never fires because the entry
// is disabled; the description says what it is, so a leftover one can be recognised.

// rootJobPrefix starts the description of every cron entry pixels creates.
const rootJobPrefix = "pixels (temporary, safe to delete): "

// warnPrefix marks a line of a root script's output that the user should see even when
// the script succeeded.
const warnPrefix = "pixels-warning: "

// rootJobCleanup bounds the cron entry's deletion, which runs even after a cancel.
const rootJobCleanup = 30 * time.Second

// runAsRoot runs script with sh as root on the NAS and returns its output (stdout and
// stderr, as much as TrueNAS keeps in the job's logs_excerpt). The job is followed to its
// end even when ctx is cancelled, so that the script's own cleanup has run before the
// caller cleans up around it (and a job that succeeded is reported as such); ctx's deadline
// still bounds the wait. A script that exits
// non-zero is an *Error whose Reason quotes the script's output, not the script.
func runAsRoot(ctx context.Context, c *Conn, what, script string, progress Progress) (string,
	error) {
	if strings.ContainsAny(script, "\n%") {
		// A newline or % would be mangled in the crontab TrueNAS writes.
		return "", fmt.Errorf("%w: root script for %s must be one line without %%", ErrInvalid,
			what)
	}
	entry := map[string]any{
		"user": "root", "command": script, "description": rootJobPrefix + what,
		"enabled": false, "stdout": false, "stderr": false,
		"schedule": map[string]any{"minute": "00", "hour": "00", "dom": "1", "month": "1",
			"dow": "1"},
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if err := c.Call(ctx, "cronjob.create", []any{entry}, &created); err != nil {
		return "", fmt.Errorf("creating a root cron job to %s: %w", what, rootJobHint(err))
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rootJobCleanup)
		defer cancel()
		if err := c.Call(dctx, "cronjob.delete", []any{created.ID}, nil); err != nil &&
			!errors.Is(err, ErrNotFound) {
			c.warn(fmt.Sprintf("could not delete the temporary cron job %d on the NAS (%v); "+
				"it is disabled, remove it under System > Advanced > Cron Jobs", created.ID,
				err))
		}
	}()

	// Follow the job past a cancel (the script then cleans up after itself) but not past
	// the caller's deadline.
	jctx := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		jctx, cancel = context.WithDeadline(jctx, dl)
		defer cancel()
	}
	j, err := c.callJob(jctx, "cronjob.run", []any{created.ID, false}, nil, progress)
	out := cronOutput(string(j.LogsExcerpt), script)
	for _, line := range strings.Split(out, "\n") {
		if w, ok := strings.CutPrefix(strings.TrimSpace(line), warnPrefix); ok {
			c.warn(w)
		}
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.JobID != 0 {
			// The job's error text repeats the whole script; the output says what failed.
			reason := strings.TrimSpace(out)
			if reason == "" {
				reason = "no output"
			}
			return out, &Error{Method: e.Method, JobID: e.JobID, Errno: e.Errno,
				Errname: e.Errname, Reason: fmt.Sprintf("root job to %s failed: %s", what,
					reason), Kind: rootOutputKind(out)}
		}
		return out, fmt.Errorf("running a root cron job to %s: %w", what, err)
	}
	// Done, even if the caller was cancelled meanwhile: the work happened, and the caller's
	// next step sees the cancel.
	return out, nil
}

// cronMarker starts the line TrueNAS's cron log adds before repeating a task's output.
const cronMarker = "Executed CronTask - "

// cronOutput recovers a script's output from a cron job's logs_excerpt, where TrueNAS logs
// it twice (as printed, then after "Executed CronTask - <command line>: ") and keeps the
// first and last ten lines: the marker and command line are cut out and repeated lines kept
// once.
func cronOutput(excerpt, script string) string {
	var b strings.Builder
	for {
		i := strings.Index(excerpt, cronMarker)
		if i < 0 {
			b.WriteString(excerpt)
			break
		}
		b.WriteString(excerpt[:i])
		b.WriteString("\n")
		rest := excerpt[i+len(cronMarker):]
		if k := strings.Index(rest, script); k >= 0 {
			rest = rest[k+len(script):]
			// Redirections TrueNAS appended, up to the ": " before the output.
			if e := strings.Index(rest, ": "); e >= 0 && !strings.Contains(rest[:e], "\n") {
				rest = rest[e+2:]
			}
		} else if e := strings.Index(rest, "\n"); e >= 0 {
			rest = rest[e+1:]
		} else {
			rest = ""
		}
		excerpt = rest
	}
	seen := map[string]bool{}
	var lines []string
	for _, l := range strings.Split(b.String(), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" || seen[l] {
			continue
		}
		seen[l] = true
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

// rootJobHint explains a refused cronjob.create: the API key's user needs the cron role.
func rootJobHint(err error) error {
	var e *Error
	if errors.As(err, &e) && (e.Errname == "EACCES" || e.Errname == "EPERM" ||
		errors.Is(err, ErrAuth)) {
		return fmt.Errorf("%w (the API key's user needs SYSTEM_CRON_WRITE, e.g. a full "+
			"admin key)", err)
	}
	return err
}

// rootOutputKind maps the ZFS messages a failed script printed to a sentinel.
func rootOutputKind(out string) error {
	low := strings.ToLower(out)
	switch {
	case strings.Contains(low, "more recent snapshots"):
		return ErrNewerSnapshots
	case strings.Contains(low, "dataset does not exist"), strings.Contains(low, "could not find"):
		return ErrNotFound
	case strings.Contains(low, "dataset already exists"), strings.Contains(low, "exists"):
		return ErrExists
	case strings.Contains(low, "busy"):
		return ErrBusy
	}
	return nil
}

// shQuote quotes s for sh as one word.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
