package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// mode encodes one terminal mode as a pty request carries it: the opcode, then a uint32.
func mode(op byte, v uint32) string {
	return string(binary.BigEndian.AppendUint32([]byte{op}, v))
}

func TestParseModes(t *testing.T) {
	tests := []struct {
		name    string
		enc     string
		change  func(m *termModes) // applied to defaultModes for the wanted result
		wantErr bool
	}{
		{name: "none sent", enc: ""},
		{name: "only the end", enc: "\x00"},
		{name: "echo off", enc: mode(ssh.ECHO, 0) + "\x00",
			change: func(m *termModes) { m.echo = false }},
		{name: "raw",
			enc: mode(ssh.ICANON, 0) + mode(ssh.ISIG, 0) + mode(ssh.ICRNL, 0) +
				mode(ssh.OPOST, 0),
			change: func(m *termModes) {
				m.icanon, m.isig, m.icrnl, m.opost = false, false, false, false
			}},
		{name: "igncr and onlcr", enc: mode(ssh.IGNCR, 1) + mode(ssh.ONLCR, 0),
			change: func(m *termModes) { m.igncr, m.onlcr = true, false }},
		{name: "control characters",
			enc:    mode(ssh.VINTR, 7) + mode(ssh.VEOF, 1) + mode(ssh.VKILL, 0x18),
			change: func(m *termModes) { m.intr, m.eof, m.kill = 7, 1, 0x18 }},
		{name: "erase named: backspace no longer erases too", enc: mode(ssh.VERASE, 0x7f),
			change: func(m *termModes) { m.altErase = noChar }},
		{name: "erase is backspace", enc: mode(ssh.VERASE, 0x08),
			change: func(m *termModes) { m.erase, m.altErase = 0x08, noChar }},
		{name: "255, 0 and more than a byte disable a character",
			enc:    mode(ssh.VINTR, 255) + mode(ssh.VEOF, 0) + mode(ssh.VKILL, 0x115),
			change: func(m *termModes) { m.intr, m.eof, m.kill = noChar, noChar, noChar }},
		{name: "any non-zero value sets a flag", enc: mode(ssh.IGNCR, 7),
			change: func(m *termModes) { m.igncr = true }},
		{name: "speeds and unknown modes are skipped",
			enc: mode(ssh.TTY_OP_ISPEED, 38400) + mode(99, 1) + mode(ssh.ECHOCTL, 0) +
				mode(ssh.ECHO, 0),
			change: func(m *termModes) { m.echo = false }},
		{name: "nothing after the end counts",
			enc:    mode(ssh.ECHO, 0) + "\x00" + mode(ssh.ISIG, 0),
			change: func(m *termModes) { m.echo = false }},
		{name: "an opcode from 160 on stops parsing",
			enc:    mode(ssh.ISIG, 0) + "\xa0\x01" + mode(ssh.ECHO, 0),
			change: func(m *termModes) { m.isig = false }},
		{name: "a value cut short", enc: mode(ssh.ECHO, 0) + "\x33\x00\x00", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := defaultModes()
			if tt.change != nil {
				tt.change(&want)
			}

			got, err := parseModes(tt.enc)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseModes(%q) error = %v, want error %v", tt.enc, err, tt.wantErr)
			}
			if !tt.wantErr && got != want {
				t.Errorf("parseModes(%q) = %+v, want %+v", tt.enc, got, want)
			}
		})
	}
}

// startShellTerm runs an interactive shell on a fresh box, on a terminal with modes m.
func startShellTerm(t *testing.T, m termModes) *shellSession {
	t.Helper()
	b := newTestBox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	inR, inW := io.Pipe()
	s := &shellSession{t: t, in: inW, out: &syncBuffer{}, cancel: cancel,
		done: make(chan shellResult, 1)}
	go func() {
		status, sig, err := b.interactiveTerm(ctx, inR, s.out, nil, &m)
		s.done <- shellResult{status, sig, err}
	}()
	t.Cleanup(func() {
		cancel()
		inR.CloseWithError(io.ErrClosedPipe)
	})

	return s
}

