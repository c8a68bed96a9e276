package sim

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// zfsCase is one zfs command line and what it must print and return.
type zfsCase struct {
	args     []string
	stdin    string
	out, err string // exact, unless prefixed with "~" (substring)
	status   int
}

// check runs the case and reports a mismatch.
func (zc zfsCase) check(t *testing.T, s *Server) {
	t.Helper()
	out, errb, status := zfsRun(s, zc.stdin, zc.args...)
	match := func(got, want string) bool {
		if rest, ok := strings.CutPrefix(want, "~"); ok {
			return strings.Contains(got, rest)
		}
		return got == want
	}
	if status != zc.status || !match(out, zc.out) || !match(errb, zc.err) {
		t.Errorf("zfs %s:\n got %d stdout %q stderr %q\nwant %d stdout %q stderr %q",
			strings.Join(zc.args, " "), status, out, errb, zc.status, zc.out, zc.err)
	}
}

// zfsServer starts a 25.04 simulator with px-a running and px-b stopped.
func zfsServer(t *testing.T, opts Options) (*Server, *testClient) {
	t.Helper()
	s := startServer(t, opts)
	c := login(t, s)
	makeContainer(t, s, c, "px-a", true)
	makeContainer(t, s, c, "px-b", false)
	return s, c
}

func TestZFSUsageAndList(t *testing.T) {
	t.Parallel()
	s, _ := zfsServer(t, Options{})
	a, b := datasetOf("px-a"), datasetOf("px-b")
	mustZFS(t, s, "snapshot", a+"@one")
	for _, zc := range []zfsCase{
		{args: nil, err: "~usage: zfs command args ...", status: 2},
		{args: []string{"frob"}, err: "~unrecognized command 'frob'\nusage:", status: 2},
		{args: []string{"clone", a + "@one", "tank/c"}, err: "~cannot run 'zfs clone'", status: 1},
		{args: []string{"list", "-H", "-o", "name"}, out: "tank\ntank/.ix-virt\n" +
			"tank/.ix-virt/containers\n" + a + "\n" + b + "\n"},
		{args: []string{"list", "-H", "-o", "name", "-t", "snapshot"}, out: a + "@one\n"},
		{args: []string{"list", "-Ho", "name,type", "-t", "all", a}, out: a + "\tfilesystem\n" +
			a + "@one\tsnapshot\n"},
		{args: []string{"list", "-H", "-o", "name", "-r", "tank/.ix-virt/containers"},
			out: "tank/.ix-virt/containers\n" + a + "\n" + b + "\n"},
		{args: []string{"list", "-H", "-o", "name", a + "@one", "tank/nope", b},
			out: a + "@one\n" + b + "\n",
			err: "cannot open 'tank/nope': dataset does not exist\n", status: 1},
		{args: []string{"list", "-o", "name,mountpoint", b}, out: "NAME                      " +
			"     MOUNTPOINT\n" + b + "  legacy\n"},
		{args: []string{"list", "-t", "bogus"}, err: "~invalid type 'bogus'\nusage:", status: 2},
		{args: []string{"list", "-o", "bogus"}, err: "~bad property list: invalid property " +
			"'bogus'\nusage:", status: 2},
		{args: []string{"list", "-x"}, err: "~invalid option 'x'\nusage:", status: 2},
		{args: []string{"list", "-o"}, err: "~missing argument for 'o' option", status: 2},
		{args: []string{"list", "-s", "name"}, err: "the simulator does not support " +
			"'zfs list -s'\n", status: 2},
	} {
		zc.check(t, s)
	}
}

