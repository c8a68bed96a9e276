package truenas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// methodsFile is the shared 25.04 method schema file. DESIGN §6: tests read it from
// ../shared; it is never copied into the project.
var methodsFile = filepath.Join("..", "..", "..", "shared", "truenas", "methods-25.04.json")

// schemaSet validates request params against the `accepts` schemas of 25.04 methods, so
// the fake refuses what the real server would refuse (extra keys, wrong types, bad enums).
type schemaSet struct {
	mu      sync.Mutex
	accepts map[string][]json.RawMessage
	cache   map[string][]*jsonschema.Schema
}

var (
	sharedSchemas     *schemaSet
	sharedSchemasErr  error
	sharedSchemasOnce sync.Once
)

// loadSchemas reads the method file once per test binary; tests skip when it is absent.
func loadSchemas(t *testing.T) *schemaSet {
	t.Helper()
	sharedSchemasOnce.Do(func() {
		b, err := os.ReadFile(methodsFile)
		if err != nil {
			sharedSchemasErr = err
			return
		}
		var methods map[string]struct {
			Accepts []json.RawMessage `json:"accepts"`
		}
		if err := json.Unmarshal(b, &methods); err != nil {
			sharedSchemasErr = err
			return
		}
		s := &schemaSet{accepts: map[string][]json.RawMessage{},
			cache: map[string][]*jsonschema.Schema{}}
		for name, m := range methods {
			s.accepts[name] = m.Accepts
		}
		sharedSchemas = s
	})
	if sharedSchemasErr != nil {
		t.Skipf("method schemas unavailable: %v", sharedSchemasErr)
	}
	return sharedSchemas
}

// check validates params for method; methods missing from the 25.04 file (private ones
// such as filesystem.file_receive, or 25.10's pool.snapshot.*) are not checked.
func (s *schemaSet) check(method string, params json.RawMessage) error {
	sch, ok, err := s.compiled(method)
	if err != nil || !ok {
		return err
	}
	var args []json.RawMessage
	if err := json.Unmarshal(params, &args); err != nil {
		return fmt.Errorf("params of %s are not an array: %w", method, err)
	}
	if len(args) > len(sch) {
		return fmt.Errorf("%s: too many arguments (expected %d, found %d)", method, len(sch),
			len(args))
	}
	for i, a := range args {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(a))
		if err != nil {
			return err
		}
		if err := sch[i].Validate(v); err != nil {
			return fmt.Errorf("%s argument %d: %w", method, i, err)
		}
	}
	return nil
}

func (s *schemaSet) compiled(method string) ([]*jsonschema.Schema, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.cache[method]; ok {
		return sch, true, nil
	}
	accepts, ok := s.accepts[method]
	if !ok {
		return nil, false, nil
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7) // list-form "items" are tuples, as the file means them
	var out []*jsonschema.Schema
	for i, raw := range accepts {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, false, err
		}
		normalize(doc)
		loc := fmt.Sprintf("mem://%s/%d.json", method, i)
		if err := c.AddResource(loc, doc); err != nil {
			return nil, false, err
		}
		sch, err := c.Compile(loc)
		if err != nil {
			return nil, false, fmt.Errorf("compiling schema of %s: %w", method, err)
		}
		out = append(out, sch)
	}
	s.cache[method] = out
	return out, true, nil
}

// normalize drops the empty "items": [] that the file uses for "any list", which draft 7's
// metaschema refuses.
func normalize(v any) {
	switch x := v.(type) {
	case map[string]any:
		if items, ok := x["items"].([]any); ok && len(items) == 0 {
			delete(x, "items")
		}
		for _, e := range x {
			normalize(e)
		}
	case []any:
		for _, e := range x {
			normalize(e)
		}
	}
}

// TestSchemaCheckerRejects makes sure the checker is not vacuous: known-bad params fail.
func TestSchemaCheckerRejects(t *testing.T) {
	s := loadSchemas(t)
	tests := []struct {
		name, method, params string
		ok                   bool
	}{
		{"stop with timeout", "virt.instance.stop", `["px-a",{"timeout":120}]`, true},
		{"stop with unknown key", "virt.instance.stop", `["px-a",{"wait":true}]`, false},
		{"create with unknown key", "virt.instance.create",
			`[{"name":"px-a","image":"x","cpus":"2"}]`, false},
		{"create with NIC", "virt.instance.create", `[{"name":"px-a","image":"x",` +
			`"devices":[{"dev_type":"NIC","nic_type":"MACVLAN","parent":"eno1"}]}]`, true},
		{"snapshot rollback recursive", "zfs.snapshot.rollback", `["a@b",{"recursive":true}]`,
			true},
		{"snapshot rollback bad option", "zfs.snapshot.rollback", `["a@b",{"destroy":true}]`,
			false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.check(tt.method, json.RawMessage(tt.params))
			if (err == nil) != tt.ok {
				t.Errorf("check(%s) = %v, want ok=%v", tt.params, err, tt.ok)
			}
		})
	}
}
