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
	return runWriteScriptN(t, p, mode, data, len(data))
}

// runWriteScriptN is runWriteScript with the byte count the script is told to expect.
func runWriteScriptN(t *testing.T, p, mode string, data []byte, n int) (string, error) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	cmd := exec.Command(sh, "-c", writeScript, "pixels-write", p, mode,
		fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()), fmt.Sprint(n), "tok")
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

	t.Run("a link to a directory is replaced, the directory kept", func(t *testing.T) {
		d := filepath.Join(dir, "realdir")
		os.Mkdir(d, 0o755)
		link := filepath.Join(dir, "dirlink")
		if err := os.Symlink(d, link); err != nil {
			t.Fatal(err)
		}
		if msg, err := runWriteScript(t, link, "0644", []byte("file\n")); err != nil {
			t.Fatalf("%v: %s", err, msg)
		}
		if st, err := os.Lstat(link); err != nil || !st.Mode().IsRegular() {
			t.Errorf("%s is %v (%v), want a regular file", link, st, err)
		}
		if ents, err := os.ReadDir(d); err != nil || len(ents) != 0 {
			t.Errorf("the linked directory now holds %v (%v)", ents, err)
		}
	})

	t.Run("input cut short keeps the old file", func(t *testing.T) {
		p := filepath.Join(dir, "short")
		os.WriteFile(p, []byte("ORIGINAL\n"), 0o644)
		msg, err := runWriteScriptN(t, p, "0644", []byte("part"), 1000)
		if err == nil || !strings.Contains(msg, "only 4 of 1000 bytes arrived") {
			t.Errorf("short write = %v, %q", err, msg)
		}
		if got, _ := os.ReadFile(p); string(got) != "ORIGINAL\n" {
			t.Errorf("file = %q after a short write", got)
		}
		leftovers(t, dir)
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

func TestCheckWritePath(t *testing.T) {
	for _, p := range []string{"rel/x", "/", "/a/", "/a/.", "/a/..", "/a\x00b", ""} {
		if checkWritePath(p) == nil {
			t.Errorf("checkWritePath(%q) accepted it", p)
		}
	}
	for _, p := range []string{"/a", "/a/b c", "/a/../b", "/-x", "/a/.hidden"} {
		if err := checkWritePath(p); err != nil {
			t.Errorf("checkWritePath(%q) = %v", p, err)
		}
	}
}