func TestZFSGetAndSet(t *testing.T) {
	t.Parallel()
	s, _ := zfsServer(t, Options{})
	a, b := datasetOf("px-a"), datasetOf("px-b")
	mustZFS(t, s, "snapshot", a+"@one")
	for _, zc := range []zfsCase{
		{args: []string{"get", "-H", "-o", "value", "type", a}, out: "filesystem\n"},
		{args: []string{"get", "-H", "-o", "value", "mountpoint", a}, out: "legacy\n"},
		{args: []string{"get", "-H", "-o", "value", "canmount", a}, out: "noauto\n"},
		{args: []string{"get", "-H", "-o", "value", "mounted", a}, out: "yes\n"},
		{args: []string{"get", "-H", "-o", "value", "mounted", b}, out: "no\n"},
		{args: []string{"get", "-H", "-o", "value", "origin", a}, out: "-\n"},
		{args: []string{"get", "-H", "-o", "value", "mountpoint", "tank/.ix-virt"},
			out: "/mnt/tank/.ix-virt\n"},
		{args: []string{"get", "-H", "-o", "value,source", "compression", b},
			out: "lz4\tinherited from tank\n"},
		{args: []string{"get", "-H", "-s", "local", "-o", "property,value", "all", a},
			out: "mountpoint\tlegacy\ncanmount\tnoauto\n"},
		{args: []string{"get", "-H", "-o", "name,value", "type,createtxg", a + "@one"},
			out: "~" + a + "@one\tsnapshot\n" + a + "@one\t"},
		{args: []string{"get", "-Hp", "-o", "value", "used", "tank"}, out: "~"},
		{args: []string{"get", "-H", "-o", "value", "type", "tank/nope"},
			err: "cannot open 'tank/nope': dataset does not exist\n", status: 1},
		{args: []string{"get"}, err: "~missing property argument\nusage:", status: 2},
		{args: []string{"get", "bogus", a}, err: "~bad property list: invalid property 'bogus'",
			status: 2},
		{args: []string{"get", "-o", "bogus", "type", a}, err: "~invalid column name 'bogus'",
			status: 2},
		{args: []string{"get", "-s", "bogus", "type", a}, err: "~invalid source 'bogus'",
			status: 2},

		{args: []string{"set", "mountpoint=/mnt/elsewhere", "org.pixels:role=web", b}},
		{args: []string{"get", "-H", "-o", "property,value,source", "mountpoint,org.pixels:role",
			b}, out: "mountpoint\t/mnt/elsewhere\tlocal\norg.pixels:role\tweb\tlocal\n"},
		{args: []string{"set", "foo=bar", b},
			err: "cannot set property for '" + b + "': invalid property 'foo'\n", status: 1},
		{args: []string{"set", "used=1", b},
			err: "cannot set property for '" + b + "': 'used' is readonly\n", status: 1},
		{args: []string{"set", "canmount=maybe", b}, err: "cannot set property for '" + b +
			"': 'canmount' must be one of 'on | off | noauto'\n", status: 1},
		{args: []string{"set", "mountpoint=relative", b}, err: "~must be an absolute path",
			status: 1},
		{args: []string{"set", "canmount=on", a + "@one"}, err: "~can not be modified for " +
			"snapshots", status: 1},
		{args: []string{"set", "canmount=on", "tank/nope"}, err: "~dataset does not exist",
			status: 1},
		{args: []string{"set", b}, err: "~missing property=value argument(s)", status: 2},
		{args: []string{"set", "canmount=on"}, err: "~missing dataset name(s)", status: 2},
		{args: []string{"set", b, "canmount=on"}, err: "~invalid argument order", status: 2},
	} {
		zc.check(t, s)
	}
}