func TestInteractiveModes(t *testing.T) {
	const countLine = "read -r x; echo ${#x}\r"
	const countEcho = "read -r x; echo ${#x}\r\n"
	tests := []struct {
		name   string
		change func(m *termModes)
		// steps alternate: keys to type, then output to expect (in order)
		steps  []string
		output string // all the output, when set
		status int
	}{
		{name: "echo off shows no typed input",
			change: func(m *termModes) { m.echo = false },
			steps: []string{"read x; echo got:$x\r", "",
				"secret\r", "got:secret\r\n" + testPrompt,
				"sleep 100\r", "",
				"\x03", "\r\n" + testPrompt, // no ^C, but the shell starts a new line
				"exit 0\r", ""},
			output: testPrompt + "got:secret\r\n" + testPrompt + "\r\n" + testPrompt},
		{name: "raw mode passes each byte at once",
			change: func(m *termModes) { m.icanon, m.echo = false, false },
			steps: []string{"cat\r", "",
				"ab", "ab",
				"\x7f\x15\x04", "\x7f\x15\x04", // erase, kill and EOF are data
				"\x03", "\r\n" + testPrompt,
				"exit 0\r", ""},
			output: testPrompt + "ab\x7f\x15\x04\r\n" + testPrompt},
		{name: "raw mode echoes and maps CR",
			change: func(m *termModes) { m.icanon = false },
			steps: []string{countLine, countEcho,
				"a\x7fb\r", "a\x7fb\r\n3\r\n" + testPrompt,
				"sleep 100\r", "sleep 100\r\n",
				"\x03", "^C\r\n" + testPrompt,
				"exit 0\r", ""}},
		{name: "raw mode hands typed-ahead bytes on as they are",
			change: func(m *termModes) { m.icanon, m.echo = false, false },
			steps: []string{"true; " + countLine + "abc\r", "3\r\n" + testPrompt,
				"exit 0\r", ""}},
		{name: "isig off makes the interrupt character data",
			change: func(m *termModes) { m.isig = false },
			steps: []string{countLine, countEcho,
				"a\x03b\r", "a\x03b\r\n3\r\n" + testPrompt,
				"exit\r", ""}},
		{name: "another interrupt character",
			change: func(m *termModes) { m.intr = 0x07 },
			steps: []string{"echo no\x07", "echo no^G\r\n" + testPrompt,
				"sleep 100\r", "sleep 100\r\n",
				"\x07", "^G\r\n" + testPrompt,
				"echo $?\r", "130\r\n" + testPrompt,
				countLine, countEcho,
				"a\x03\r", "2\r\n" + testPrompt,
				"exit\r", ""}},
		{name: "backspace as the only erase character",
			change: func(m *termModes) { m.erase, m.altErase = 0x08, noChar },
			steps: []string{countLine, countEcho,
				"ab\x7f\x08c\r", "ab\x7f\b \bc\r\n3\r\n" + testPrompt,
				"exit\r", ""}},
		{name: "kill clears the line",
			steps: []string{"echo no\x15echo yes\r", "\b \becho yes\r\nyes\r\n" + testPrompt,
				"read -r x; echo [$x]\r", "read -r x; echo [$x]\r\n",
				"junk\x15ok\r", "junk\b \b\b \b\b \b\b \bok\r\n[ok]\r\n" + testPrompt,
				"exit\r", ""}},
		{name: "another kill character",
			change: func(m *termModes) { m.kill = 0x18 },
			steps: []string{"echo no\x18echo yes\r", "\b \becho yes\r\nyes\r\n" + testPrompt,
				countLine, countEcho,
				"a\x15b\x18cd\r", "2\r\n" + testPrompt,
				"exit\r", ""}},
		{name: "another EOF character",
			change: func(m *termModes) { m.eof = 0x01 },
			steps: []string{"cat\r", "cat\r\n",
				"x\x04\r", "x\x04\r\nx\x04\r\n",
				"\x01", testPrompt,
				"\x01", ""}},
		{name: "onlcr off",
			change: func(m *termModes) { m.onlcr = false },
			steps:  []string{"echo hi\r", "echo hi\nhi\n" + testPrompt, "exit\r", ""},
			output: testPrompt + "echo hi\nhi\n" + testPrompt + "exit\n"},
		{name: "opost off",
			change: func(m *termModes) { m.opost = false },
			steps:  []string{"echo hi\r", "echo hi\nhi\n" + testPrompt, "exit\r", ""},
			output: testPrompt + "echo hi\nhi\n" + testPrompt + "exit\n"},
		{name: "icrnl off makes CR data to a statement",
			change: func(m *termModes) { m.icrnl = false },
			steps: []string{countLine, countEcho,
				"ab\r", "ab\r", // no line yet: only LF ends it
				"\n", "\r\n3\r\n" + testPrompt,
				"exit\r", ""}},
		{name: "icrnl off: the LF of a command line's CRLF is not input",
			change: func(m *termModes) { m.icrnl = false },
			steps: []string{"read -r x; echo [$x]\r\n", "read -r x; echo [$x]\r\n",
				"ok\n", "ok\r\n[ok]\r\n" + testPrompt,
				"exit\r", ""}},
		{name: "igncr drops CR",
			change: func(m *termModes) { m.igncr = true },
			steps: []string{countLine, countEcho,
				"ab\rc\n", "abc\r\n3\r\n" + testPrompt,
				"exit\r", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := defaultModes()
			if tt.change != nil {
				tt.change(&m)
			}
			s := startShellTerm(t, m)
			s.play(t, tt.steps, tt.status)
			if got := s.out.String(); tt.output != "" && got != tt.output {
				t.Errorf("output = %q, want %q", got, tt.output)
			}
		})
	}
}

