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
	afterCR bool   // the last byte taken from buf was CR
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

// next returns the next byte for a reader of lines: a LF right after a CR is dropped, so
// CR, LF and CRLF each end one line.
func (s *sessionInput) next(ctx context.Context) (byte, error) {
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
		s.afterCR = c == '\r'
		if !skip {
			return c, nil
		}
	}
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

// feedResult is how feeding a statement ended: input to give back to the shell, or an
// interrupt, after which pending input is dropped.
type feedResult struct {
	rest        []byte
	interrupted bool
}

// feed passes the session's input to a running statement through pw until ctx ends. Without
// a terminal the bytes go through as they are and the input's end closes pw. With one it
// acts as a terminal's line discipline in cooked mode: it echoes, sends a line on Enter (as
// LF), erases with backspace, closes pw on Ctrl-D at the start of a line (later lines are
// held for the shell) and calls interrupt on Ctrl-C.
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

	if lr.tty {
		return lr.feedTerminal(ctx, pw, interrupt)
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

// feedTerminal is feed's line discipline for a session with a terminal.
//
// TODO(#3): it ignores the terminal modes of the pty request (raw mode, other control keys)
// and has no job control (Ctrl-Z, Ctrl-\); Ctrl-C also ends jobs the interrupted statement
// put in the background, which a shell with job control would spare.
func (lr *lineReader) feedTerminal(ctx context.Context, pw *os.File,
	interrupt func()) feedResult {
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
	// eof handles Ctrl-D: a partial line goes out as it is, else the reader gets EOF.
	eof := func(line []byte) []byte {
		switch {
		case len(line) > 0:
			send(line)
		case open && len(held) == 0:
			pw.Close()
			open = false
		default:
			held = append(held, 0x04) // an EOF for whoever reads next: the shell
		}
		return nil
	}

	// Input given back by an earlier statement was echoed and cooked already.
	for _, c := range lr.in.takeBack() {
		switch c {
		case '\n':
			send(append(line, c))
			line = nil
		case 0x04:
			line = eof(line)
		default:
			line = append(line, c)
		}
	}
	for {
		c, err := lr.in.next(ctx)
		if err != nil {
			if ctx.Err() == nil && open {
				pw.Close()
			}
			return feedResult{rest: append(held, line...)}
		}

		switch c {
		case '\r', '\n':
			lr.write("\r\n")
			send(append(line, '\n'))
			line = nil
		case 0x7f, 0x08:
			line = lr.erase(line)
		case 0x03:
			lr.write("^C\r\n")
			interrupt()
			return feedResult{interrupted: true}
		case 0x04:
			line = eof(line)
		default:
			line = append(line, c)
			lr.write(string(c))
		}
	}
}
