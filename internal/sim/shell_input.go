package sim

// The session input of the interactive shell, shared between its line editor and the
// statement it runs, the way a terminal's input queue is shared between a shell and its
// foreground job.
//
// One goroutine reads the session and queues what arrives. At the prompt the line editor
// takes bytes from that queue; while a statement runs, feed takes them instead and writes
// them to the statement's stdin pipe. When the statement ends, whatever it did not read goes
// back to the front of the queue, in order: bytes still in the pipe, then a half-typed line
// and lines held after Ctrl-D, then the input not yet fed. So typed-ahead input reaches
// whoever reads next, as with a real terminal. Two losses are a real terminal's too: bytes a
// program read into its own buffer and did not use are gone, and Ctrl-C drops the pending
// input. One difference is ours: after Ctrl-D the rest of that statement reads EOF, as each
// statement of a line gets its own stdin pipe (`cat; cat` reads twice, `cat && cat` once).

import (
	"context"
	"io"
	"os"
	"time"
)

// sessionInput queues the session's input for one consumer at a time.
type sessionInput struct {
	chunks chan []byte   // from the reading goroutine; closed once err is set
	err    error         // why the input ended; read only after chunks is closed
	done   chan struct{} // closed when the shell ends, so the reader stops

	back    []byte // bytes given back by a statement; they come first
	buf     []byte // bytes received and not yet taken
	ended   error  // the input's end, once chunks is drained
	afterCR bool   // the last byte taken from buf was a CR that ended a line
}

// newSessionInput starts reading in.
func newSessionInput(in io.Reader) *sessionInput {
	s := &sessionInput{chunks: make(chan []byte), done: make(chan struct{})}
	go s.read(in)

	return s
}

// read forwards what in delivers until it fails or the shell ends.
func (s *sessionInput) read(in io.Reader) {
	defer close(s.chunks)
	for {
		p := make([]byte, 4096)
		n, err := in.Read(p)
		if n > 0 {
			select {
			case s.chunks <- p[:n]:
			case <-s.done:
				return
			}
		}
		if err != nil {
			s.err = err
			return
		}
	}
}

// close lets the reading goroutine end at its next return from Read.
func (s *sessionInput) close() {
	close(s.done)
}

