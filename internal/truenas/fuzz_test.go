package truenas

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
)

// FuzzDecodeFrame feeds arbitrary server frames through the decoder, the error mapping and
// the job decoding. None may panic, and every error maps to at most one sentinel.
func FuzzDecodeFrame(f *testing.F) {
	seeds := []string{
		`{"jsonrpc":"2.0","id":"px-1","result":{"response_type":"SUCCESS"}}`,
		`{"jsonrpc":"2.0","id":7,"result":412}`,
		`{"jsonrpc":"2.0","id":"px-2","error":{"code":-32602,"message":"Invalid params",` +
			`"data":{"error":22,"errname":"EINVAL","reason":"[ENOENT] None: VirtInstance px-x ` +
			`does not exist","trace":null,"extra":[[null,"VirtInstance px-x does not exist",2]]}}}`,
		`{"jsonrpc":"2.0","id":"px-3","error":{"code":-32001,"message":"Method call error",` +
			`"data":{"error":17,"errname":"EEXIST","reason":"[EEXIST] exists","extra":null}}}`,
		`{"jsonrpc":"2.0","id":"px-4","error":{"code":-32601,"message":"Method does not exist"}}`,
		`{"jsonrpc":"2.0","id":"px-5","error":{"code":-32602,` +
			`"data":{"extra":[[1],["a","b","c"]]}}}`,
		`{"jsonrpc":"2.0","method":"collection_update","params":{"msg":"changed",` +
			`"collection":"core.get_jobs","id":412,"fields":{"id":412,"state":"FAILED",` +
			`"error":"[EFAULT] boom","exc_info":{"type":"VALIDATION","errno":2,"extra":null},` +
			`"time_started":{"$date":1754000000000}}}}`,
		`{"id":null}`,
		`[]`,
		`{"id":"x","result":{"$date":"not a number"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := decodeFrame(b)
		if err != nil {
			return
		}
		c := &Conn{jobs: newJobTracker(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		s := &session{c: c, pending: map[string]*pendingCall{}}
		s.dispatch(fr) // the reader's routing of replies and job events
		if c.jobs.buffered() > maxBufferedJobs {
			t.Fatalf("buffered %d job events", c.jobs.buffered())
		}
		if fr.Error != nil {
			checkOneSentinel(t, newCallError("fuzz.method", fr.Error))
		}

		var ev struct {
			Fields json.RawMessage `json:"fields"`
		}
		_ = json.Unmarshal(fr.Params, &ev)
		var j jobEntry
		if json.Unmarshal(ev.Fields, &j) == nil && j.State == jobFailed {
			checkOneSentinel(t, jobError("fuzz.job", j))
		}

		var when wireTime
		_ = json.Unmarshal(fr.Result, &when)
		var w wireSnapshot
		if json.Unmarshal(fr.Result, &w) == nil {
			_ = w.snapshot()
		}
	})
}

var sentinels = []error{ErrNotFound, ErrExists, ErrBusy, ErrTimeout, ErrUnreachable, ErrAuth,
	ErrUnsupported, ErrNewerSnapshots, ErrInvalid}

func checkOneSentinel(t *testing.T, e *Error) {
	t.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(e, s) {
			n++
		}
	}
	if n > 1 {
		t.Fatalf("error %q maps to %d sentinels", e, n)
	}
	if e.Error() == "" {
		t.Fatal("empty error text")
	}
}
