package ssh

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// testServer is a tiny SSH server on a random 127.0.0.1 port. Commands are parsed and run by
// a sandboxed shell interpreter (mvdan.cc/sh), so quoting is checked by a real shell parser;
// it runs no host programs, only the shell's builtins and the scripted commands of call.
type testServer struct {
	t            *testing.T
	addr         string
	hostKey      gossh.Signer   // the first host key
	hostKeys     []gossh.Signer // all of them
	handshakes   atomic.Int32
	authFailures atomic.Int32
	silent       atomic.Bool // leave keepalive requests unanswered, like a dead peer

	mu         sync.Mutex
	authorized map[string]bool // marshalled public keys accepted; nil = any key
	commands   []string        // exec requests received, in order
	pty        string          // "TERM WxH" of the last pty-req or window-change
	conns      []net.Conn
}

// errSignal makes the session end with an exit-signal instead of a status.
type errSignal string

func (e errSignal) Error() string { return "killed by " + string(e) }

// errVanish makes the session close with no exit report at all.
var errVanish = errors.New("vanish")

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	return newTestServerWithKey(t, newSigner(t))
}

func newTestServerWithKey(t *testing.T, hostKeys ...gossh.Signer) *testServer {
	t.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, addr: ln.Addr().String(), hostKey: hostKeys[0], hostKeys: hostKeys}

	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})

	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, nc)
			s.mu.Unlock()
			wg.Go(func() { s.serve(nc, &wg) })
		}
	})

	return s
}

func newSigner(t *testing.T) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authorize limits the accepted client keys to the authorized_keys text given.
func (s *testServer) authorize(authorizedKeys string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authorized = map[string]bool{}
	rest := []byte(authorizedKeys)
	for len(rest) > 0 {
		pub, _, _, r, err := gossh.ParseAuthorizedKey(rest)
		if err != nil {
			break
		}
		s.authorized[string(pub.Marshal())] = true
		rest = r
	}
}

func (s *testServer) serve(nc net.Conn, wg *sync.WaitGroup) {
	cfg := &gossh.ServerConfig{
		PublicKeyCallback: func(_ gossh.ConnMetadata, key gossh.PublicKey) (*gossh.Permissions, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.authorized == nil || s.authorized[string(key.Marshal())] {
				return nil, nil
			}
			s.authFailures.Add(1)
			return nil, errors.New("key not authorized")
		},
	}
	for _, k := range s.hostKeys {
		cfg.AddHostKey(k)
	}

	sc, chans, reqs, err := gossh.NewServerConn(nc, cfg)
	if err != nil {
		nc.Close()
		return
	}
	defer sc.Close()
	s.handshakes.Add(1)

	go func() {
		for req := range reqs {
			if req.WantReply && !s.silent.Load() {
				req.Reply(false, nil)
			}
		}
	}()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(gossh.UnknownChannelType, "sessions only")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		wg.Go(func() { s.session(ch, creqs) })
	}
}

func (s *testServer) session(ch gossh.Channel, reqs <-chan *gossh.Request) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	for req := range reqs {
		switch req.Type {
		case "pty-req", "window-change":
			s.recordPty(req)
			if req.WantReply {
				req.Reply(true, nil)
			}
		case "exec":
			var p struct{ Command string }
			gossh.Unmarshal(req.Payload, &p)
			s.mu.Lock()
			s.commands = append(s.commands, p.Command)
			s.mu.Unlock()
			req.Reply(true, nil)
			go func() { finish(ch, s.run(ctx, p.Command, ch)) }()
		case "shell":
			req.Reply(true, nil)
			go func() { finish(ch, s.shell(ctx, ch)) }()
		case "signal":
			cancel()
		default:
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// finish reports how a command ended, as the error convention of run says, and closes.
func finish(ch gossh.Channel, err error) {
	var sig errSignal
	switch {
	case errors.As(err, &sig):
		ch.SendRequest("exit-signal", false, gossh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{Signal: string(sig)}))
	case errors.Is(err, errVanish):
	default:
		status := 0
		if n, ok := interp.IsExitStatus(err); ok {
			status = int(n)
		} else if err != nil {
			status = 254
		}
		ch.SendRequest("exit-status", false, gossh.Marshal(struct{ Status uint32 }{uint32(status)}))
	}
	ch.Close()
}

func (s *testServer) recordPty(req *gossh.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Type == "pty-req" {
		var p struct {
			Term          string
			Cols, Rows    uint32
			Width, Height uint32
			Modes         string
		}
		gossh.Unmarshal(req.Payload, &p)
		s.pty = fmt.Sprintf("%s %dx%d", p.Term, p.Cols, p.Rows)
		return
	}
	var w struct{ Cols, Rows, Width, Height uint32 }
	gossh.Unmarshal(req.Payload, &w)
	term, _, _ := strings.Cut(s.pty, " ")
	s.pty = fmt.Sprintf("%s %dx%d", term, w.Cols, w.Rows)
}

func (s *testServer) ptyState() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pty
}

