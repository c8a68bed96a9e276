package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// kind is the TOML type a key wants.
type kind int

const (
	kString kind = iota
	kInt
	kBool
	kIntOrString // defaults.cpu: 2 or "2"
	kStrings
	kDuration // a Go duration string like "500ms"
)

// wants names a kind the way an error message says it.
func (k kind) wants() string {
	switch k {
	case kInt:
		return "an integer"
	case kBool:
		return "a boolean"
	case kIntOrString:
		return "an integer or a string"
	case kStrings:
		return "an array of strings"
	case kDuration:
		return `a duration string like "2s"`
	default:
		return "a string"
	}
}

// field is one key pixels understands and where its value goes.
type field struct {
	kind kind
	set  func(c *Config, v value)
}

// value is a decoded TOML value in the shape its kind promises.
type value struct {
	s  string
	i  int
	b  bool
	ss []string
	d  time.Duration
}

// fields lists every key pixels reads, by dotted name.
var fields = map[string]field{
	"truenas.host":     {kString, func(c *Config, v value) { c.TrueNAS.Host = v.s }},
	"truenas.port":     {kInt, func(c *Config, v value) { c.TrueNAS.Port = v.i }},
	"truenas.username": {kString, func(c *Config, v value) { c.TrueNAS.Username = v.s }},
	"truenas.api_key":  {kString, func(c *Config, v value) { c.TrueNAS.APIKey = v.s }},
	"truenas.password": {kString, func(c *Config, v value) { c.TrueNAS.Password = v.s }},
	"truenas.insecure_skip_verify": {kBool, func(c *Config, v value) {
		c.TrueNAS.InsecureSkipVerify = v.b
	}},
	"defaults.image":    {kString, func(c *Config, v value) { c.Defaults.Image = v.s }},
	"defaults.cpu":      {kIntOrString, func(c *Config, v value) { c.Defaults.CPU = v.s }},
	"defaults.memory":   {kInt, func(c *Config, v value) { c.Defaults.Memory = v.i }},
	"defaults.pool":     {kString, func(c *Config, v value) { c.Defaults.Pool = v.s }},
	"defaults.nic_type": {kString, func(c *Config, v value) { c.Defaults.NICType = v.s }},
	"defaults.parent":   {kString, func(c *Config, v value) { c.Defaults.Parent = v.s }},
	"defaults.dns":      {kStrings, func(c *Config, v value) { c.Defaults.DNS = v.ss }},
	"ssh.user":          {kString, func(c *Config, v value) { c.SSH.User = v.s }},
	"ssh.key":           {kString, func(c *Config, v value) { c.SSH.Key = v.s }},
	"ssh.port":          {kInt, func(c *Config, v value) { c.SSH.Port = v.i }},
	"checkpoint.dataset_prefix": {kString, func(c *Config, v value) {
		c.Checkpoint.DatasetPrefix = v.s
	}},
	"sim.version":           {kString, func(c *Config, v value) { c.Sim.Version = v.s }},
	"timing.poll_interval":  {kDuration, func(c *Config, v value) { c.Timing.Poll = v.d }},
	"timing.retry_interval": {kDuration, func(c *Config, v value) { c.Timing.Retry = v.d }},
}

// laterKeys are keys (or whole tables, ending in ".") of the original pixels tool's later
// versions. They are valid there, so pixels names them as unused rather than as typos.
var laterKeys = []string{
	"backend", "env.", "incus.", "mcp.", "network.", "provision.",
	"defaults.network", "ssh.strict_host_keys",
}