func TestSSHShellModes(t *testing.T) {
	f := startSSH(t)
	s, in, out := ptyShell(t, f.client(t), ssh.TerminalModes{ssh.ECHO: 0, ssh.VINTR: 0x07})

	io.WriteString(in, "read x; echo got:$x\rsecret\rsleep 100\r")
	waitFor(t, "the shell to run sleep", func() bool {
		return strings.Contains(out.String(), "got:secret\r\n"+testPrompt)
	})
	io.WriteString(in, "\x07echo $?\rexit 0\r")
	err := s.Wait()
	if err != nil {
		t.Fatalf("Wait = %v, want success; output %q", err, out.String())
	}
	want := testPrompt + "got:secret\r\n" + testPrompt + "\r\n" + testPrompt + "130\r\n" +
		testPrompt
	if got := out.String(); got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestSSHPTYModesRefused(t *testing.T) {
	f := startSSH(t)
	s, err := f.client(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	req := ptyReq{Term: "xterm", Cols: 80, Rows: 24, Modes: "\x35\x00\x00"}
	ok, err := s.SendRequest("pty-req", true, ssh.Marshal(req))
	if err != nil || ok {
		t.Fatalf("pty-req with modes cut short = %v %v, want refused", ok, err)
	}
}

func TestSSHExecOutputModes(t *testing.T) {
	tests := []struct {
		name  string
		modes ssh.TerminalModes
		want  string
	}{
		{name: "default", modes: ssh.TerminalModes{}, want: "a\r\nb\r\n"},
		{name: "onlcr off", modes: ssh.TerminalModes{ssh.ONLCR: 0}, want: "a\nb\n"},
		{name: "opost off", modes: ssh.TerminalModes{ssh.OPOST: 0}, want: "a\nb\n"},
	}
	f := startSSH(t)
	c := f.client(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.RequestPty("xterm", 24, 80, tt.modes); err != nil {
				t.Fatal(err)
			}

			var out bytes.Buffer
			s.Stdout = &out
			err = s.Run("echo a; echo b")
			if err != nil || out.String() != tt.want {
				t.Errorf("Run = %v, output %q, want success and %q", err, out.String(), tt.want)
			}
		})
	}
}
