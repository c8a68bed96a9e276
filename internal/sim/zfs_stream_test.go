package sim

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// shapeTree gives a container's tree an executable, a private directory and two symlinks,
// one of them dangling, beside the skeleton's sticky /tmp.
func shapeTree(t *testing.T, s *Server, name string) {
	t.Helper()
	writeTree(t, s, name, "/srv/run.sh", "#!/bin/sh\necho hi\n")
	writeTree(t, s, name, "/secret/key", "k")
	s.mu.Lock()
	defer s.mu.Unlock()
	box, err := s.openBox(name)
	if err != nil {
		t.Fatal(err)
	}
	root, err := box.fsRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		root.Chmod("srv/run.sh", 0o750),
		root.Chmod("secret", 0o700),
		root.Symlink("srv/run.sh", "run"),
		root.Symlink("/nowhere", "dangling"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// checkShape fails unless the tree at dir is what shapeTree made.
func checkShape(t *testing.T, dir string) {
	t.Helper()
	modes := map[string]fs.FileMode{
		"srv/run.sh": 0o750,
		"secret":     fs.ModeDir | 0o700,
		"tmp":        fs.ModeDir | fs.ModeSticky | 0o777,
		"etc":        fs.ModeDir | 0o755,
		"run":        fs.ModeSymlink,
		"dangling":   fs.ModeSymlink,
	}
	for name, want := range modes {
		info, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got := info.Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSticky)
		if want&fs.ModeSymlink != 0 {
			got &= fs.ModeType
		}
		if got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
	links := map[string]string{"run": "srv/run.sh", "dangling": "/nowhere"}
	for name, want := range links {
		if got, err := os.Readlink(filepath.Join(dir, name)); err != nil || got != want {
			t.Errorf("%s: link to %q, %v; want %q", name, got, err, want)
		}
	}
	if got, err := os.ReadFile(filepath.Join(dir, "srv/run.sh")); err != nil ||
		string(got) != "#!/bin/sh\necho hi\n" {
		t.Errorf("srv/run.sh: %q, %v", got, err)
	}
}

// noStaging fails if a send or receive left files among the loose datasets'.
func noStaging(t *testing.T, s *Server, keep ...string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.opts.Dir, datasetsDir))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(keep, e.Name()) {
			t.Errorf("left among the datasets' files: %s", e.Name())
		}
	}
}

func TestZFSStreamOutlivesItsSnapshot(t *testing.T) {
	t.Parallel()
	s, c := zfsServer(t, Options{})
	a := datasetOf("px-a")
	copyDS := "tank/.ix-virt/copy"
	shapeTree(t, s, "px-a")
	mustZFS(t, s, "snapshot", a+"@one")
	stream := mustZFS(t, s, "send", a+"@one")
	noStaging(t, s)

	// Gone from the pool, the snapshot still arrives whole: its data is in the stream.
	mustZFS(t, s, "destroy", a+"@one")
	writeTree(t, s, "px-a", "/srv/run.sh", "changed")
	zfsCase{args: []string{"recv", "-v", copyDS}, stdin: stream,
		out: "receiving full stream of " + a + "@one into " + copyDS + "@one\n"}.check(t, s)

	if names := looseNames(t, s); !slices.Equal(names, []string{copyDS}) {
		t.Fatalf("loose datasets %v", names)
	}
	if labels := snapshotLabels(t, s, c, copyDS); !slices.Equal(labels, []string{"one"}) {
		t.Fatalf("snapshots of the received dataset: %v", labels)
	}
	data := filepath.Join(s.opts.Dir, datasetsDir, "1")
	checkShape(t, filepath.Join(data, "rootfs"))
	checkShape(t, filepath.Join(data, "snapshots", "one"))
	noStaging(t, s, "1")
}

