package sim

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a polling reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.String()
}

// shellResult is what Box.interactive returned.
type shellResult struct {
	status int
	signal string
	err    error
}

// shellSession drives Box.interactive through a pipe, as an SSH session would.
type shellSession struct {
	t      *testing.T
	in     *io.PipeWriter
	out    *syncBuffer
	seen   int // how much of out expect has consumed
	cancel context.CancelFunc
	done   chan shellResult
}

// startShell runs an interactive shell on a fresh box.
func startShell(t *testing.T, tty bool) *shellSession {
	t.Helper()
	b := newTestBox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	inR, inW := io.Pipe()
	s := &shellSession{t: t, in: inW, out: &syncBuffer{}, cancel: cancel,
		done: make(chan shellResult, 1)}
	go func() {
		status, sig, err := b.interactive(ctx, inR, s.out, nil, tty)
		s.done <- shellResult{status, sig, err}
	}()
	t.Cleanup(func() {
		cancel()
		inR.CloseWithError(io.ErrClosedPipe) // unblocks a type after the shell ended
	})

	return s
}

// typeIn sends keystrokes.
func (s *shellSession) typeIn(keys string) {
	s.t.Helper()
	if _, err := io.WriteString(s.in, keys); err != nil {
		s.t.Fatalf("typing %q: %v", keys, err)
	}
}

