package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
)

// request is one JSON-RPC 2.0 call as a client sends it. Params stay raw so the envelope
// check can tell an array from anything else.
type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// response is a reply to a request: exactly one of Result and Error is set.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// resultResponse is a success reply; it keeps a null result on the wire, which omitempty
// in response would drop.
type resultResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result"`
}

// notification is a server-initiated message without an id.
type notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

// rpcError is the JSON-RPC error member.
type rpcError struct {
	Code    int        `json:"code"`
	Message string     `json:"message"`
	Data    *errorData `json:"data,omitempty"`
}

// errorData is the TrueNAS error object carried in rpcError.Data.
type errorData struct {
	Error   int    `json:"error"`
	Errname string `json:"errname"`
	Reason  string `json:"reason"`
	Trace   any    `json:"trace"`
	Extra   any    `json:"extra"`
}

// Error makes rpcError usable as a Go error inside handlers.
func (e *rpcError) Error() string {
	if e.Data != nil {
		return e.Data.Reason
	}
	return e.Message
}

// JSON-RPC error codes TrueNAS uses.
const (
	codeInvalidRequest = -32600
	codeNoMethod       = -32601
	codeInvalidParams  = -32602
	codeCallError      = -32001
	codeTooMany        = -32000
)

// Errnos of TrueNAS beyond POSIX.
const (
	errnoNotAuthenticated = 207
)

// errname names an errno the way TrueNAS does.
func errname(errno int) string {
	switch errno {
	case errnoNotAuthenticated:
		return "ENOTAUTHENTICATED"
	case int(syscall.ENOENT):
		return "ENOENT"
	case int(syscall.EINVAL):
		return "EINVAL"
	case int(syscall.EEXIST):
		return "EEXIST"
	case int(syscall.EFAULT):
		return "EFAULT"
	case int(syscall.EBUSY):
		return "EBUSY"
	case int(syscall.EACCES):
		return "EACCES"
	case int(syscall.EPERM):
		return "EPERM"
	case int(syscall.ENOTDIR):
		return "ENOTDIR"
	case int(syscall.ENOTEMPTY):
		return "ENOTEMPTY"
	}
	return "EUNKNOWN"
}

// fieldError is one validation failure: attribute (empty prints as None), message, errno.
type fieldError struct {
	attr  string
	msg   string
	errno int
}

// reasonLine renders a validation failure as TrueNAS's str(ValidationError) does.
func (f fieldError) reasonLine() string {
	attr := f.attr
	if attr == "" {
		attr = "None"
	}
	return fmt.Sprintf("[%s] %s: %s", errname(f.errno), attr, f.msg)
}

// triple renders the failure as an entry of the "extra" list.
func (f fieldError) triple() []any {
	var attr any
	if f.attr != "" {
		attr = f.attr
	}
	return []any{attr, f.msg, f.errno}
}

// invalidParams is the synchronous -32602 answer for validation failures.
func invalidParams(errs ...fieldError) *rpcError {
	var reason strings.Builder
	extra := make([]any, 0, len(errs))
	for _, f := range errs {
		line := f.reasonLine()
		if len(errs) > 1 {
			line += "\n"
		}
		reason.WriteString(line)
		extra = append(extra, f.triple())
	}
	return &rpcError{Code: codeInvalidParams, Message: "Invalid params", Data: &errorData{
		Error: int(syscall.EINVAL), Errname: "EINVAL", Reason: reason.String(), Extra: extra,
	}}
}

// callError is the -32001 answer for a CallError with the given errno.
func callError(errno int, format string, args ...any) *rpcError {
	msg := fmt.Sprintf(format, args...)
	return &rpcError{Code: codeCallError, Message: "Method call error", Data: &errorData{
		Error: errno, Errname: errname(errno), Reason: fmt.Sprintf("[%s] %s", errname(errno), msg),
	}}
}

// plainError is the -32001 answer for an exception that is not a CallError (errno 22, the
// reason being the bare message), e.g. MatchNotFound().
func plainError(reason string) *rpcError {
	return &rpcError{Code: codeCallError, Message: "Method call error", Data: &errorData{
		Error: int(syscall.EINVAL), Errname: "EINVAL", Reason: reason,
	}}
}

// bareError is an envelope-level error without TrueNAS data.
func bareError(code int, msg string) *rpcError {
	return &rpcError{Code: code, Message: msg}
}

// notAuthenticated answers calls made before a successful login.
func notAuthenticated() *rpcError {
	return callError(errnoNotAuthenticated, "Not authenticated")
}

// decodeParams splits raw params into positional arguments; a missing params member is [].
func decodeParams(raw json.RawMessage) ([]json.RawMessage, *rpcError) {
	trimmed := strings.TrimSpace(string(raw))
	if trimmed == "" || trimmed == "null" {
		return nil, nil
	}
	if !strings.HasPrefix(trimmed, "[") {
		return nil, bareError(codeInvalidRequest, "'params' member must be of type array")
	}
	var args []json.RawMessage
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, bareError(codeInvalidRequest, "'params' member must be of type array")
	}
	return args, nil
}

// tooManyArgs is the validation error for extra positional arguments.
func tooManyArgs(args []json.RawMessage, max int) *rpcError {
	if len(args) <= max {
		return nil
	}
	msg := fmt.Sprintf("Too many arguments (expected %d, found %d)", max, len(args))
	return invalidParams(fieldError{msg: msg, errno: int(syscall.EINVAL)})
}

// arg decodes positional argument i into v, leaving v untouched when it is absent or null.
func arg(args []json.RawMessage, i int, attr string, v any) *rpcError {
	if i >= len(args) || string(args[i]) == "null" {
		return nil
	}
	if err := json.Unmarshal(args[i], v); err != nil {
		return invalidParams(fieldError{attr: attr, msg: "Input has the wrong type: " + err.Error(),
			errno: int(syscall.EINVAL)})
	}
	return nil
}

// Errnos used often enough to name.
const (
	errnoENOENT = int(syscall.ENOENT)
	errnoEINVAL = int(syscall.EINVAL)
	errnoEEXIST = int(syscall.EEXIST)
	errnoEFAULT = int(syscall.EFAULT)
	errnoEBUSY  = int(syscall.EBUSY)
)