func TestZFSSnapshotRollbackDestroy(t *testing.T) {
	t.Parallel()
	s, c := zfsServer(t, Options{})
	a, b := datasetOf("px-a"), datasetOf("px-b")
	writeTree(t, s, "px-b", "/v.txt", "one")
	mustZFS(t, s, "snapshot", b+"@one")
	writeTree(t, s, "px-b", "/v.txt", "two")
	mustZFS(t, s, "snap", b+"@two")
	writeTree(t, s, "px-b", "/v.txt", "three")

	var listed []snapEntry
	c.mustCall(&listed, "zfs.snapshot.query", []any{[]any{"id", "=", b + "@two"}})
	if len(listed) != 1 || listed[0].Properties["createtxg"].Value == "" ||
		listed[0].Properties["creation"].Rawvalue == "" {
		t.Fatalf("a zfs snapshot in the API: %+v", listed)
	}

	for _, zc := range []zfsCase{
		{args: []string{"snapshot", b + "@one"},
			err: "cannot create snapshot '" + b + "@one': dataset already exists\n", status: 1},
		{args: []string{"snapshot", b + "@bad label"}, err: "cannot create snapshot '" + b +
			"@bad label': invalid character ' ' in name\n", status: 1},
		{args: []string{"snapshot", "tank/nope@x"},
			err: "~cannot open 'tank/nope': dataset does not exist\nusage:", status: 2},
		{args: []string{"snapshot", b}, err: "~usage:", status: 2},
		{args: []string{"snapshot"}, err: "~missing snapshot argument", status: 2},
		{args: []string{"rollback", b + "@one"}, err: "cannot rollback to '" + b + "@one': more " +
			"recent snapshots or bookmarks exist\nuse '-r' to force deletion of the following " +
			"snapshots and bookmarks:\n" + b + "@two\n", status: 1},
		{args: []string{"rollback", b + "@nope"},
			err: "cannot open '" + b + "@nope': dataset does not exist\n", status: 1},
		{args: []string{"rollback", b}, err: "~operation not applicable to datasets of this type",
			status: 1},
		{args: []string{"rollback", b + "@two"}},
	} {
		zc.check(t, s)
	}
	if got, _ := readTree(t, s, "px-b", "/v.txt"); got != "two" {
		t.Fatalf("after rollback to the newest: %q", got)
	}
	mustZFS(t, s, "rollback", "-r", b+"@one")
	if got, _ := readTree(t, s, "px-b", "/v.txt"); got != "one" {
		t.Fatalf("after rollback -r: %q", got)
	}
	if labels := snapshotLabels(t, s, c, b); !slices.Equal(labels, []string{"one"}) {
		t.Fatalf("snapshots after rollback -r: %v", labels)
	}

	mustZFS(t, s, "snapshot", b+"@x", b+"@y")
	for _, zc := range []zfsCase{
		{args: []string{"destroy", b + "@nope"},
			err: "could not find any snapshots to destroy; check snapshot names.\n", status: 1},
		{args: []string{"destroy", "tank/nope@x"},
			err: "cannot open 'tank/nope': dataset does not exist\n", status: 1},
		{args: []string{"destroy", b + "@x,nope,y"}},
		{args: []string{"destroy", b}, err: "cannot destroy '" + b + "': filesystem has " +
			"children\nuse '-r' to destroy the following datasets:\n" + b + "@one\n", status: 1},
		{args: []string{"destroy", "-r", a}, err: "cannot unmount '/var/lib/incus/storage-pools/" +
			"tank/containers/px-a': pool or dataset is busy\n", status: 1},
		{args: []string{"destroy", "tank"}, err: "~operation does not apply to pools", status: 1},
		{args: []string{"destroy", "tank/.ix-virt/containers"},
			err: "~filesystem has children\nuse '-r' to destroy the following datasets:\n" +
				a + "\n" + b + "\n", status: 1},
		{args: []string{"destroy", "-r", "tank/.ix-virt"}, err: "~keeps its pool layout",
			status: 1},
		{args: []string{"destroy", "-n", b}, err: "~does not support", status: 2},
		{args: []string{"destroy"}, err: "~missing dataset argument", status: 2},
	} {
		zc.check(t, s)
	}
	if labels := snapshotLabels(t, s, c, b); !slices.Equal(labels, []string{"one"}) {
		t.Fatalf("snapshots after destroying x and y: %v", labels)
	}
	if _, err := os.Stat(filepath.Join(s.containerDir("px-b"), "snapshots", "x")); err == nil {
		t.Fatalf("the copy of a destroyed snapshot stayed")
	}
}

