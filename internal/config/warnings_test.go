package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // exact warnings, with "F" standing for the file path
	}{
		{
			name: "B19 typos",
			text: "[defaults]\nimgae = \"debian/12\"\n[ssh]\nuser = \"pixel\"\nprot = 2222\n",
			want: []string{
				"F:2: unknown key defaults.imgae (did you mean defaults.image?)",
				"F:5: unknown key ssh.prot (did you mean ssh.port?)",
			},
		},
		{
			name: "insecure means insecure_skip_verify",
			text: "[truenas]\nhost = \"nas\"\ninsecure = true\n",
			want: []string{
				"F:3: unknown key truenas.insecure (did you mean truenas.insecure_skip_verify?)",
			},
		},
		{
			name: "misspelt table",
			text: "# settings\n[defualts]\nimage = \"x\"\n",
			want: []string{"F:3: unknown key defualts.image (did you mean defaults.image?)"},
		},
		{
			name: "no suggestion for nonsense",
			text: "[ssh]\nzzzzzzzz = 1\n",
			want: []string{"F:2: unknown key ssh.zzzzzzzz"},
		},
		{
			name: "dotted and quoted keys",
			text: "ssh.\"usr\" = \"a\"\n",
			want: []string{"F:1: unknown key ssh.usr (did you mean ssh.user?)"},
		},
		{
			name: "keys of the original's later versions",
			text: "backend = \"incus\"\n[ssh]\nstrict_host_keys = false\n[mcp]\nprefix = \"p\"\n",
			want: []string{
				"F:1: key backend is not used by this version of pixels (ignored)",
				"F:3: key ssh.strict_host_keys is not used by this version of pixels (ignored)",
				"F:5: key mcp.prefix is not used by this version of pixels (ignored)",
			},
		},
		{
			name: "multi-line string hides fake keys",
			text: "[defaults]\nimage = \"\"\"\nimgae = 1\n\"\"\"\nprol = 3\n",
			want: []string{"F:5: unknown key defaults.prol (did you mean defaults.pool?)"},
		},
		{
			name: "empty known table is fine",
			text: "[ssh]\n[defaults]\n",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.text)
			c, err := Load(p, true, envMap(nil))
			if err != nil {
				t.Fatal(err)
			}

			var want []string
			for _, w := range tt.want {
				want = append(want, strings.Replace(w, "F", p, 1))
			}
			if strings.Join(c.Warnings, "\n") != strings.Join(want, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(c.Warnings, "\n"),
					strings.Join(want, "\n"))
			}

			strictErr := c.Strict()
			hasUnknown := strings.Contains(strings.Join(want, ""), "unknown key")
			if (strictErr != nil) != hasUnknown {
				t.Errorf("Strict() = %v, want error: %v", strictErr, hasUnknown)
			}
		})
	}
}

func TestPermissionWarning(t *testing.T) {
	tests := []struct {
		name string
		text string
		mode os.FileMode
		warn bool
	}{
		{"key, world readable", "[truenas]\napi_key = \"topsecret\"\n", 0o644, true},
		{"password, group readable", "[truenas]\npassword = \"topsecret\"\n", 0o640, true},
		{"key, private", "[truenas]\napi_key = \"topsecret\"\n", 0o600, false},
		{"no secret, world readable", "[ssh]\nuser = \"u\"\n", 0o644, false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.text)
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}

			c, err := Load(p, true, envMap(nil))
			if err != nil {
				t.Fatal(err)
			}

			all := strings.Join(c.Warnings, "\n")
			if got := strings.Contains(all, "chmod 600"); got != tt.warn {
				t.Errorf("warnings %q: chmod warning = %v, want %v", all, got, tt.warn)
			}
			if strings.Contains(all, "topsecret") {
				t.Errorf("warning leaks the secret: %q", all)
			}
			if c.Strict() != nil {
				t.Errorf("Strict() = %v for a permission warning", c.Strict())
			}
		})
	}
}

func TestDefaultPaths(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Paths
		wantErr bool
	}{
		{
			name: "home only",
			env:  map[string]string{"HOME": "/h"},
			want: Paths{"/h/.config/pixels", "/h/.local/share/pixels", "/h/.cache/pixels"},
		},
		{
			name: "xdg set",
			env: map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/c",
				"XDG_DATA_HOME": "/d", "XDG_CACHE_HOME": "/k"},
			want: Paths{"/c/pixels", "/d/pixels", "/k/pixels"},
		},
		{
			name: "relative xdg ignored",
			env:  map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "rel"},
			want: Paths{"/h/.config/pixels", "/h/.local/share/pixels", "/h/.cache/pixels"},
		},
		{
			name:    "nothing set",
			env:     map[string]string{},
			wantErr: true,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DefaultPaths(envMap(tt.env))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadFindsDefaultFile(t *testing.T) {
	cfgHome := t.TempDir()
	dir := filepath.Join(cfgHome, "pixels")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte("[sim]\nversion = \"26.0\"\n"),
		0o600); err != nil {
		t.Fatal(err)
	}

	c, err := Load("", false, envMap(map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": cfgHome}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Sim.Version != "26.0" {
		t.Errorf("Sim.Version = %q, want 26.0", c.Sim.Version)
	}
}
