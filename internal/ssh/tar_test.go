package ssh

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestTarRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tree")
	writeFile(t, filepath.Join(src, "a.txt"), "hello\n")
	writeFile(t, filepath.Join(src, "sub", "bin"), "\x00\x01\xff\r\n")
	if err := os.Symlink("a.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	modes := map[string]os.FileMode{"a.txt": 0o640, "sub/bin": 0o755, "sub": 0o551}
	for name, mode := range modes {
		if err := os.Chmod(filepath.Join(src, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(src, "sub"), 0o755) })

	var buf bytes.Buffer
	if err := WriteTar(&buf, src, "tree"); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := ExtractTar(&buf, dst, "tree", "copy"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dst, "copy", "sub"), 0o755) })

	for name, mode := range modes {
		info, err := os.Stat(filepath.Join(dst, "copy", name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, info.Mode().Perm(), mode)
		}
	}
	if got := readFile(t, filepath.Join(dst, "copy", "sub", "bin")); got != "\x00\x01\xff\r\n" {
		t.Errorf("binary file = %q", got)
	}
	if link, err := os.Readlink(filepath.Join(dst, "copy", "link")); err != nil || link != "a.txt" {
		t.Errorf("link = %q, %v; want a.txt", link, err)
	}
}

func TestExtractTarRefusesEscapes(t *testing.T) {
	tests := []struct {
		name string
		hdrs []tar.Header
	}{
		{"dot-dot", []tar.Header{{Name: "top/../../evil", Typeflag: tar.TypeReg}}},
		{"absolute", []tar.Header{{Name: "/etc/evil", Typeflag: tar.TypeReg}}},
		{"outside top", []tar.Header{{Name: "other/file", Typeflag: tar.TypeReg}}},
		{"absolute link", []tar.Header{{Name: "top/l", Typeflag: tar.TypeSymlink,
			Linkname: "/etc/passwd"}}},
		{"link climbing out", []tar.Header{{Name: "top/l", Typeflag: tar.TypeSymlink,
			Linkname: "../../x"}}},
		{"link then write through it", []tar.Header{
			{Name: "top/l", Typeflag: tar.TypeSymlink, Linkname: "../.."},
			{Name: "top/l/evil", Typeflag: tar.TypeReg}}},
		{"hard link out", []tar.Header{{Name: "top/h", Typeflag: tar.TypeLink,
			Linkname: "../secret"}}},
		{"hard link beside top", []tar.Header{{Name: "top/h", Typeflag: tar.TypeLink,
			Linkname: "secret"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			writeFile(t, filepath.Join(parent, "secret"), "keep out")
			dst := filepath.Join(parent, "dst")
			if err := os.Mkdir(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			err := ExtractTar(archive(t, tt.hdrs), dst, "top", "")
			if !errors.Is(err, ErrUnsafeEntry) {
				t.Fatalf("ExtractTar = %v, want ErrUnsafeEntry", err)
			}
			for _, p := range []string{"evil", "x", "../evil"} {
				if _, err := os.Lstat(filepath.Join(dst, p)); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}

// A link already in the destination cannot carry an entry out: writes go through os.Root.
func TestExtractTarStaysInRoot(t *testing.T) {
	outside := t.TempDir()
	dst := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dst, "top")); err != nil {
		t.Fatal(err)
	}
	err := ExtractTar(archive(t, []tar.Header{{Name: "top/evil", Typeflag: tar.TypeReg}}), dst,
		"top", "")
	if err == nil {
		t.Fatal("ExtractTar wrote through a link that leaves the destination")
	}
	if _, err := os.Stat(filepath.Join(outside, "evil")); err == nil {
		t.Fatal("evil was written outside the destination")
	}
}

func archive(t *testing.T, hdrs []tar.Header) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		h.Mode = 0o644
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}
