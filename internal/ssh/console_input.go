//go:build unix

package ssh

import (
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// inputPoll bounds how long stopping the terminal copy can take.
const inputPoll = 50 * time.Millisecond

// terminalInput copies the terminal to the console session until stop is called. It waits
// for input with ppoll and a short timeout rather than a blocking read, so that when the
// console ends no goroutine is left inside a read of the user's terminal, where it would
// take the next keystroke meant for whoever reads stdin later. Polling the descriptor works
// whether or not something else has put it in non-blocking mode, on every Unix.
func terminalInput(tty *os.File, w io.WriteCloser) (stop func()) {
	fd := int(tty.Fd())
	quit := make(chan struct{})
	copied := make(chan struct{})

	go func() {
		defer close(copied)
		buf := make([]byte, 32*1024)
		for {
			select {
			case <-quit:
				return
			default:
			}

			ready, err := readable(fd, inputPoll)
			if err != nil {
				return
			}
			if !ready {
				continue
			}

			n, err := syscall.Read(fd, buf)
			if err == syscall.EAGAIN || err == syscall.EINTR {
				continue
			}
			if err != nil || n <= 0 {
				w.Close() // the terminal hung up: the remote side sees EOF
				return
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return
			}
		}
	}()

	return func() {
		close(quit)
		<-copied
	}
}

// readable waits up to timeout for fd to have input (or a hang-up, which a read reports).
func readable(fd int, timeout time.Duration) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(timeout/time.Millisecond))
	switch {
	case err == unix.EINTR:
		return false, nil
	case err != nil:
		return false, err
	}
	return n > 0, nil
}
