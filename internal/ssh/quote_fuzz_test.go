package ssh

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzQuote checks that a POSIX shell parser splits Quote(argv) back into exactly argv.
// Arguments are NUL-separated in the fuzz input (a shell word cannot hold NUL itself).
func FuzzQuote(f *testing.F) {
	for _, seed := range []string{
		"%s|\x00a b\x00c'd\x00",
		"sh\x00-c\x00echo one; echo two",
		"$\x00*\x00~\x00a=b\x00--\x00#x",
		"line\nbreak\x00tab\there\x00'\"\\`$(x)",
		"{a,b}\x00!\x00&&\x00|\x00<>",
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) {
			t.Skip()
		}
		argv := strings.Split(in, "\x00")

		var out, errOut bytes.Buffer
		script := "argv " + Quote(argv)
		err := runScript(context.Background(), script, nil, nil, strings.NewReader(""), &out,
			&errOut)
		if err != nil {
			t.Fatalf("shell rejected %q: %v %s", script, err, errOut.String())
		}

		var got []string
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("decoding %q: %v", out.String(), err)
		}
		if len(got) != len(argv) || strings.Join(got, "\x00") != in {
			t.Errorf("Quote(%q) = %s, shell split it into %q", argv, Quote(argv), got)
		}
	})
}
