package config

import (
	"fmt"
	"strconv"
	"time"
)

// envVar binds one environment variable to the config key it overrides.
type envVar struct {
	name string
	key  string
}

// envVars are applied in this order, after the file. An empty variable counts as unset.
var envVars = []envVar{
	{"PIXELS_TRUENAS_HOST", "truenas.host"},
	{"PIXELS_TRUENAS_PORT", "truenas.port"},
	{"PIXELS_TRUENAS_USERNAME", "truenas.username"},
	{"PIXELS_TRUENAS_API_KEY", "truenas.api_key"},
	{"PIXELS_TRUENAS_PASSWORD", "truenas.password"},
	{"PIXELS_TRUENAS_INSECURE", "truenas.insecure_skip_verify"},
	{"PIXELS_DEFAULT_IMAGE", "defaults.image"},
	{"PIXELS_DEFAULT_CPU", "defaults.cpu"},
	{"PIXELS_DEFAULT_MEMORY", "defaults.memory"},
	{"PIXELS_DEFAULT_POOL", "defaults.pool"},
	{"PIXELS_SSH_USER", "ssh.user"},
	{"PIXELS_SSH_KEY", "ssh.key"},
	{"PIXELS_SSH_PORT", "ssh.port"},
	{"PIXELS_CHECKPOINT_DATASET_PREFIX", "checkpoint.dataset_prefix"},
	{"PIXELS_SIM_VERSION", "sim.version"},
	{"PIXELS_POLL_INTERVAL", "timing.poll_interval"},
	{"PIXELS_RETRY_INTERVAL", "timing.retry_interval"},
}

// secretVars hold credentials, whose values never appear in an error.
var secretVars = map[string]bool{"PIXELS_TRUENAS_API_KEY": true, "PIXELS_TRUENAS_PASSWORD": true}

// applyEnv overrides c with the environment. A bad value is an error naming the variable.
func (c *Config) applyEnv(getenv func(string) string) error {
	for _, ev := range envVars {
		raw := getenv(ev.name)
		if raw == "" {
			continue
		}

		f := fields[ev.key]
		v, err := parseEnv(f.kind, raw)
		if err == nil {
			if err := check(ev.key, v); err != nil {
				return fmt.Errorf("reading $%s: %w", ev.name, err)
			}
		}
		if err != nil {
			shown := strconv.Quote(raw)
			if secretVars[ev.name] {
				shown = "(hidden)"
			}
			return fmt.Errorf("reading $%s: wants %s, got %s", ev.name, f.kind.wants(), shown)
		}
		f.set(c, v)
	}

	return nil
}

// parseEnv converts an environment string to a kind's value.
func parseEnv(k kind, raw string) (value, error) {
	switch k {
	case kInt:
		i, err := strconv.Atoi(raw)
		return value{i: i}, err
	case kBool:
		b, err := strconv.ParseBool(raw)
		return value{b: b}, err
	case kDuration:
		d, err := time.ParseDuration(raw)
		return value{d: d}, err
	default:
		return value{s: raw}, nil
	}
}
