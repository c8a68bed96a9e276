package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds are real config.toml texts: the README's example, every table pixels reads, the
// broken files of the end-to-end suite, and the shapes that once tripped the decoder.
var fuzzSeeds = []string{
	"",
	"[truenas]\nhost = \"nas.local\"\napi_key = \"1-abc\"\nusername = \"root\"\n\n" +
		"[defaults]\nimage = \"ubuntu/24.04\"\ncpu = 2\nmemory = 2048\n\n" +
		"[ssh]\nuser = \"root\"\nkey = \"~/.ssh/id_ed25519\"\n",
	"[truenas]\nhost = \"wss://127.0.0.1:8443/api/current\"\nport = 8443\n" +
		"insecure_skip_verify = true\npassword = \"pw\"\n",
	"[defaults]\ncpu = \"0-3\"\nmemory = \"4096\"\npool = \"tank\"\nnic_type = \"MACVLAN\"\n" +
		"parent = \"br0\"\ndns = [\"1.1.1.1\", \"9.9.9.9\"]\n",
	"[checkpoint]\ndataset_prefix = \"tank/.ix-virt/containers\"\n[sim]\nversion = \"25.04\"\n",
	"[timing]\npoll_interval = \"50ms\"\nretry_interval = \"2s\"\n",
	"[truenas]\nhost = \"x\"\nport = = 3\n",
	"[defaults]\nimgae = \"debian/12\"\n[ssh]\nuser = \"root\"\nprot = 2222\n",
	"[ssh]\nport = \"twenty-two\"\n",
	"[ssh]\nport = 70000\n",
	"[defaults]\nmemory = -1\ncpu = \"\"\n",
	"[timing]\npoll_interval = \"-1s\"\n",
	"[defaults]\ndns = [1, \"a\", true]\n",
	"[[defaults]]\nimage = \"a\"\n",
	"truenas = 3\n",
	"[truenas.host]\nx = 1\n",
	"[network]\nmode = \"bridge\"\n[env]\nFOO = \"bar\"\n",
	"a.b.c.d = 1\n\"quoted key\" = 2\n",
	"[defaults]\nmemory = 1e400\ncpu = 2.5\n",
	"[timing]\npoll_interval = 1979-05-27T07:32:00Z\n",
	"\xff\xfe[truenas]\n",
}

// FuzzLoad writes arbitrary bytes as a config file and loads it: Load must never panic, an
// error must name the file, and no error or warning may repeat a secret from the file.
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	getenv := envMap(map[string]string{"HOME": dir})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, true, getenv)
		if err != nil {
			if c != nil {
				t.Errorf("Load returned a config and an error: %v", err)
			}
			if !strings.Contains(err.Error(), "config.toml") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		if c == nil {
			t.Fatal("Load returned neither a config nor an error")
		}
		if c.File != path {
			t.Errorf("File = %q, want %q", c.File, path)
		}
		checkLoaded(t, c)
	})
}

// checkLoaded holds what every successfully loaded config must satisfy, whatever the file.
func checkLoaded(t *testing.T, c *Config) {
	t.Helper()
	if c.TrueNAS.Port < 1 || c.TrueNAS.Port > 65535 || c.SSH.Port < 1 || c.SSH.Port > 65535 {
		t.Errorf("port out of range accepted: truenas %d, ssh %d", c.TrueNAS.Port, c.SSH.Port)
	}
	if c.Defaults.Memory <= 0 {
		t.Errorf("memory %d accepted", c.Defaults.Memory)
	}
	if c.Timing.Poll <= 0 || c.Timing.Retry <= 0 {
		t.Errorf("non-positive interval accepted: %v, %v", c.Timing.Poll, c.Timing.Retry)
	}
	for _, secret := range []string{c.TrueNAS.APIKey, c.TrueNAS.Password} {
		if len(secret) < 6 {
			continue // too short to tell a leak from a coincidence
		}
		for _, w := range c.Warnings {
			if strings.Contains(w, secret) {
				t.Errorf("warning repeats a secret: %q", w)
			}
		}
	}
}
