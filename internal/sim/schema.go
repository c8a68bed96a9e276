package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaSet checks request params against the "accepts" schemas of a methods file (the
// TrueNAS 25.04 method table). Schemas compile lazily, on a method's first call.
type schemaSet struct {
	methods map[string]methodSchema

	mu       sync.Mutex
	compiled map[string][]*jsonschema.Schema
}

// methodSchema is one method's entry in the methods file.
type methodSchema struct {
	Job     bool             `json:"job"`
	Accepts []map[string]any `json:"accepts"`
}

// loadSchemas reads a methods JSON file.
func loadSchemas(path string) (*schemaSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading method schemas: %w", err)
	}
	set := &schemaSet{compiled: map[string][]*jsonschema.Schema{}}
	if err := json.Unmarshal(data, &set.methods); err != nil {
		return nil, fmt.Errorf("loading method schemas %s: %w", path, err)
	}
	return set, nil
}

// isJob reports whether the methods file marks a method as a job.
func (set *schemaSet) isJob(method string) bool { return set.methods[method].Job }

// check validates the positional params of one call. Methods the file does not list (private
// ones such as filesystem.file_receive) pass unchecked.
func (set *schemaSet) check(method string, args []json.RawMessage) []fieldError {
	m, ok := set.methods[method]
	if !ok {
		return nil
	}
	if len(args) > len(m.Accepts) {
		return []fieldError{{msg: fmt.Sprintf("Too many arguments (expected %d, found %d)",
			len(m.Accepts), len(args)), errno: errnoEINVAL}}
	}
	schemas, err := set.compile(method, m)
	if err != nil {
		return nil // a few entries of the file are not valid JSON Schema; leave them unchecked
	}

	var errs []fieldError
	for i, acc := range m.Accepts {
		name, _ := acc["_name_"].(string)
		if i >= len(args) {
			if req, _ := acc["_required_"].(bool); req {
				errs = append(errs, fieldError{name, "Field required", errnoEINVAL})
			}
			continue
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(args[i]))
		if err != nil {
			errs = append(errs, fieldError{name, "Invalid JSON: " + err.Error(), errnoEINVAL})
			continue
		}
		var ve *jsonschema.ValidationError
		if err := schemas[i].Validate(inst); errors.As(err, &ve) {
			errs = append(errs, leafErrors(name, ve.BasicOutput())...)
		}
	}
	return errs
}

// leafErrors flattens a validation result into TrueNAS-style attribute errors.
func leafErrors(name string, out *jsonschema.OutputUnit) []fieldError {
	var errs []fieldError
	for _, u := range out.Errors {
		if u.Error == nil {
			continue
		}
		msg := u.Error.String()
		if strings.HasPrefix(msg, "validation failed") || strings.HasPrefix(msg, "anyOf failed") {
			continue // a summary line; its causes are listed too
		}
		attr := name + strings.ReplaceAll(u.InstanceLocation, "/", ".")
		errs = append(errs, fieldError{attr, msg, errnoEINVAL})
	}
	if len(errs) == 0 {
		errs = append(errs, fieldError{name, "Input is not valid", errnoEINVAL})
	}
	return errs
}

// compile builds (once) the validators of a method's arguments.
func (set *schemaSet) compile(method string, m methodSchema) ([]*jsonschema.Schema, error) {
	set.mu.Lock()
	defer set.mu.Unlock()
	if s, ok := set.compiled[method]; ok {
		return s, nil
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	out := make([]*jsonschema.Schema, 0, len(m.Accepts))
	for i, acc := range m.Accepts {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(mustJSON(withRequired(acc))))
		if err != nil {
			return nil, err
		}
		url := fmt.Sprintf("mem:///%s/%d.json", method, i)
		if err := c.AddResource(url, doc); err != nil {
			return nil, err
		}
		sch, err := c.Compile(url)
		if err != nil {
			return nil, err
		}
		out = append(out, sch)
	}
	set.compiled[method] = out
	return out, nil
}

// withRequired turns the file's per-property "_required_" marks into JSON Schema
// "required" lists and its list-typed "items" into plain schemas, recursively.
func withRequired(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x)+1)
		for k, val := range x {
			out[k] = withRequired(val)
		}
		// The file's list "items" means "each element matches one of these" (the old
		// middleware List type), not a draft-7 tuple.
		if items, ok := out["items"].([]any); ok {
			switch len(items) {
			case 0:
				delete(out, "items")
			case 1:
				out["items"] = items[0]
			default:
				out["items"] = map[string]any{"anyOf": items}
			}
		}
		if props, ok := x["properties"].(map[string]any); ok {
			var req []any
			for name, p := range props {
				if pm, ok := p.(map[string]any); ok && pm["_required_"] == true {
					req = append(req, name)
				}
			}
			if len(req) > 0 {
				out["required"] = req
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = withRequired(val)
		}
		return out
	}
	return v
}

// mustJSON encodes a value decoded from JSON, which cannot fail.
func mustJSON(v any) []byte {
	data, _ := json.Marshal(v)
	return data
}
