package sim

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// How long Ensure and StopBackground wait for a process to come up or go away.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 10 * time.Second
	pollEvery    = 20 * time.Millisecond
)

// Ensure returns the Record of a live simulator for dir, starting one if needed. Under an
// flock on dir/lock it checks the recorded process: alive, its URL accepting TCP, and its
// version matching (when version is not empty). If so it returns that Record and false.
// Otherwise it stops any stale process, runs spawn() detached (own session, output appended
// to dir/sim.log), waits for a fresh Record that answers, and returns it with true.
func Ensure(ctx context.Context, dir, version string,
	spawn func() *exec.Cmd) (*Record, bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("ensuring simulator: %w", err)
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return nil, false, fmt.Errorf("ensuring simulator: %w", err)
	}
	defer unlock()

	if serving(dir) {
		rec, err := ReadRecord(dir)
		if err != nil || !answers(rec) {
			return nil, false, fmt.Errorf("ensuring simulator: a simulator serves %s but does "+
				"not answer (see %s)", dir, filepath.Join(dir, "sim.log"))
		}
		if versionMatches(rec.Version, version) {
			return rec, false, nil
		}
		if err := StopBackground(dir); err != nil {
			return nil, false, fmt.Errorf("ensuring simulator: replacing version %s: %w",
				rec.Version, err)
		}
	}
	_ = os.Remove(filepath.Join(dir, recordFile)) // stale: its process is gone

	logf, err := os.OpenFile(filepath.Join(dir, "sim.log"),
		os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("ensuring simulator: %w", err)
	}
	defer logf.Close()
	cmd := spawn()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("ensuring simulator: starting %s: %w", cmd.Path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the child so it never lingers as a zombie

	rec, err := awaitRecord(ctx, dir, cmd.Process.Pid, exited)
	if err != nil {
		return nil, false, fmt.Errorf("ensuring simulator: %w (see %s)", err,
			filepath.Join(dir, "sim.log"))
	}
	return rec, true, nil
}

// awaitRecord polls until the process pid has published a Record whose URL answers.
func awaitRecord(ctx context.Context, dir string, pid int, exited <-chan error) (*Record, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if rec, err := ReadRecord(dir); err == nil && rec.PID == pid && answers(rec) {
			return rec, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("simulator process exited early: %v", err)
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for simulator to listen: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// serveLockFile is held (flock) by the server using a directory for as long as it runs. It
// tells a live simulator from a stale record whose pid now belongs to another process, and
// keeps two servers off one state directory.
const serveLockFile = "serve.lock"

// lockServing takes the serving lock of dir without waiting.
func lockServing(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, serveLockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another simulator serves %s (stop it first: pixels sim "+
				"stop)", dir)
		}
		return nil, err
	}
	return f, nil
}

// serving reports whether some simulator holds the serving lock of dir.
func serving(dir string) bool {
	f, err := lockServing(dir)
	if err != nil {
		return true
	}
	f.Close() // closing releases the probe's lock
	return false
}

// answers reports whether the recorded process lives and its loopback URL takes a TCP
// connection. Non-loopback URLs are never dialled.
func answers(rec *Record) bool {
	if !alive(rec.PID) {
		return false
	}
	u, err := url.Parse(rec.URL)
	if err != nil || requireLoopback(u.Host) != nil {
		return false
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// alive reports whether a process exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// lockDir takes an exclusive flock on dir/lock, giving up when ctx ends.
func lockDir(ctx context.Context, dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", dir, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", dir, ctx.Err())
		case <-t.C:
		}
	}
}

// StopBackground ends the simulator recorded in dir with SIGTERM, waits until the process is
// gone and removes the Record. No record, or a dead process, is not an error.
func StopBackground(dir string) error {
	rec, err := ReadRecord(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stopping simulator: %w", err)
	}
	// Only signal a pid while a simulator holds the serving lock: a stale record's pid may
	// belong to an unrelated process by now.
	if serving(dir) && alive(rec.PID) && rec.PID != os.Getpid() {
		if err := syscall.Kill(rec.PID, syscall.SIGTERM); err != nil &&
			!errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stopping simulator (pid %d): %w", rec.PID, err)
		}
		deadline := time.Now().Add(stopTimeout)
		for alive(rec.PID) {
			if time.Now().After(deadline) {
				return fmt.Errorf("stopping simulator (pid %d): still running after %s",
					rec.PID, stopTimeout)
			}
			time.Sleep(pollEvery)
		}
	}
	err = os.Remove(filepath.Join(dir, recordFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stopping simulator: %w", err)
	}
	return nil
}

// Reset stops the background simulator and deletes its state: containers (with their host
// keys, which belong to containers that no longer exist), checkpoints and credentials. The
// lock file and sim.log stay; the next server starts empty with a new API key.
func Reset(dir string) error {
	if err := StopBackground(dir); err != nil {
		return fmt.Errorf("resetting simulator: %w", err)
	}
	for _, name := range []string{stateFile, "containers", datasetsDir} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("resetting simulator: %w", err)
		}
	}
	return nil
}

// CommandLog returns the commands a container ran, read from its directory without a
// server (and without opening its tree, which a container whose dataset is gone lacks).
func CommandLog(dir, pxName string) ([]string, error) {
	cdir := filepath.Join(dir, "containers", pxName)
	if _, err := os.Stat(cdir); err != nil {
		return nil, fmt.Errorf("reading command log of %s: %w", pxName, err)
	}
	lines, err := (&Box{dir: cdir, hostname: pxName}).Log()
	if err != nil {
		return nil, fmt.Errorf("reading command log of %s: %w", pxName, err)
	}
	return lines, nil
}