func (s *testServer) lastCommand() string {
	return markerRE.ReplaceAllString(s.lastRawCommand(), "")
}

// markerRE matches the reap marker Exec puts in front of commands without a terminal.
var markerRE = regexp.MustCompile(`PIXELS_EXEC=[0-9a-f]{24} `)

// lastRawCommand is the last exec request as it arrived, marker included.
func (s *testServer) lastRawCommand() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.commands) == 0 {
		return ""
	}
	return s.commands[len(s.commands)-1]
}

// shell is the console's program: it greets with the pty it got, answers "size" with the
// current one, and ends on "exit N".
func (s *testServer) shell(ctx context.Context, ch gossh.Channel) error {
	fmt.Fprintf(ch, "pty %s\r\n", s.ptyState())
	lines := bufio.NewScanner(ch)
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		switch {
		case line == "size":
			fmt.Fprintf(ch, "pty %s\r\n", s.ptyState())
		case strings.HasPrefix(line, "exit "):
			n, _ := strconv.Atoi(strings.TrimPrefix(line, "exit "))
			return interp.ExitStatus(n)
		}
	}
	return ctx.Err()
}

// run parses and interprets one command string with the scripted commands.
func (s *testServer) run(ctx context.Context, cmd string, ch gossh.Channel) error {
	return runScript(ctx, cmd, nil, nil, ch, ch, ch.Stderr())
}

func runScript(ctx context.Context, script string, env, params []string, in io.Reader,
	out, errw io.Writer) error {
	file, err := syntax.NewParser().Parse(strings.NewReader(script), "")
	if err != nil {
		fmt.Fprintln(errw, "sh:", err)
		return interp.ExitStatus(2)
	}

	r, err := interp.New(
		interp.StdIO(in, out, errw),
		interp.Env(expand.ListEnviron(append([]string{"HOME=/"}, env...)...)),
		interp.Dir("/"),
		interp.Params(append([]string{"--"}, params...)...),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return call }),
		interp.OpenHandler(func(context.Context, string, int, os.FileMode) (io.ReadWriteCloser,
			error) {
			return nil, errors.New("files are not available in the test server")
		}),
	)
	if err != nil {
		return err
	}

	return r.Run(ctx, file)
}

// call runs the scripted commands: argv (prints its arguments as JSON), env, sh -c, cat,
// wc -l, sleep (until cancelled), die SIG (exit-signal), vanish (no exit report).
func call(ctx context.Context, args []string) error {
	hc := interp.HandlerCtx(ctx)
	var env []string
	hc.Env.Each(func(name string, v expand.Variable) bool {
		if v.Exported {
			env = append(env, name+"="+v.String())
		}
		return true
	})
	return callWith(ctx, hc, env, args)
}

func callWith(ctx context.Context, hc interp.HandlerContext, env, args []string) error {
	switch args[0] {
	case "argv":
		return json.NewEncoder(hc.Stdout).Encode(args[1:])
	case "env":
		i := 1
		for ; i < len(args) && strings.Contains(args[i], "="); i++ {
			env = append(env, args[i])
		}
		return callWith(ctx, hc, env, args[i:])
	case "sh":
		if len(args) < 3 || args[1] != "-c" {
			return interp.ExitStatus(2)
		}
		var params []string
		if len(args) > 4 {
			params = args[4:]
		}
		return runScript(ctx, args[2], env, params, hc.Stdin, hc.Stdout, hc.Stderr)
	case "pwd":
		_, err := fmt.Fprintln(hc.Stdout, hc.Dir)
		return err
	case "cat":
		_, err := io.Copy(hc.Stdout, hc.Stdin)
		return err
	case "wc":
		n := 0
		sc := bufio.NewScanner(hc.Stdin)
		for sc.Scan() {
			n++
		}
		fmt.Fprintln(hc.Stdout, n)
		return nil
	case "sleep":
		<-ctx.Done()
		return errSignal("TERM")
	case "die":
		return errSignal(args[1])
	case "vanish":
		return errVanish
	}
	fmt.Fprintf(hc.Stderr, "%s: not found\n", args[0])
	return interp.ExitStatus(127)
}
