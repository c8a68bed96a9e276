package sim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// decode unmarshals a result or fails the test.
func decode(t *testing.T, data json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
}

// generations are the versions every cron and zfs test runs on.
var generations = []string{"25.04", "25.10", "26", "26-rc"}

// makeContainer creates a container through the played generation's API, running or
// stopped.
func makeContainer(t *testing.T, s *Server, c *testClient, name string, running bool) {
	t.Helper()
	if !s.ver.gen26 {
		c.mustJob("virt.instance.create", map[string]any{"name": name, "image": "debian/12",
			"autostart": running})
		return
	}
	image := map[string]any{"name": "debian:bookworm:amd64:default", "version": "20260802_05:24"}
	j := c.mustJob("container.create", map[string]any{"name": name, "image": image,
		"autostart": false})
	if running {
		var e testEntry26
		decode(t, j.Result, &e)
		c.mustCall(nil, "container.start", e.ID)
	}
}

// stopContainer stops a running container through the played generation's API.
func stopContainer(t *testing.T, s *Server, c *testClient, name string) {
	t.Helper()
	if !s.ver.gen26 {
		c.mustJob("virt.instance.stop", name, map[string]any{"timeout": 10})
		return
	}
	c.mustJob("container.stop", containerID(t, c, name), map[string]any{"force": true})
}

// startContainer starts a stopped container, returning the error reason of a refusal ("" on
// success): a failed job on 25.x, a failed call on 26.
func startContainer(t *testing.T, s *Server, c *testClient, name string) string {
	t.Helper()
	if !s.ver.gen26 {
		if j := c.job("virt.instance.start", name); j.State != jobSuccess {
			return deref(j.Error)
		}
		return ""
	}
	if m := c.call("container.start", containerID(t, c, name)); m.Error != nil {
		return m.Error.Data.Reason
	}
	return ""
}

// containerID resolves a 26 container's id.
func containerID(t *testing.T, c *testClient, name string) int {
	t.Helper()
	var list []testEntry26
	c.mustCall(&list, "container.query", []any{[]any{"name", "=", name}})
	if len(list) != 1 {
		t.Fatalf("container %s: %+v", name, list)
	}
	return list[0].ID
}

// snapshotMethod is the snapshot query method of the played generation.
func snapshotMethod(s *Server, op string) string {
	if s.ver.poolAPI {
		return "pool.snapshot." + op
	}
	return "zfs.snapshot." + op
}

// snapshotLabels lists the snapshot labels of a dataset through the API, filtered by dataset.
func snapshotLabels(t *testing.T, s *Server, c *testClient, ds string) []string {
	t.Helper()
	var list []snapEntry
	c.mustCall(&list, snapshotMethod(s, "query"), []any{[]any{"dataset", "=", ds}})
	labels := []string{}
	for _, e := range list {
		labels = append(labels, e.SnapshotName)
	}
	return labels
}

// writeTree writes a file into a container's tree.
func writeTree(t *testing.T, s *Server, name, path, content string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	box, err := s.openBox(name)
	if err == nil {
		err = box.WriteFile(path, []byte(content), 0o644, -1, -1)
	}
	if err != nil {
		t.Fatalf("writing %s in %s: %v", path, name, err)
	}
}

// readTree reads a file from a container's tree.
func readTree(t *testing.T, s *Server, name, path string) (string, error) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	box, err := s.openBox(name)
	if err != nil {
		return "", err
	}
	data, err := box.ReadFile(path)
	return string(data), err
}

// cronOpts are the cronjob.create fields a test may change.
type cronOpts struct {
	stdout, stderr bool
}

// cronJobRun creates a disabled root cron job for script, runs it, deletes it, and
// returns the finished job; the entry keeps both streams unless opts says otherwise.
func (c *testClient) cronJobRun(script string, opts cronOpts) jobEntry {
	c.t.Helper()
	var entry struct {
		ID int `json:"id"`
	}
	c.mustCall(&entry, "cronjob.create", map[string]any{"user": "root", "command": script,
		"description": "pixels test", "enabled": false, "stdout": opts.stdout,
		"stderr": opts.stderr, "schedule": map[string]any{"minute": "00", "hour": "00",
			"dom": "1", "month": "1", "dow": "1"}})
	j := c.job("cronjob.run", entry.ID, false)
	c.mustCall(nil, "cronjob.delete", entry.ID)
	return j
}

// zfsRun runs one zfs command line and returns stdout, stderr and the exit status.
func zfsRun(s *Server, stdin string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	status := s.zfs(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), status
}

// mustZFS runs a zfs command line that must succeed and returns its stdout.
func mustZFS(t *testing.T, s *Server, args ...string) string {
	t.Helper()
	out, errb, status := zfsRun(s, "", args...)
	if status != 0 {
		t.Fatalf("zfs %s: status %d: %s", strings.Join(args, " "), status, errb)
	}
	return out
}

// looseNames lists the loose datasets the state file holds.
func looseNames(t *testing.T, s *Server) []string {
	t.Helper()
	l, err := ReadLeftovers(s.opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return l.Datasets
}