// expect waits until the output after what earlier calls matched contains want.
func (s *shellSession) expect(want string) {
	s.t.Helper()
	var got string
	deadline := time.Now().Add(10 * time.Second)
	for {
		got = s.out.String()[s.seen:]
		if i := strings.Index(got, want); i >= 0 {
			s.seen += i + len(want)
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("shell output %q lacks %q", got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// wait returns how the shell ended.
// play waits for the first prompt, then types each even step and expects the odd one after
// it, and checks that the shell ends with status and no signal.
func (s *shellSession) play(t *testing.T, steps []string, status int) {
	t.Helper()
	s.expect(testPrompt)
	for i := 0; i+1 < len(steps); i += 2 {
		s.typeIn(steps[i])
		s.expect(steps[i+1])
	}
	res := s.wait()
	if res.err != nil || res.status != status || res.signal != "" {
		t.Errorf("shell ended with %d %q %v, want status %d; output %q",
			res.status, res.signal, res.err, status, s.out.String())
	}
}

func (s *shellSession) wait() shellResult {
	s.t.Helper()
	select {
	case res := <-s.done:
		return res
	case <-time.After(10 * time.Second):
		s.t.Fatalf("shell did not end; output %q", s.out.String())
		return shellResult{}
	}
}

const testPrompt = "root@testbox:~# "

func TestInteractiveTerminal(t *testing.T) {
	tests := []struct {
		name string
		// steps alternate: keys to type, then output to expect (in order)
		steps  []string
		status int
	}{
		{name: "read gets a typed line",
			steps: []string{"read x; echo got:$x\r", "read x; echo got:$x\r\n",
				"hello\r", "hello\r\ngot:hello\r\n" + testPrompt,
				"exit\r", ""}},
		{name: "typed ahead reaches read",
			steps: []string{"read x; echo got:$x\rhi there\recho $?\r",
				// a terminal echoes input typed ahead when typed, the shell again at its prompt
				"got:hi there\r\n" + testPrompt + "echo $?\r\n0\r\n" + testPrompt,
				"\x04", ""}},
		{name: "typed ahead survives a statement that does not read",
			steps: []string{"true; read x; echo got:$x\rlate\r", "got:late\r\n" + testPrompt,
				"\x04", ""}},
		{name: "cat until ctrl-d",
			steps: []string{"cat\r", "cat\r\n",
				"one\r", "one\r\none\r\n",
				"tw\x7fwo\r", "tw\b \bwo\r\ntwo\r\n",
				"\x04", testPrompt,
				"echo $?\r", "0\r\n" + testPrompt,
				"exit 4\r", ""},
			status: 4},
		{name: "ctrl-d mid-line sends the partial line",
			steps: []string{"cat; echo\r", "cat; echo\r\n",
				"ab\x04", "abab",
				"\x04", "\r\n" + testPrompt,
				"exit\r", ""}},
		{name: "each statement gets its own stdin",
			steps: []string{"cat; cat\r", "",
				"a\r\x04", "a\r\na\r\n",
				"b\r\x04", "b\r\nb\r\n" + testPrompt,
				"exit\r", ""}},
		{name: "ctrl-c interrupts sleep",
			steps: []string{"sleep 100; echo never\r", "sleep 100; echo never\r\n",
				"\x03", "^C\r\n" + testPrompt,
				"echo $? ok\r", "130 ok\r\n" + testPrompt,
				"\x04", ""},
			status: 0},
		{name: "ctrl-c interrupts read and drops its line",
			steps: []string{"read x\r", "read x\r\n",
				"half\x03", "half^C\r\n" + testPrompt,
				"echo [$x]\r", "[]\r\n" + testPrompt,
				"\x04", ""}},
		{name: "ctrl-c then eof keeps the status",
			steps:  []string{"cat\r\x03", "^C\r\n" + testPrompt, "\x04", ""},
			status: 130},
		{name: "a background job outlives its statement",
			steps: []string{"sleep 0.05 && echo bg &\r", "&\r\n" + testPrompt,
				"wait; echo waited\r", "bg\r\nwaited\r\n" + testPrompt,
				"\x04", ""}},
		{name: "second ctrl-d after eof reaches the shell",
			steps: []string{"cat && true\r", "", "\x04\x04", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startShell(t, true)
			s.play(t, tt.steps, tt.status)
		})
	}
}

func TestInteractiveNoTerminal(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		output string
		status int
	}{
		{name: "cat gets the rest", input: "echo a\ncat\nb\nexit 3\n",
			output: testPrompt + "a\n" + testPrompt + "b\nexit 3\n" + testPrompt},
		{name: "read then the shell goes on", input: "read x\nhello\necho got:$x\nexit 3\n",
			output: testPrompt + testPrompt + "got:hello\n" + testPrompt, status: 3},
		{name: "ctrl-c is data", input: "cat\n\x03x\r\n",
			output: testPrompt + "\x03x\r\n" + testPrompt},
		{name: "more than a pipe holds survives a statement that does not read",
			input:  "true\nx=" + strings.Repeat("a", 200000) + "\necho ${#x}\n",
			output: testPrompt + testPrompt + testPrompt + "200000\n" + testPrompt},
		{name: "leftover commands run after a reader",
			input:  "read x y\none two\necho $y $x\n",
			output: testPrompt + testPrompt + "two one\n" + testPrompt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startShell(t, false)
			s.typeIn(tt.input)
			s.in.Close()
			res := s.wait()
			if res.err != nil || res.status != tt.status || res.signal != "" {
				t.Errorf("shell ended with %d %q %v, want status %d",
					res.status, res.signal, res.err, tt.status)
			}
			if got := s.out.String(); got != tt.output {
				t.Errorf("output = %q, want %q", got, tt.output)
			}
		})
	}
}

func TestInteractiveEndsCleanly(t *testing.T) {
	tests := []struct {
		name string
		end  func(s *shellSession)
	}{
		{name: "input closed", end: func(s *shellSession) { s.in.Close() }},
		{name: "context cancelled", end: func(s *shellSession) { s.cancel() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			s := startShell(t, true)
			s.typeIn("cat\r")
			s.expect("cat\r\n")
			tt.end(s)
			s.wait()
			s.in.Close() // as the SSH server closes the channel after the shell
			waitFor(t, "goroutines to end", func() bool {
				return runtime.NumGoroutine() <= before
			})
		})
	}
}