func TestZFSSendReceiveRename(t *testing.T) {
	t.Parallel()
	s, c := zfsServer(t, Options{})
	a, b := datasetOf("px-a"), datasetOf("px-b")
	copyDS := "tank/.ix-virt/copy"
	writeTree(t, s, "px-a", "/v.txt", "one")
	mustZFS(t, s, "snapshot", a+"@one")
	writeTree(t, s, "px-a", "/v.txt", "later")
	stream := mustZFS(t, s, "send", a+"@one")
	if !strings.HasPrefix(stream, zfsStreamMagic) {
		t.Fatalf("send wrote %q", stream)
	}

	for _, zc := range []zfsCase{
		{args: []string{"recv", "-v", "-o", "org.pixels:from=px-a", copyDS}, stdin: stream,
			out: "receiving full stream of " + a + "@one into " + copyDS + "@one\n"},
		{args: []string{"recv", copyDS}, stdin: stream, err: "cannot receive new filesystem " +
			"stream: destination '" + copyDS + "' exists\nmust specify -F to overwrite it\n",
			status: 1},
		{args: []string{"recv", "tank/x"}, err: "cannot receive: failed to read from stream\n",
			status: 1},
		{args: []string{"recv", "tank/x"}, stdin: "hello\n",
			err: "cannot receive: invalid stream (bad magic number)\n", status: 1},
		{args: []string{"recv", "tank/nope/x"}, stdin: stream, err: "cannot open 'tank/nope': " +
			"dataset does not exist\ncannot receive new filesystem stream: unable to restore " +
			"to destination\n", status: 1},
		{args: []string{"recv", copyDS + "/deeper"}, stdin: stream,
			err: "~the simulator keeps datasets only directly below", status: 1},
		{args: []string{"recv", "-F", "tank/x"}, err: "~does not support", status: 2},
		{args: []string{"send", a + "@nope"},
			err: "cannot open '" + a + "@nope': dataset does not exist\n", status: 1},
		{args: []string{"send", a}, err: "~sends snapshots only", status: 1},
		{args: []string{"send", "-R", a + "@one"}, err: "~does not support", status: 2},
		{args: []string{"get", "-H", "-o", "value", "mounted,mountpoint,org.pixels:from",
			copyDS}, out: "yes\n/mnt/tank/.ix-virt/copy\npx-a\n"},
		{args: []string{"list", "-H", "-o", "name", "-t", "all", "-r", copyDS},
			out: copyDS + "\n" + copyDS + "@one\n"},
	} {
		zc.check(t, s)
	}
	if names := looseNames(t, s); !slices.Equal(names, []string{copyDS}) {
		t.Fatalf("loose datasets %v", names)
	}
	if labels := snapshotLabels(t, s, c, copyDS); !slices.Equal(labels, []string{"one"}) {
		t.Fatalf("snapshots of the received dataset: %v", labels)
	}
	if _, _, status := zfsRun(s, stream, "recv", "-u", "-o", "mountpoint=legacy",
		"tank/quiet@kept"); status != 0 {
		t.Fatalf("recv -u -o into a new name failed")
	}
	zfsCase{args: []string{"list", "-H", "-o", "name,mounted,mountpoint", "-t", "all",
		"-r", "tank/quiet"}, out: "tank/quiet\tno\tlegacy\ntank/quiet@kept\t-\t-\n"}.check(t, s)

	for _, zc := range []zfsCase{
		{args: []string{"rename", copyDS, "tank/.ix-virt/copy2"}},
		{args: []string{"list", "-H", "-o", "name", "-t", "all", "-r", "tank/.ix-virt/copy2"},
			out: "tank/.ix-virt/copy2\ntank/.ix-virt/copy2@one\n"},
		{args: []string{"rename", copyDS, "tank/y"},
			err: "cannot open '" + copyDS + "': dataset does not exist\n", status: 1},
		{args: []string{"rename", "tank/.ix-virt/copy2", b},
			err: "cannot rename 'tank/.ix-virt/copy2': dataset already exists\n", status: 1},
		{args: []string{"rename", a, "tank/moved"}, err: "cannot unmount '/var/lib/incus/" +
			"storage-pools/tank/containers/px-a': pool or dataset is busy\n", status: 1},
		{args: []string{"rename", "tank/quiet", "other/quiet"},
			err: "cannot rename to 'other/quiet': datasets must be within same pool\n", status: 1},
		{args: []string{"rename", "tank/quiet", "tank/nope/quiet"},
			err: "cannot create 'tank/nope/quiet': parent does not exist\n", status: 1},
		{args: []string{"rename", "tank/quiet", "tank/quiet/deeper"}, err: "cannot rename to " +
			"'tank/quiet/deeper': New dataset name cannot be a descendant of current dataset " +
			"name\n", status: 1},
		{args: []string{"rename", "tank/.ix-virt", "tank/virt"}, err: "~keeps its pool layout",
			status: 1},
		{args: []string{"rename", a + "@one", a + "@two"}, err: "~does not rename snapshots",
			status: 1},
		{args: []string{"rename", "tank/quiet"}, err: "~missing target dataset argument",
			status: 2},
	} {
		zc.check(t, s)
	}
	tree := filepath.Join(s.opts.Dir, datasetsDir, "1", "rootfs")
	if got, err := os.ReadFile(filepath.Join(tree, "v.txt")); err != nil || string(got) != "one" {
		t.Fatalf("the received tree: %q, %v", got, err)
	}
}

