//go:build !linux

package ssh

import (
	"io"
	"os"
)

// terminalInput copies the terminal to the console session.
//
// TODO(#5): interrupt the copy when the console ends, as the Linux version does; here it
// stays in a read of the terminal until the next keystroke, which it then swallows.
func terminalInput(tty *os.File, w io.WriteCloser) (stop func()) {
	go func() {
		io.Copy(w, tty)
		w.Close()
	}()
	return func() {}
}