func TestZFSRecvBrokenStream(t *testing.T) {
	t.Parallel()
	s, _ := zfsServer(t, Options{})
	a := datasetOf("px-a")
	copyDS := "tank/.ix-virt/copy"
	writeTree(t, s, "px-a", "/data.txt", "payload-in-the-stream")
	mustZFS(t, s, "snapshot", a+"@one")
	stream := mustZFS(t, s, "send", a+"@one")
	body := strings.Index(stream, "\n") + 1
	end := strings.Index(stream, zfsStreamEnd)
	payload := strings.Index(stream, "payload-in-the-stream")
	if body <= 0 || end < body || payload < body {
		t.Fatalf("stream layout: body at %d, end at %d, payload at %d", body, end, payload)
	}
	flip := func(at int) string {
		b := []byte(stream)
		b[at] ^= 0x20
		return string(b)
	}

	const incomplete = "cannot receive new filesystem stream: incomplete stream\n"
	const mismatch = "cannot receive new filesystem stream: checksum mismatch\n"
	cases := []struct {
		name, stdin, err string
	}{
		{"cut in the header", stream[:body-3], "cannot receive: failed to read from stream\n"},
		{"cut after the header", stream[:body], incomplete},
		{"cut in a file", stream[:payload+4], incomplete},
		{"cut at the end marker", stream[:end], incomplete},
		{"cut in the sum", stream[:len(stream)-8], incomplete},
		{"a file's byte changed", flip(payload + 2), mismatch},
		{"an entry's header changed", flip(body + 600), mismatch},
		{"the end marker changed", flip(end + 3), mismatch},
		{"the sum changed", flip(len(stream) - 5), mismatch},
		{"a header that is not JSON", zfsStreamMagic + "{\n" + stream[body:],
			"cannot receive: invalid stream (checksum mismatch)\n"},
		{"a header without a snapshot", zfsStreamMagic + `{"snapshot":"tank"}` + "\n" +
			stream[body:], "cannot receive: invalid stream (bad snapshot name)\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			zfsCase{args: []string{"recv", copyDS}, stdin: tc.stdin, err: tc.err,
				status: 1}.check(t, s)
			zfsCase{args: []string{"list", "-H", "-o", "name", copyDS},
				err:    "cannot open '" + copyDS + "': dataset does not exist\n",
				status: 1}.check(t, s)
			if names := looseNames(t, s); len(names) != 0 {
				t.Fatalf("loose datasets left: %v", names)
			}
			noStaging(t, s)
		})
	}

	// The same stream, whole, still receives: nothing above was left half made.
	zfsCase{args: []string{"recv", copyDS}, stdin: stream}.check(t, s)
}

func TestZFSStreamThroughPipe(t *testing.T) {
	t.Parallel()
	s, c := zfsServer(t, Options{})
	a, b := datasetOf("px-a"), datasetOf("px-b")
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB, far more than a pipe holds
	writeTree(t, s, "px-a", "/big", big)
	mustZFS(t, s, "snapshot", a+"@one")

	j := c.cronJobRun("zfs send '"+a+"@one' | zfs recv tank/.ix-virt/big", cronOpts{})
	if j.State != jobSuccess {
		t.Fatalf("send | recv: %s %s, logs %q", j.State, deref(j.Error), deref(j.Logs))
	}
	got, err := os.ReadFile(filepath.Join(s.opts.Dir, datasetsDir, "1", "rootfs", "big"))
	if err != nil || string(got) != big {
		t.Fatalf("received /big: %d bytes, %v; want %d", len(got), err, len(big))
	}

	// A receiver that refuses before reading must not leave the sender stuck on a full pipe.
	j = c.cronJobRun("zfs send '"+a+"@one' | zfs recv '"+b+"'", cronOpts{})
	logs := deref(j.Logs)
	if j.State != jobFailed ||
		!strings.Contains(logs, "cannot receive new filesystem stream: destination '"+b+
			"' exists\nmust specify -F to overwrite it\n") ||
		!strings.Contains(logs, "warning: cannot send '"+a+"@one': Broken pipe\n") {
		t.Fatalf("send | recv onto an existing dataset: %s %s, logs %q", j.State,
			deref(j.Error), logs)
	}
	noStaging(t, s, "1")
}

// TestZFSSendHoldsItsSnapshot: while a send's stream is still going out, its snapshot cannot
// be destroyed, through the CLI or the API; once the stream is out, it can.
func TestZFSSendHoldsItsSnapshot(t *testing.T) {
	t.Parallel()
	s, c := zfsServer(t, Options{})
	a := datasetOf("px-a")
	shapeTree(t, s, "px-a")
	mustZFS(t, s, "snapshot", a+"@one")

	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		var errb bytes.Buffer
		done <- s.zfs([]string{"send", a + "@one"}, strings.NewReader(""), pw, &errb)
		pw.Close()
	}()
	// The first bytes mean the send holds the snapshot and is blocked on the pipe.
	if _, err := io.ReadFull(pr, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	zfsCase{args: []string{"destroy", a + "@one"}, status: 1,
		err: "cannot destroy snapshot " + a + "@one: dataset is busy\n"}.check(t, s)
	m := c.call(snapshotMethod(s, "delete"), a+"@one")
	if m.Error == nil || m.Error.Data == nil || m.Error.Data.Errname != "EBUSY" ||
		!strings.Contains(m.Error.Data.Reason, "dataset is busy") {
		t.Fatalf("API delete during a send = %+v", m.Error)
	}

	if _, err := io.Copy(io.Discard, pr); err != nil {
		t.Fatal(err)
	}
	if status := <-done; status != 0 {
		t.Fatalf("send status %d", status)
	}
	mustZFS(t, s, "destroy", a+"@one")
}
