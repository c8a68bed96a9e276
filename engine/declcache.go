package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	lua "github.com/yuin/gopher-lua"
)

// declCache keeps what the declaration pass learnt of each script, keyed by a hash of the
// script's name and content, so startup stays fast with many scripts: an unchanged script is
// not loaded into a Lua state again. It is an optimisation only: any problem reading or
// writing it falls back to declaring afresh.
type declCache struct {
	path    string
	entries map[string]cachedDecl
	dirty   bool
}

type cachedDecl struct {
	Spec    *cachedSpec `json:"spec,omitempty"` // nil: the file declares no command
	Problem string      `json:"problem,omitempty"`
}

type cachedSpec struct {
	Name        string       `json:"name"`
	Summary     string       `json:"summary,omitempty"`
	Usage       string       `json:"usage,omitempty"`
	Requires    string       `json:"requires,omitempty"`
	Override    bool         `json:"override,omitempty"`
	Passthrough bool         `json:"passthrough,omitempty"`
	Flags       []cachedFlag `json:"flags,omitempty"`
	Args        []ArgSpec    `json:"args,omitempty"`
}

type cachedFlag struct {
	Name, Type, Help, Short, Env string
	Enum                         []string `json:",omitempty"`
	Default                      any      `json:",omitempty"`
	DefaultStrings               []string `json:",omitempty"`
}

const declCacheVersion = "1"

func openDeclCache(dir string) *declCache {
	c := &declCache{entries: map[string]cachedDecl{}}
	if dir == "" {
		return c
	}
	c.path = filepath.Join(dir, "declarations.json")
	if data, err := os.ReadFile(c.path); err == nil {
		_ = json.Unmarshal(data, &c.entries)
	}
	return c
}

func declKey(display string, code []byte) string {
	h := sha256.New()
	h.Write([]byte(declCacheVersion + APIVersion + "\x00" + display + "\x00"))
	h.Write(code)
	return hex.EncodeToString(h.Sum(nil))
}

func (c *declCache) get(key string) (cachedDecl, bool) {
	d, ok := c.entries[key]
	return d, ok
}

func (c *declCache) put(key string, d cachedDecl) {
	c.entries[key] = d
	c.dirty = true
}

// save writes the cache atomically, keeping only the entries seen this run.
func (c *declCache) save(seen map[string]bool) {
	if c.path == "" || !c.dirty {
		return
	}
	for k := range c.entries {
		if !seen[k] {
			delete(c.entries, k)
		}
	}
	data, err := json.Marshal(c.entries)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".declarations-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), c.path) != nil {
		os.Remove(tmp.Name())
	}
}

func toCached(s *CommandSpec) *cachedSpec {
	cs := &cachedSpec{Name: s.Name, Summary: s.Summary, Usage: s.Usage, Requires: s.Requires,
		Override: s.Override, Passthrough: s.Passthrough, Args: s.Args}
	for _, f := range s.Flags {
		cf := cachedFlag{Name: f.Name, Type: f.Type, Help: f.Help, Short: f.Short, Env: f.Env,
			Enum: f.Enum, DefaultStrings: f.DefaultStrings}
		switch v := f.Default.(type) {
		case lua.LString:
			cf.Default = string(v)
		case lua.LNumber:
			cf.Default = float64(v)
		case lua.LBool:
			cf.Default = bool(v)
		}
		cs.Flags = append(cs.Flags, cf)
	}
	return cs
}

func fromCached(cs *cachedSpec) *CommandSpec {
	s := &CommandSpec{Name: cs.Name, Summary: cs.Summary, Usage: cs.Usage, Requires: cs.Requires,
		Override: cs.Override, Passthrough: cs.Passthrough, Args: cs.Args}
	for _, cf := range cs.Flags {
		f := FlagSpec{Name: cf.Name, Type: cf.Type, Help: cf.Help, Short: cf.Short, Env: cf.Env,
			Enum: cf.Enum, DefaultStrings: cf.DefaultStrings, Default: lua.LNil}
		switch v := cf.Default.(type) {
		case string:
			f.Default = lua.LString(v)
		case float64:
			f.Default = lua.LNumber(v)
		case bool:
			f.Default = lua.LBool(v)
		}
		s.Flags = append(s.Flags, f)
	}
	return s
}