func TestZFSContainerWithoutDataset(t *testing.T) {
	t.Parallel()
	for _, gen := range []string{"25.04", "26"} {
		t.Run(gen, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Options{Version: gen})
			c := login(t, s)
			makeContainer(t, s, c, "px-a", false)
			makeContainer(t, s, c, "px-b", false)
			a, b := s.dataset("px-a"), s.dataset("px-b")
			writeTree(t, s, "px-a", "/who", "a")
			writeTree(t, s, "px-b", "/who", "b")
			mustZFS(t, s, "snapshot", b+"@keep")
			keyFile := filepath.Join(s.containerDir("px-b"), hostKeyFile)
			if reason := startContainer(t, s, c, "px-b"); reason != "" {
				t.Fatal(reason)
			}
			stopContainer(t, s, c, "px-b")
			key, err := os.ReadFile(keyFile)
			if err != nil {
				t.Fatal(err)
			}

			// Renamed away, the tree and its snapshot go; the container stays without a root.
			mustZFS(t, s, "rename", b, b+".away")
			if reason := startContainer(t, s, c, "px-b"); !strings.Contains(reason,
				"'"+b+"'") || !strings.Contains(reason, "does not exist") {
				t.Fatalf("starting a container without its dataset: %q", reason)
			}
			if _, err := readTree(t, s, "px-b", "/who"); err == nil {
				t.Fatalf("a container without its dataset has files")
			}
			if s.ver.gen26 {
				m := c.call("filesystem.file_receive", lxcPrefix+"px-b/etc/x", "eA==")
				if m.Error == nil || !strings.Contains(m.Error.Data.Reason, "No such file") {
					t.Fatalf("writing into a container without its dataset: %+v", m.Error)
				}
			}
			if labels := snapshotLabels(t, s, c, b+".away"); !slices.Equal(labels,
				[]string{"keep"}) {
				t.Fatalf("snapshots of the moved dataset: %v", labels)
			}
			if _, err := CommandLog(s.opts.Dir, "px-b"); err != nil {
				t.Fatalf("command log of a container without its dataset: %v", err)
			}
			if _, err := os.Stat(filepath.Join(s.containerDir("px-b"), "rootfs")); err == nil {
				t.Fatalf("reading the command log brought a tree back")
			}

			// Renamed back onto its name, the container has that tree and its snapshots,
			// and keeps its own host key.
			mustZFS(t, s, "rename", a, b)
			if reason := startContainer(t, s, c, "px-b"); reason != "" {
				t.Fatalf("starting px-b with px-a's former dataset: %s", reason)
			}
			if got, _ := readTree(t, s, "px-b", "/who"); got != "a" {
				t.Fatalf("px-b's tree after the rename: %q", got)
			}
			if got, _ := os.ReadFile(keyFile); string(got) != string(key) {
				t.Fatalf("px-b's host key changed")
			}
			stopContainer(t, s, c, "px-b")

			// A destroyed dataset leaves the container deletable.
			if reason := startContainer(t, s, c, "px-a"); reason == "" {
				t.Fatalf("px-a started without its dataset")
			}
			mustZFS(t, s, "destroy", "-r", b+".away")
			if names := looseNames(t, s); len(names) != 0 {
				t.Fatalf("loose datasets left: %v", names)
			}
			if !s.ver.gen26 {
				c.mustJob("virt.instance.delete", "px-a")
			} else {
				c.mustCall(nil, "container.delete", containerID(t, c, "px-a"))
			}
			if _, err := os.Stat(s.containerDir("px-a")); err == nil {
				t.Fatalf("px-a's directory stayed after delete")
			}
		})
	}
}

