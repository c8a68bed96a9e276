package truenas

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on with errors.Is. The client wraps every failure so that
// at most one of these is reachable from it.
var (
	ErrNotFound       = errors.New("not found")
	ErrExists         = errors.New("already exists")
	ErrBusy           = errors.New("busy")
	ErrTimeout        = errors.New("timed out")
	ErrUnreachable    = errors.New("TrueNAS unreachable")
	ErrAuth           = errors.New("login rejected")
	ErrUnsupported    = errors.New("not supported by this TrueNAS version")
	ErrNewerSnapshots = errors.New("newer checkpoints exist")
	ErrInvalid        = errors.New("invalid request")
)

// Error is an error reply from TrueNAS, either a JSON-RPC error or a FAILED job. It keeps
// what the server said so messages can quote it, and unwraps to the matching sentinel.
type Error struct {
	Method  string // the method called, e.g. "virt.instance.delete"
	Code    int    // JSON-RPC error code; 0 for a failed job
	Errno   int    // TrueNAS errno (data.error, or the real one from extra)
	Errname string // e.g. "ENOENT"
	Reason  string // the server's text, e.g. "[ENOENT] None: VirtInstance px-x does not exist"
	JobID   int64  // the job, for a failed job
	Kind    error  // the sentinel this maps to, or nil
}

func (e *Error) Error() string {
	msg := e.Reason
	if msg == "" {
		msg = fmt.Sprintf("error %d", e.Code)
	}
	return msg
}

// Unwrap exposes the sentinel so errors.Is(err, ErrNotFound) works.
func (e *Error) Unwrap() error { return e.Kind }
