package sim

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cloneScript is the script the pixels client sends to replace dst's tree with the tree of
// snapshot src (one line, joined with "; ", a literal tab in IFS).
func cloneScript(src, dst string) string {
	label := src[strings.Index(src, "@")+1:]
	return strings.Join([]string{
		"set -eu",
		"src='" + src + "'",
		"dst='" + dst + "'",
		`tmp="$dst.pixels-new"`,
		`old="$dst.pixels-old"`,
		`trap 'zfs destroy -r "$tmp" >/dev/null 2>&1 || true' EXIT`,
		`props=$(zfs get -H -s local -o property,value all "$dst")`,
		`zfs send "$src" | zfs recv "$tmp"`,
		`zfs destroy "$tmp@` + label + `"`,
		`zfs rename "$dst" "$old"`,
		`zfs rename "$tmp" "$dst" || { zfs rename "$old" "$dst"; exit 1; }`,
		`zfs destroy -r "$old" || echo "pixels-warning: could not remove $old"`,
		`echo "$props" | while IFS='	' read -r p v; do [ -z "$p" ] || zfs set "$p=$v" "$dst" ||` +
			` echo "pixels-warning: could not set $p on $dst"; done`,
	}, "; ")
}

func TestCloneScriptOnEveryGeneration(t *testing.T) {
	t.Parallel()
	for _, gen := range generations {
		t.Run(gen, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Options{Version: gen})
			c := login(t, s)
			makeContainer(t, s, c, "px-a", true)
			makeContainer(t, s, c, "px-b", false)
			srcDS, dstDS := s.dataset("px-a"), s.dataset("px-b")
			keyBefore, err := os.ReadFile(filepath.Join(s.containerDir("px-b"), hostKeyFile))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}

			writeTree(t, s, "px-a", "/srv.txt", "v1\n")
			if j := c.cronJobRun("zfs snapshot '"+srcDS+"@clean'", cronOpts{}); j.State != jobSuccess {
				t.Fatalf("zfs snapshot: %s %s", j.State, deref(j.Error))
			}
			writeTree(t, s, "px-a", "/srv.txt", "v2\n")
			writeTree(t, s, "px-b", "/mine.txt", "b\n")
			propsBefore := mustZFS(t, s, "get", "-H", "-s", "local", "-o", "property,value",
				"all", dstDS)

			j := c.cronJobRun(cloneScript(srcDS+"@clean", dstDS), cronOpts{stdout: true})
			if j.State != jobSuccess || deref(j.Logs) != "" {
				t.Fatalf("clone: %s %s, logs %q", j.State, deref(j.Error), deref(j.Logs))
			}

			if got, err := readTree(t, s, "px-b", "/srv.txt"); err != nil || got != "v1\n" {
				t.Fatalf("px-b /srv.txt = %q, %v (want the checkpoint's v1)", got, err)
			}
			if _, err := readTree(t, s, "px-b", "/mine.txt"); err == nil {
				t.Fatalf("px-b kept a file of its old tree")
			}
			if got, _ := readTree(t, s, "px-a", "/srv.txt"); got != "v2\n" {
				t.Fatalf("px-a /srv.txt = %q, want its own v2", got)
			}
			if labels := snapshotLabels(t, s, c, dstDS); len(labels) != 0 {
				t.Fatalf("px-b snapshots %v, want none", labels)
			}
			if labels := snapshotLabels(t, s, c, srcDS); !slices.Equal(labels, []string{"clean"}) {
				t.Fatalf("px-a snapshots %v, want [clean]", labels)
			}
			if props := mustZFS(t, s, "get", "-H", "-s", "local", "-o", "property,value",
				"all", dstDS); props != propsBefore {
				t.Fatalf("px-b local properties %q, want %q", props, propsBefore)
			}
			if (propsBefore != "") == s.ver.gen26 {
				t.Fatalf("px-b local properties before the clone: %q", propsBefore)
			}
			if names := looseNames(t, s); len(names) != 0 {
				t.Fatalf("loose datasets left: %v", names)
			}
			keyAfter, _ := os.ReadFile(filepath.Join(s.containerDir("px-b"), hostKeyFile))
			if string(keyAfter) != string(keyBefore) {
				t.Fatalf("px-b's host key changed with its dataset")
			}
			if reason := startContainer(t, s, c, "px-b"); reason != "" {
				t.Fatalf("starting px-b after the clone: %s", reason)
			}
			l, err := ReadLeftovers(s.opts.Dir)
			if err != nil || l.CronJobs != 0 {
				t.Fatalf("leftovers %+v, %v", l, err)
			}
		})
	}
}

func TestCloneScriptFailuresLeaveNothing(t *testing.T) {
	t.Parallel()
	for _, gen := range []string{"25.04", "26-rc"} {
		t.Run(gen, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Options{Version: gen})
			c := login(t, s)
			makeContainer(t, s, c, "px-a", false)
			makeContainer(t, s, c, "px-b", true)
			srcDS, dstDS := s.dataset("px-a"), s.dataset("px-b")
			mustZFS(t, s, "snapshot", srcDS+"@clean")
			writeTree(t, s, "px-b", "/mine.txt", "b\n")

			cases := []struct {
				name, src, dst, want string
			}{
				{"missing snapshot", srcDS + "@nope", dstDS,
					"cannot open '" + srcDS + "@nope': dataset does not exist"},
				{"destination running", srcDS + "@clean", dstDS,
					"cannot unmount '"},
				{"missing destination", srcDS + "@clean", s.dataset("px-zzz"),
					"cannot open '" + s.dataset("px-zzz") + "': dataset does not exist"},
			}
			for _, tc := range cases {
				j := c.cronJobRun(cloneScript(tc.src, tc.dst), cronOpts{})
				if j.State != jobFailed || !strings.Contains(deref(j.Logs), tc.want) ||
					!strings.Contains(deref(j.Error), "exited with 1 (non-zero) exit status.") {
					t.Fatalf("%s: %s %q, logs %q", tc.name, j.State, deref(j.Error), deref(j.Logs))
				}
				if names := looseNames(t, s); len(names) != 0 {
					t.Fatalf("%s: loose datasets left: %v", tc.name, names)
				}
				if got, err := readTree(t, s, "px-b", "/mine.txt"); err != nil || got != "b\n" {
					t.Fatalf("%s: px-b lost its tree: %q, %v", tc.name, got, err)
				}
			}
			entries, err := os.ReadDir(filepath.Join(s.opts.Dir, datasetsDir))
			if err != nil && !os.IsNotExist(err) || len(entries) != 0 {
				t.Fatalf("files of loose datasets left: %v, %v", entries, err)
			}
		})
	}
}
