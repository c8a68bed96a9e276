package ssh

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runWriteScript runs writeScript in the local POSIX shell, as WriteFile runs it remotely.
func runWriteScript(t *testing.T, p, mode string, data []byte) (string, error) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	cmd := exec.Command(sh, "-c", writeScript, "pixels-write", p, mode,
		fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()))
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	return stderr.String(), err
}

func TestWriteScript(t *testing.T) {
	dir := t.TempDir()
	leftovers := func(t *testing.T, d string) {
		t.Helper()
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".pixels-write.") {
				t.Errorf("temporary file %s left behind", e.Name())
			}
		}
	}

	t.Run("creates parents, sets the mode", func(t *testing.T) {
		p := filepath.Join(dir, "a", "b", "f")
		if msg, err := runWriteScript(t, p, "0640", []byte("one\n")); err != nil {
			t.Fatalf("%v: %s", err, msg)
		}
		got, _ := os.ReadFile(p)
		st, _ := os.Stat(p)
		if string(got) != "one\n" || st.Mode().Perm() != 0o640 {
			t.Errorf("file = %q mode %v", got, st.Mode())
		}
		leftovers(t, filepath.Dir(p))
	})

	t.Run("empty content makes an empty file", func(t *testing.T) {
		p := filepath.Join(dir, "empty")
		if msg, err := runWriteScript(t, p, "0600", nil); err != nil {
			t.Fatalf("%v: %s", err, msg)
		}
		if st, err := os.Stat(p); err != nil || st.Size() != 0 {
			t.Errorf("stat = %v, %v", st, err)
		}
	})

	t.Run("a link at the path is replaced, its target untouched", func(t *testing.T) {
		target := filepath.Join(dir, "target")
		os.WriteFile(target, []byte("keep\n"), 0o644)
		link := filepath.Join(dir, "link")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		dangling := filepath.Join(dir, "dangling")
		if err := os.Symlink(filepath.Join(dir, "nowhere", "x"), dangling); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{link, dangling} {
			if msg, err := runWriteScript(t, p, "0644", []byte("new\n")); err != nil {
				t.Fatalf("%s: %v: %s", p, err, msg)
			}
			if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
				t.Errorf("%s is %v after the write (%v), want a regular file", p, st, err)
			}
		}
		if got, _ := os.ReadFile(target); string(got) != "keep\n" {
			t.Errorf("the link's target became %q", got)
		}
		if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
			t.Error("the dangling link's target directory was created")
		}
	})

	t.Run("a directory is refused and left alone", func(t *testing.T) {
		d := filepath.Join(dir, "d")
		os.Mkdir(d, 0o755)
		msg, err := runWriteScript(t, d, "0644", []byte("x\n"))
		if err == nil || !strings.Contains(msg, "is a directory") {
			t.Errorf("write to a directory = %v, %q", err, msg)
		}
		if ents, _ := os.ReadDir(d); len(ents) != 0 {
			t.Errorf("directory holds %d entries after the refused write", len(ents))
		}
	})

	t.Run("a failed write keeps the old file and cleans up", func(t *testing.T) {
		p := filepath.Join(dir, "keep")
		os.WriteFile(p, []byte("old\n"), 0o644)
		if _, err := runWriteScript(t, p, "notamode", []byte("new\n")); err == nil {
			t.Fatal("a bad mode was accepted")
		}
		if got, _ := os.ReadFile(p); string(got) != "old\n" {
			t.Errorf("file = %q after a failed write", got)
		}
		leftovers(t, dir)
	})
}
