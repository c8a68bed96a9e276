package config

import (
	"errors"
	"path/filepath"
)

// Paths are pixels' directories, each ending in "pixels": Config holds config.toml, init.lua
// and scripts/; Data holds pixels' own SSH key and known_hosts; Cache holds the name -> IP
// cache and the simulator's state.
type Paths struct {
	Config, Data, Cache string
}

// DefaultPaths follows the XDG base directory rules: $XDG_CONFIG_HOME, $XDG_DATA_HOME and
// $XDG_CACHE_HOME when set to absolute paths (relative ones are ignored, as the spec says),
// else ~/.config, ~/.local/share and ~/.cache.
func DefaultPaths(getenv func(string) string) (Paths, error) {
	home := getenv("HOME")

	dir := func(env string, fallback ...string) (string, error) {
		if v := getenv(env); v != "" && filepath.IsAbs(v) {
			return filepath.Join(v, "pixels"), nil
		}
		if home == "" {
			return "", errors.New("finding pixels directories: neither $" + env +
				" nor $HOME is set")
		}
		return filepath.Join(append(append([]string{home}, fallback...), "pixels")...), nil
	}

	var p Paths
	var err error
	if p.Config, err = dir("XDG_CONFIG_HOME", ".config"); err != nil {
		return Paths{}, err
	}
	if p.Data, err = dir("XDG_DATA_HOME", ".local", "share"); err != nil {
		return Paths{}, err
	}
	if p.Cache, err = dir("XDG_CACHE_HOME", ".cache"); err != nil {
		return Paths{}, err
	}

	return p, nil
}
