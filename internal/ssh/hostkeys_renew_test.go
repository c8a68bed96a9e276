package ssh

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenewScript runs renewScript in the local shell with the local ssh-keygen, on a
// directory of host keys made for the test.
func TestRenewScript(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen on this machine")
	}
	run := func(t *testing.T, dir string, env ...string) (int, string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", renewScript, "pixels-hostkeys", dir, "px-copy")
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), stderr.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, stderr.String()
	}
	keygen := func(t *testing.T, dir, ty string) {
		t.Helper()
		out, err := exec.Command("ssh-keygen", "-q", "-t", ty, "-N", "", "-C", "old",
			"-f", filepath.Join(dir, "ssh_host_"+ty+"_key")).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	read := func(t *testing.T, p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	t.Run("every key type is renewed, nothing else changes", func(t *testing.T) {
		dir := t.TempDir()
		keygen(t, dir, "ed25519")
		keygen(t, dir, "ecdsa")
		os.WriteFile(filepath.Join(dir, "sshd_config"), []byte("Port 22\n"), 0o644)
		oldEd := read(t, filepath.Join(dir, "ssh_host_ed25519_key.pub"))
		oldEc := read(t, filepath.Join(dir, "ssh_host_ecdsa_key"))

		if code, msg := run(t, dir); code != 0 {
			t.Fatalf("status %d: %s", code, msg)
		}
		newEd := read(t, filepath.Join(dir, "ssh_host_ed25519_key.pub"))
		if newEd == oldEd || !strings.Contains(newEd, "root@px-copy") {
			t.Errorf("ed25519 public key = %q, was %q", newEd, oldEd)
		}
		if read(t, filepath.Join(dir, "ssh_host_ecdsa_key")) == oldEc {
			t.Error("the ecdsa key was not renewed")
		}
		st, err := os.Stat(filepath.Join(dir, "ssh_host_ed25519_key"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("private key mode = %v, %v", st, err)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 5 {
			t.Errorf("directory holds %d entries, want 4 keys and sshd_config", len(ents))
		}
	})

	t.Run("no host keys: nothing to do", func(t *testing.T) {
		if code, _ := run(t, t.TempDir()); code != 3 {
			t.Errorf("status %d, want 3", code)
		}
	})

	t.Run("keys but no ssh-keygen", func(t *testing.T) {
		dir := t.TempDir()
		keygen(t, dir, "ed25519")
		if code, _ := run(t, dir, "PATH="+t.TempDir()); code != 4 {
			t.Errorf("status %d, want 4", code)
		}
	})

	t.Run("a failing ssh-keygen changes nothing", func(t *testing.T) {
		dir := t.TempDir()
		keygen(t, dir, "ed25519")
		keygen(t, dir, "rsa")
		old := read(t, filepath.Join(dir, "ssh_host_ed25519_key"))
		// A stand-in ssh-keygen that works for the first key only.
		bin := t.TempDir()
		real, _ := exec.LookPath("ssh-keygen")
		script := "#!/bin/sh\ncase \"$*\" in *rsa*) exit 1 ;; esac\nexec " + real + " \"$@\"\n"
		if err := os.WriteFile(filepath.Join(bin, "ssh-keygen"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		code, _ := run(t, dir, "PATH="+bin+":"+os.Getenv("PATH"))
		if code != 1 {
			t.Fatalf("status %d, want 1", code)
		}
		if read(t, filepath.Join(dir, "ssh_host_ed25519_key")) != old {
			t.Error("a key was replaced although the run failed")
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".pixels-hostkeys") {
				t.Errorf("temporary directory %s left behind", e.Name())
			}
		}
	})
}