// fill waits until buf holds bytes, the input ends or ctx ends.
func (s *sessionInput) fill(ctx context.Context) error {
	for len(s.buf) == 0 {
		if s.ended != nil {
			return s.ended
		}
		select {
		case p, ok := <-s.chunks:
			if ok {
				s.buf = p
				continue
			}
			s.ended = s.err
			if s.ended == nil {
				s.ended = io.EOF
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	return nil
}

// next returns the next byte. With fold set, as for a reader to whom CR ends a line, the LF
// right after a CR it took is dropped, whoever reads it, so CR, LF and CRLF each end one line.
func (s *sessionInput) next(ctx context.Context, fold bool) (byte, error) {
	if len(s.back) > 0 {
		c := s.back[0]
		s.back = s.back[1:]
		return c, nil
	}
	for {
		if err := s.fill(ctx); err != nil {
			return 0, err
		}
		c := s.buf[0]
		s.buf = s.buf[1:]
		skip := s.afterCR && c == '\n'
		s.afterCR = fold && c == '\r'
		if !skip {
			return c, nil
		}
	}
}

// buffered reports whether next returns a byte without waiting.
func (s *sessionInput) buffered() bool {
	if len(s.back) > 0 {
		return true
	}
	if s.afterCR && len(s.buf) > 0 && s.buf[0] == '\n' {
		return len(s.buf) > 1
	}

	return len(s.buf) > 0
}

// take returns everything available as it came, waiting for at least one byte.
func (s *sessionInput) take(ctx context.Context) ([]byte, error) {
	if len(s.back) > 0 {
		p := s.back
		s.back = nil
		return p, nil
	}
	if err := s.fill(ctx); err != nil {
		return nil, err
	}
	p := s.buf
	s.buf = nil
	s.afterCR = false

	return p, nil
}

// takeBack returns and clears the bytes given back by a statement.
func (s *sessionInput) takeBack() []byte {
	p := s.back
	s.back = nil

	return p
}

// unread puts p back in front of the input.
func (s *sessionInput) unread(p []byte) {
	if len(p) > 0 {
		s.back = append(append([]byte(nil), p...), s.back...)
	}
}

// ctrlChar is a control character of the terminal, such as the one that interrupts, or
// noChar when the client disabled it.
type ctrlChar int

// noChar is a disabled control character: no byte matches it.
const noChar ctrlChar = -1

// is reports whether c is this control character.
func (k ctrlChar) is(c byte) bool {
	return int(k) == int(c)
}

// termModes are the terminal modes a pty request asked for (RFC 4254 section 8), as far as
// the line discipline follows them. sshd_session.go decodes them; a mode the client did not
// send keeps the value of defaultModes.
type termModes struct {
	echo   bool // typed input shows on the terminal
	icanon bool // input is edited and passed on by lines; else each byte goes at once
	isig   bool // intr interrupts the running statement; else it is data
	icrnl  bool // CR reads as LF, and CRLF as one LF
	igncr  bool // CR is dropped (before icrnl, as in Linux)
	opost  bool // output is processed: without it, onlcr does nothing
	onlcr  bool // output "\n" shows as "\r\n"

	intr, eof, erase, kill ctrlChar
	altErase               ctrlChar // backspace erases too, unless the client named erase
}

// defaultModes are a Linux terminal's cooked mode (`stty sane`), which the shell followed
// before it read any modes, except that both DEL and backspace erase.
func defaultModes() termModes {
	return termModes{
		echo: true, icanon: true, isig: true, icrnl: true, opost: true, onlcr: true,
		intr: 0x03, eof: 0x04, erase: 0x7f, altErase: 0x08, kill: 0x15,
	}
}

// crlf reports whether "\n" goes out as "\r\n".
func (m *termModes) crlf() bool {
	return m.opost && m.onlcr
}

// erases reports whether c deletes the character before the cursor.
func (m *termModes) erases(c byte) bool {
	return m.erase.is(c) || m.altErase.is(c)
}

// interrupts reports whether c interrupts the running statement.
func (m *termModes) interrupts(c byte) bool {
	return m.isig && m.intr.is(c)
}

// fold reports whether a CRLF the client sends is one line end, as CR alone is.
func (m *termModes) fold() bool {
	return m.icrnl && !m.igncr
}

// translate applies the input modes to c: it returns false for a byte to drop.
func (m *termModes) translate(c byte) (byte, bool) {
	switch {
	case c != '\r':
		return c, true
	case m.igncr:
		return 0, false
	case m.icrnl:
		return '\n', true
	}

	return c, true
}

// feedResult is how feeding a statement ended: input to give back to the shell, or an
// interrupt, after which pending input is dropped.
type feedResult struct {
	rest        []byte
	interrupted bool
}

// feed passes the session's input to a running statement through pw until ctx ends. Without
// a terminal the bytes go through as they are and the input's end closes pw. With one it
// acts as the terminal's line discipline, following the modes of the pty request.
//
// Job control is out of scope: the shell behaves like sh without `set -m`, so the suspend and
// quit characters (Ctrl-Z, Ctrl-\) are data.
//
// An interrupt also ends the jobs the interrupted statement put in the background, which sh
// spares (its background jobs ignore SIGINT): the interpreter gives them the statement's
// context. A known difference, kept (see docs/architecture.md).
func (lr *lineReader) feed(ctx context.Context, pw *os.File, interrupt func()) feedResult {
	unblocked := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		pw.SetWriteDeadline(time.Now()) // a full pipe must not hold up the shell
		close(unblocked)
	})
	defer func() {
		if !stop() {
			<-unblocked
		}
	}()

	switch {
	case lr.tty && lr.modes.icanon:
		return lr.feedLines(ctx, pw, interrupt)
	case lr.tty:
		return lr.feedBytes(ctx, pw, interrupt)
	}
	for {
		p, err := lr.in.take(ctx)
		if err != nil {
			if ctx.Err() == nil {
				pw.Close() // the session's input ended: the statement reads EOF
			}
			return feedResult{}
		}
		if n, err := pw.Write(p); err != nil {
			return feedResult{rest: p[n:]}
		}
	}
}

// feedLines is feed's line discipline for a terminal in canonical mode: it echoes, sends a
// line on Enter (as LF), erases a character or the whole line, closes pw on the EOF character
// at the start of a line (later lines are held for the shell) and calls interrupt on the
// interrupt character.
func (lr *lineReader) feedLines(ctx context.Context, pw *os.File, interrupt func()) feedResult {
	m := &lr.modes
	var line, held []byte
	open := true
	send := func(p []byte) {
		if open && len(held) == 0 {
			n, err := pw.Write(p)
			if err == nil {
				return
			}
			p = p[n:]
		}
		held = append(held, p...)
	}
	// eof handles the EOF character: a partial line goes out as it is, else the reader
	// gets EOF.
	eof := func(line []byte) []byte {
		switch {
		case len(line) > 0:
			send(line)
		case open && len(held) == 0:
			pw.Close()
			open = false
		default:
			held = append(held, byte(m.eof)) // an EOF for whoever reads next: the shell
		}
		return nil
	}

	// Input given back by an earlier statement was echoed and cooked already.
	for _, c := range lr.in.takeBack() {
		switch {
		case c == '\n':
			send(append(line, c))
			line = nil
		case m.eof.is(c):
			line = eof(line)
		default:
			line = append(line, c)
		}
	}
	for {
		c, err := lr.in.next(ctx, m.fold())
		if err != nil {
			if ctx.Err() == nil && open {
				pw.Close()
			}
			return feedResult{rest: append(held, line...)}
		}
		c, ok := m.translate(c)

		switch {
		case !ok:
		case m.interrupts(c):
			lr.interrupted(c)
			interrupt()
			return feedResult{interrupted: true}
		case c == '\n':
			lr.newline()
			send(append(line, '\n'))
			line = nil
		case m.erases(c):
			line = lr.erase(line)
		case m.kill.is(c):
			line = lr.kill(line)
		case m.eof.is(c):
			line = eof(line)
		default:
			line = append(line, c)
			lr.write(string(c))
		}
	}
}

// feedBytes is feed's line discipline for a terminal in non-canonical (raw) mode: each byte
// goes to the statement as it arrives, with no editing and no EOF character, echoed if the
// modes say so; only the interrupt character, with isig, stays special.
func (lr *lineReader) feedBytes(ctx context.Context, pw *os.File, interrupt func()) feedResult {
	m := &lr.modes
	var held []byte
	send := func(p []byte) {
		if len(held) == 0 {
			n, err := pw.Write(p)
			if err == nil {
				return
			}
			p = p[n:]
		}
		held = append(held, p...)
	}

	// Input given back by an earlier statement was echoed and translated already.
	if back := lr.in.takeBack(); len(back) > 0 {
		send(back)
	}
	var out []byte
	for {
		if len(out) > 0 && !lr.in.buffered() {
			send(out) // all that arrived together goes in one write
			out = nil
		}
		c, err := lr.in.next(ctx, m.fold())
		if err != nil {
			if ctx.Err() == nil {
				pw.Close()
			}
			return feedResult{rest: held} // out is empty: it goes out before next waits
		}
		c, ok := m.translate(c)

		switch {
		case !ok:
		case m.interrupts(c):
			lr.interrupted(c)
			interrupt()
			return feedResult{interrupted: true}
		case c == '\n':
			lr.newline()
			out = append(out, c)
		default:
			lr.write(string(c))
			out = append(out, c)
		}
	}
}
