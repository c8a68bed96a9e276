// Command pixels manages disposable Linux containers on TrueNAS SCALE, scripted in Lua. With
// no TrueNAS configured it runs against a built-in simulator. main only wires the packages
// together and maps the final error to an exit status.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	go secondInterrupt(ctx)
	code := run(ctx, os.Args[1:], env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		stdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		stderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	})
	stop()
	os.Exit(code)
}

// stopSignals cancel a run so that its cleanups run: Ctrl-C, a kill, and a closed terminal
// (SIGHUP), which would otherwise end pixels with nothing cleaned up.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// secondInterrupt exits at once on a second Ctrl-C: the first one cancels and lets the
// cleanups run; a user who presses again wants out now.
func secondInterrupt(ctx context.Context) {
	<-ctx.Done()
	sigs := make(chan os.Signal, 1)
	// Only a second Ctrl-C: closing a terminal delivers SIGHUP twice (the shell passes its
	// hangup on, and the kernel sends its own), which must not skip the cleanup.
	signal.Notify(sigs, os.Interrupt)
	<-sigs
	os.Stderr.WriteString("pixels: interrupted again: skipping cleanup (pixels list and " +
		"pixels doctor show what was left behind on the NAS)\n")
	os.Exit(130)
}