// decodeFile parses TOML text and applies every known key to c, collecting warnings.
func (c *Config) decodeFile(path string, data []byte) error {
	name := filepath.Base(path)

	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return fmt.Errorf("reading config %s:%d: %s", name, perr.Position.Line, perr.Message)
		}
		return fmt.Errorf("reading config %s: %w", name, err)
	}

	lines := keyLines(string(data))
	at := func(key string) string {
		if n := lines.find(key); n > 0 {
			return fmt.Sprintf("%s:%d", path, n)
		}
		return path
	}

	var keys []string
	flatten("", raw, func(key string, v any) { keys = append(keys, key) })
	sort.Slice(keys, func(i, j int) bool { return lines.find(keys[i]) < lines.find(keys[j]) })

	flat := map[string]any{}
	flatten("", raw, func(key string, v any) { flat[key] = v })

	for _, key := range keys {
		f, ok := fields[key]
		if !ok {
			c.Warnings = append(c.Warnings, at(key)+": "+unknownMessage(key))
			continue
		}

		v, err := convert(f.kind, flat[key])
		if err != nil {
			line := ""
			if n := lines.find(key); n > 0 {
				line = ":" + strconv.Itoa(n)
			}
			return fmt.Errorf("reading config %s%s: %s wants %s, got %s", name, line, key,
				f.kind.wants(), err)
		}
		if err := check(key, v); err != nil {
			return fmt.Errorf("reading config %s:%d: %w", name, lines.find(key), err)
		}
		f.set(c, v)
	}

	return nil
}

// flatten walks nested tables, calling fn with each leaf's dotted key. Arrays of tables are
// leaves; pixels has none, so they end up reported as unknown keys.
func flatten(prefix string, m map[string]any, fn func(key string, v any)) {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok && (len(sub) > 0 || knownTable(key)) {
			flatten(key, sub, fn)
			continue
		}
		fn(key, v)
	}
}

// knownTable reports whether name is a table pixels reads, such as "ssh".
func knownTable(name string) bool {
	for key := range fields {
		if strings.HasPrefix(key, name+".") {
			return true
		}
	}
	return false
}

// convert checks a TOML value against a kind. Its error text is the type that was found.
func convert(k kind, v any) (value, error) {
	bad := fmt.Errorf("%s", tomlType(v))

	switch k {
	case kString:
		if s, ok := v.(string); ok {
			return value{s: s}, nil
		}
	case kInt:
		if i, ok := v.(int64); ok && int64(int(i)) == i {
			return value{i: int(i)}, nil
		}
	case kBool:
		if b, ok := v.(bool); ok {
			return value{b: b}, nil
		}
	case kIntOrString:
		switch x := v.(type) {
		case int64:
			return value{s: strconv.FormatInt(x, 10)}, nil
		case string:
			return value{s: x}, nil
		}
	case kStrings:
		arr, ok := v.([]any)
		if !ok {
			break
		}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, ok := e.(string)
			if !ok {
				return value{}, fmt.Errorf("an array holding %s", tomlType(e))
			}
			out = append(out, s)
		}
		return value{ss: out}, nil
	case kDuration:
		s, ok := v.(string)
		if !ok {
			break
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return value{}, fmt.Errorf("%q", s)
		}
		return value{d: d}, nil
	}

	return value{}, bad
}

// tomlType names a decoded value's TOML type.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any, []map[string]any:
		return "array"
	case map[string]any:
		return "table"
	case time.Time:
		return "datetime"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// check applies range rules that the type alone cannot express.
func check(key string, v value) error {
	switch key {
	case "truenas.port", "ssh.port":
		if v.i < 1 || v.i > 65535 {
			return fmt.Errorf("%s wants a port between 1 and 65535, got %d", key, v.i)
		}
	case "defaults.memory":
		if v.i < 1 {
			return fmt.Errorf("%s wants a positive number of MiB, got %d", key, v.i)
		}
	case "defaults.cpu":
		if strings.TrimSpace(v.s) == "" {
			return fmt.Errorf("%s wants a CPU count or set, got an empty string", key)
		}
	case "timing.poll_interval", "timing.retry_interval":
		if v.d <= 0 {
			return fmt.Errorf("%s wants a positive duration, got %s", key, v.d)
		}
	}
	return nil
}
