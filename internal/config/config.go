// Package config loads pixels' settings: built-in defaults, then config.toml, then the
// environment (flags are applied by main afterwards). It keeps the original pixels tool's key
// names so its users can switch without edits, and it reports unknown keys with file, line
// and a suggestion, because a silently ignored typo builds the wrong container.
//
// Secrets (truenas.api_key, truenas.password) are never put in an error or a warning.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the merged configuration. Each section mirrors one table of config.toml.
type Config struct {
	TrueNAS    TrueNAS    // [truenas]
	Defaults   Defaults   // [defaults]
	SSH        SSH        // [ssh]
	Checkpoint Checkpoint // [checkpoint]
	Sim        Sim        // [sim]
	Timing     Timing     // [timing]
	File       string     // the file loaded, "" when none
	// Warnings are findings that do not stop a run, each starting with "file:line: " when a
	// line is known, e.g. "config.toml:4: unknown key defaults.imgae (did you mean
	// defaults.image?)".
	Warnings []string
}

// TrueNAS says where the NAS is and how to log in. An empty Host means the simulator.
type TrueNAS struct {
	Host               string // host, host:port or a ws(s):// URL
	Port               int    // default 443
	Username           string // default "root"
	APIKey             string // never printed
	Password           string // never printed
	InsecureSkipVerify bool   // skip TLS verification; off by default
}

// Defaults are the values a new container gets when the verb does not say otherwise.
type Defaults struct {
	Image   string   // default "ubuntu/24.04"
	CPU     string   // default "2"; TOML may give an integer or a string
	Memory  int      // MiB, default 2048
	Pool    string   // "" = let the backend choose
	NICType string   // "" = auto-detect
	Parent  string   // "" = auto-detect
	DNS     []string // nameservers written into containers
}

// SSH says how pixels reaches containers over SSH.
type SSH struct {
	User string // default "root"
	Key  string // private key path, "~" expanded; "" = not configured (ssh decides)
	Port int    // default 22
}

// Checkpoint tunes where checkpoints live.
type Checkpoint struct {
	DatasetPrefix string // "" = derived per TrueNAS version
}

// Sim tunes the built-in simulator.
type Sim struct {
	Version string // TrueNAS version to play; "" = the simulator's default
}

// Timing holds the intervals of polls and retries, settable so tests run fast.
type Timing struct {
	Poll  time.Duration // timing.poll_interval, PIXELS_POLL_INTERVAL; default 1s
	Retry time.Duration // timing.retry_interval, PIXELS_RETRY_INTERVAL; default 2s
}

// Default returns the configuration used when no file and no environment say otherwise.
func Default() *Config {
	return &Config{
		TrueNAS:  TrueNAS{Port: 443, Username: "root"},
		Defaults: Defaults{Image: "ubuntu/24.04", CPU: "2", Memory: 2048},
		SSH:      SSH{User: "root", Port: 22},
		Timing:   Timing{Poll: time.Second, Retry: 2 * time.Second},
	}
}

// Load builds the configuration from defaults, the file at path and the environment read
// through getenv. A missing file is fine unless explicit is set (the user named it with
// --config). An empty path means the default file under DefaultPaths.
func Load(path string, explicit bool, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}

	if path == "" {
		paths, err := DefaultPaths(getenv)
		if err != nil {
			return nil, fmt.Errorf("loading config: %w", err)
		}
		path = filepath.Join(paths.Config, "config.toml")
	}

	c := Default()

	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		c.File = path
		if err := c.decodeFile(path, data); err != nil {
			return nil, err
		}
		c.checkPermissions(path)
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		// No file: defaults and environment only.
	default:
		return nil, fmt.Errorf("loading config: %w", err)
	}

	if err := c.applyEnv(getenv); err != nil {
		return nil, fmt.Errorf("loading config: %w", err)
	}

	c.SSH.Key = expandHome(c.SSH.Key, getenv)

	return c, nil
}

// Strict returns an error listing every unknown key found, or nil when there was none.
// `pixels doctor` uses it to turn the warnings of a normal run into a failure.
func (c *Config) Strict() error {
	var unknown []string
	for _, w := range c.Warnings {
		if strings.Contains(w, "unknown key") || strings.Contains(w, "unknown table") {
			unknown = append(unknown, w)
		}
	}

	if len(unknown) == 0 {
		return nil
	}

	return fmt.Errorf("checking config: %d unknown key(s):\n%s", len(unknown),
		strings.Join(unknown, "\n"))
}

// SimMode reports whether pixels should use the simulator: no TrueNAS host is configured.
func (c *Config) SimMode() bool {
	return strings.TrimSpace(c.TrueNAS.Host) == ""
}

// checkPermissions warns when a file holding a secret can be read by group or others.
func (c *Config) checkPermissions(path string) {
	if c.TrueNAS.APIKey == "" && c.TrueNAS.Password == "" {
		return
	}

	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm()&0o077 == 0 {
		return
	}

	c.Warnings = append(c.Warnings, fmt.Sprintf(
		"%s: holds a TrueNAS secret but is readable by group/others (mode %04o); run chmod 600 %s",
		path, info.Mode().Perm(), path))
}

// expandHome replaces a leading "~/" with HOME, as a shell would.
func expandHome(p string, getenv func(string) string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home := getenv("HOME"); home != "" {
			return filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}
