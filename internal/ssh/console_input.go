//go:build linux

package ssh

import (
	"io"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// inputPoll bounds how long stopping the terminal copy can take.
const inputPoll = 50 * time.Millisecond

// terminalInput copies the terminal to the console session until stop is called. It waits
// for input with ppoll and a short timeout rather than a blocking read, so that when the
// console ends no goroutine is left inside a read of the user's terminal, where it would
// take the next keystroke meant for whoever reads stdin later. Polling the descriptor works
// whether or not something else has put it in non-blocking mode.
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
	pfd := struct {
		fd      int32
		events  int16
		revents int16
	}{fd: int32(fd), events: 0x1} // POLLIN
	ts := syscall.NsecToTimespec(int64(timeout))

	n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1,
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	switch {
	case errno == syscall.EINTR:
		return false, nil
	case errno != 0:
		return false, errno
	}
	return n > 0, nil
}
