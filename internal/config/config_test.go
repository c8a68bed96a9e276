package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// envMap returns a getenv backed by a map, so tests never read the real environment.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeConfig writes text to dir/config.toml with mode 0600 and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaults(t *testing.T) {
	home := t.TempDir()
	c, err := Load("", false, envMap(map[string]string{"HOME": home}))
	if err != nil {
		t.Fatal(err)
	}

	want := Default()
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if !c.SimMode() {
		t.Error("SimMode() = false with no host")
	}
	if c.SSH.Key != "" {
		t.Errorf("SSH.Key = %q, want empty when not configured", c.SSH.Key)
	}
}

func TestLoadPrecedence(t *testing.T) {
	p := writeConfig(t, `
[truenas]
host = "nas.example"
port = 8443
api_key = "file-key"
insecure_skip_verify = true

[defaults]
image = "debian/12"
cpu = 4
memory = 4096
dns = ["1.1.1.1", "9.9.9.9"]

[ssh]
user = "pixel"
key = "~/.ssh/other"
port = 2222

[timing]
poll_interval = "50ms"
`)
	env := map[string]string{
		"HOME":                   "/home/u",
		"PIXELS_DEFAULT_IMAGE":   "alpine/3.20",
		"PIXELS_TRUENAS_API_KEY": "env-key",
		"PIXELS_RETRY_INTERVAL":  "10ms",
		"PIXELS_DEFAULT_CPU":     "",
	}

	c, err := Load(p, true, envMap(env))
	if err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"host", c.TrueNAS.Host, "nas.example"},
		{"port", c.TrueNAS.Port, 8443},
		{"username default", c.TrueNAS.Username, "root"},
		{"api key from env", c.TrueNAS.APIKey, "env-key"},
		{"insecure", c.TrueNAS.InsecureSkipVerify, true},
		{"image from env", c.Defaults.Image, "alpine/3.20"},
		{"cpu integer", c.Defaults.CPU, "4"},
		{"memory", c.Defaults.Memory, 4096},
		{"dns", c.Defaults.DNS, []string{"1.1.1.1", "9.9.9.9"}},
		{"ssh user", c.SSH.User, "pixel"},
		{"ssh key expanded", c.SSH.Key, "/home/u/.ssh/other"},
		{"ssh port", c.SSH.Port, 2222},
		{"poll", c.Timing.Poll, 50 * time.Millisecond},
		{"retry from env", c.Timing.Retry, 10 * time.Millisecond},
		{"file", c.File, p},
		{"sim mode", c.SimMode(), false},
		{"warnings", len(c.Warnings), 0},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s: got %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		env     map[string]string
		want    []string // substrings of the error
		notWant string
	}{
		{
			name: "malformed toml",
			text: "[ssh]\nuser = \"a\"\nport = = 3\n",
			want: []string{"config.toml:3:"},
		},
		{
			name: "port as string",
			text: "[ssh]\n\nport = \"22\"\n",
			want: []string{"config.toml:3:", "ssh.port wants an integer, got string"},
		},
		{
			name: "memory as float",
			text: "[defaults]\nmemory = 2.5\n",
			want: []string{"config.toml:2:", "defaults.memory wants an integer, got float"},
		},
		{
			name: "cpu as bool",
			text: "[defaults]\ncpu = true\n",
			want: []string{"defaults.cpu wants an integer or a string, got boolean"},
		},
		{
			name: "dns holding an integer",
			text: "[defaults]\ndns = [\"1.1.1.1\", 8]\n",
			want: []string{"defaults.dns wants an array of strings, got an array holding integer"},
		},
		{
			name: "port out of range",
			text: "[truenas]\nport = 70000\n",
			want: []string{"config.toml:2:", "truenas.port wants a port between 1 and 65535"},
		},
		{
			name:    "api key of wrong type is not echoed",
			text:    "[truenas]\napi_key = 12345678\n",
			want:    []string{"truenas.api_key wants a string, got integer"},
			notWant: "12345678",
		},
		{
			name: "bad env integer",
			env:  map[string]string{"PIXELS_SSH_PORT": "twenty"},
			want: []string{"$PIXELS_SSH_PORT", `"twenty"`},
		},
		{
			name: "bad env bool",
			env:  map[string]string{"PIXELS_TRUENAS_INSECURE": "maybe"},
			want: []string{"$PIXELS_TRUENAS_INSECURE", "a boolean"},
		},
		{
			name: "bad env duration",
			env:  map[string]string{"PIXELS_POLL_INTERVAL": "soon"},
			want: []string{"$PIXELS_POLL_INTERVAL"},
		},
		{
			name: "env port out of range",
			env:  map[string]string{"PIXELS_TRUENAS_PORT": "0"},
			want: []string{"$PIXELS_TRUENAS_PORT", "between 1 and 65535"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.text)
			_, err := Load(p, true, envMap(tt.env))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
				t.Errorf("error %q leaks %q", err, tt.notWant)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.toml")

	if _, err := Load(missing, true, envMap(nil)); err == nil {
		t.Error("explicit missing file: no error")
	}

	c, err := Load(missing, false, envMap(nil))
	if err != nil {
		t.Fatalf("default missing file: %v", err)
	}
	if c.File != "" {
		t.Errorf("File = %q, want empty", c.File)
	}
}

func TestSecretsNeverInEnvErrors(t *testing.T) {
	// Secrets are strings, so they cannot fail to parse; a check here guards the rule
	// should a future rule start validating them.
	_, err := Load("", false, envMap(map[string]string{
		"HOME": t.TempDir(), "PIXELS_TRUENAS_API_KEY": "s3cret", "PIXELS_SSH_PORT": "x",
	}))
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err = %v", err)
	}
}