func TestZFSOn26RCGoesAroundTheAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{Version: "26-rc"})
	c := login(t, s)
	makeContainer(t, s, c, "px-a", false)
	ds := s.dataset("px-a")

	m := c.call("pool.snapshot.create", map[string]any{"dataset": ds, "name": "api"})
	if m.Error == nil || !strings.Contains(m.Error.Data.Reason, "is a protected path") {
		t.Fatalf("API snapshot on 26-rc: %+v", m.Error)
	}
	writeTree(t, s, "px-a", "/v", "one")
	for _, script := range []string{"zfs snapshot '" + ds + "@one'", "zfs snapshot '" + ds +
		"@two'"} {
		if j := c.cronJobRun(script, cronOpts{}); j.State != jobSuccess {
			t.Fatalf("%s: %s %s %s", script, j.State, deref(j.Error), deref(j.Logs))
		}
	}
	writeTree(t, s, "px-a", "/v", "changed")

	var byDataset, byID, all []snapEntry
	c.mustCall(&byDataset, "pool.snapshot.query", []any{[]any{"dataset", "=", ds}})
	c.mustCall(&byID, "pool.snapshot.query", []any{[]any{"id", "=", ds + "@one"}})
	c.mustCall(&all, "pool.snapshot.query")
	if len(byDataset) != 2 || len(byID) != 1 || len(all) != 0 ||
		byID[0].Properties["createtxg"].Value == "" {
		t.Fatalf("queries: by dataset %+v, by id %+v, unfiltered %+v", byDataset, byID, all)
	}
	m = c.call("pool.snapshot.rollback", ds+"@one")
	if m.Error == nil || !strings.Contains(m.Error.Data.Reason, "is a protected path") {
		t.Fatalf("API rollback on 26-rc: %+v", m.Error)
	}

	j := c.cronJobRun("zfs rollback '"+ds+"@one'", cronOpts{})
	if j.State != jobFailed || !strings.Contains(deref(j.Logs), "more recent snapshots") {
		t.Fatalf("rollback past a newer snapshot: %s %q", j.State, deref(j.Logs))
	}
	if j := c.cronJobRun("zfs rollback -r '"+ds+"@one'", cronOpts{}); j.State != jobSuccess {
		t.Fatalf("rollback -r: %s %s", j.State, deref(j.Logs))
	}
	if got, _ := readTree(t, s, "px-a", "/v"); got != "one" {
		t.Fatalf("tree after rollback: %q", got)
	}
	if j := c.cronJobRun("zfs destroy '"+ds+"@one'", cronOpts{}); j.State != jobSuccess {
		t.Fatalf("destroy: %s %s", j.State, deref(j.Logs))
	}
	if labels := snapshotLabels(t, s, c, ds); len(labels) != 0 {
		t.Fatalf("snapshots left: %v", labels)
	}
}

func TestLooseDatasetsPersist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, err := New(Options{Dir: dir, Faults: "job_time=5ms"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := login(t, s1)
	makeContainer(t, s1, c, "px-a", false)
	writeTree(t, s1, "px-a", "/v", "kept")
	mustZFS(t, s1, "snapshot", datasetOf("px-a")+"@one")
	stream := mustZFS(t, s1, "send", datasetOf("px-a")+"@one")
	if _, errb, status := zfsRun(s1, stream, "recv", "tank/.ix-virt/containers/leak"); status != 0 {
		t.Fatal(errb)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := ReadLeftovers(dir)
	if err != nil || !slices.Equal(l.Datasets, []string{"tank/.ix-virt/containers/leak"}) {
		t.Fatalf("leftovers %+v, %v", l, err)
	}
	stray := filepath.Join(dir, datasetsDir, "999")
	if err := os.MkdirAll(stray, 0o700); err != nil {
		t.Fatal(err)
	}

	s2 := startServer(t, Options{Dir: dir})
	if _, err := os.Stat(stray); err == nil {
		t.Fatalf("a directory no dataset owns survived the start")
	}
	zfsCase{args: []string{"list", "-H", "-o", "name", "-t", "all", "-r",
		"tank/.ix-virt/containers/leak"}, out: "tank/.ix-virt/containers/leak\n" +
		"tank/.ix-virt/containers/leak@one\n"}.check(t, s2)
	mustZFS(t, s2, "destroy", "-r", "tank/.ix-virt/containers/leak")
	entries, _ := os.ReadDir(filepath.Join(dir, datasetsDir))
	if l, _ := ReadLeftovers(dir); len(l.Datasets) != 0 || len(entries) != 0 {
		t.Fatalf("after destroy: %+v, files %v", l, entries)
	}
}
