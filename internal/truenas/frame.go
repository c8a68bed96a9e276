package truenas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// request is one JSON-RPC 2.0 call as sent. Params are always positional.
type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      string `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

// frame is any message the server sends: a reply (ID set) or a notification (Method set).
type frame struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

// rpcError is the JSON-RPC error member; Data holds the TrueNAS error object when present.
type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// errorData is the TrueNAS error object carried in rpcError.Data.
type errorData struct {
	Error   int             `json:"error"`
	Errname string          `json:"errname"`
	Reason  string          `json:"reason"`
	Extra   json.RawMessage `json:"extra"`
}

// JSON-RPC error codes the client branches on.
const (
	codeTooManyCalls  = -32000
	codeCallError     = -32001
	codeInvalidParams = -32602
	codeNoMethod      = -32601
)

// decodeFrame parses one text frame. A frame that is neither a reply nor a notification is
// an error, so the reader can log and drop it.
func decodeFrame(b []byte) (frame, error) {
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, fmt.Errorf("decoding frame: %w", err)
	}
	if f.Method == "" && frameID(f.ID) == "" {
		return frame{}, errors.New("decoding frame: neither a reply nor a notification")
	}
	return f, nil
}

// frameID turns a reply id (string, number or null) into the string key used for pending
// calls; "" means no id.
func frameID(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// errnoNames maps the errnos pixels meets to their names, for errors whose name is missing.
var errnoNames = map[int]string{
	1: "EPERM", 2: "ENOENT", 13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST",
	20: "ENOTDIR", 22: "EINVAL", 39: "ENOTEMPTY", 95: "EOPNOTSUPP", 110: "ETIMEDOUT",
	201: "ENOMETHOD", 207: "ENOTAUTHENTICATED",
}

// reasonPrefix matches the "[ENAME] " that TrueNAS puts before a CallError's message.
var reasonPrefix = regexp.MustCompile(`^\s*\[([A-Z][A-Z0-9_]*)\]\s*`)

// newCallError turns a JSON-RPC error reply to method into an *Error with its sentinel.
func newCallError(method string, re *rpcError) *Error {
	e := &Error{Method: method, Code: re.Code, Reason: re.Message}

	var d errorData
	if len(re.Data) > 0 && json.Unmarshal(re.Data, &d) == nil {
		e.Errno, e.Errname = d.Error, d.Errname
		if d.Reason != "" {
			e.Reason = strings.TrimSpace(d.Reason)
		}
		if re.Code == codeInvalidParams {
			// Validation errors carry errno 22 at the top; the real one is in extra.
			if errno, ok := extraErrno(d.Extra); ok {
				e.Errno, e.Errname = errno, errnoNames[errno]
			}
		}
	}
	if m := reasonPrefix.FindStringSubmatch(e.Reason); m != nil && e.Errname == "" {
		e.Errname = m[1]
	}
	if e.Errname == "" {
		e.Errname = errnoNames[e.Errno]
	}
	e.Kind = classify(e.Code, e.Errname, e.Reason, re.Code == codeInvalidParams)
	return e
}

// extraErrno picks the errno of a validation error's extra triples
// [attribute, message, errno]: the first that is not a plain EINVAL, else the first.
func extraErrno(raw json.RawMessage) (int, bool) {
	var triples [][]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &triples) != nil {
		return 0, false
	}
	first, found := 0, false
	for _, t := range triples {
		if len(t) < 3 {
			continue
		}
		var n int
		if json.Unmarshal(t[2], &n) != nil {
			continue
		}
		if n != 22 {
			return n, true
		}
		if !found {
			first, found = n, true
		}
	}
	return first, found
}

// classify maps what the server said to at most one sentinel. The errno name wins over the
// text, and the text over the code, because TrueNAS reuses codes for unrelated failures.
func classify(code int, errname, reason string, validation bool) error {
	lower := strings.ToLower(reason)
	switch {
	case code == codeNoMethod:
		return ErrUnsupported
	case errname == "ENOTAUTHENTICATED":
		return ErrAuth
	case errname == "ENOENT":
		return ErrNotFound
	case errname == "EEXIST":
		return ErrExists
	case errname == "EBUSY", code == codeTooManyCalls:
		return ErrBusy
	case strings.Contains(lower, "does not exist"), strings.Contains(lower, "not found"):
		return ErrNotFound
	case strings.Contains(lower, "already exists"):
		return ErrExists
	case strings.Contains(lower, "busy"):
		return ErrBusy
	case validation, errname == "EINVAL":
		return ErrInvalid
	}
	return nil
}

// looseText decodes a field that should be a string but might come as any JSON value, so
// one odd field does not make a whole job entry unreadable; null is "".
type looseText string

// UnmarshalJSON keeps strings as they are and other values as their JSON text.
func (t *looseText) UnmarshalJSON(b []byte) error {
	var s string
	switch {
	case json.Unmarshal(b, &s) == nil:
		*t = looseText(s)
	case string(bytes.TrimSpace(b)) == "null":
		*t = ""
	default:
		*t = looseText(bytes.TrimSpace(b))
	}
	return nil
}

// wireTime decodes TrueNAS dates: {"$date": epoch-ms}, a bare number of seconds, or null.
type wireTime struct{ time.Time }

// UnmarshalJSON accepts the shapes TrueNAS uses for times.
func (t *wireTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '{' {
		var d struct {
			Date *float64 `json:"$date"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			return fmt.Errorf("decoding date: %w", err)
		}
		if d.Date != nil {
			t.Time = time.UnixMilli(int64(*d.Date)).UTC()
		}
		return nil
	}
	secs, err := flexInt(b)
	if err != nil {
		return fmt.Errorf("decoding date: %w", err)
	}
	t.Time = time.Unix(secs, 0).UTC()
	return nil
}

// flexInt reads an integer sent as a JSON number or a numeric string; ZFS properties come
// either way.
func flexInt(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errors.New("no value")
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return int64(f), nil
}
