package sim

import (
	"encoding/json"
)

// schemaSet checks request params against method schemas.
// TODO(#3): validate with santhosh-tekuri/jsonschema/v6 against the methods file.
type schemaSet struct{}

// loadSchemas reads a methods JSON file.
func loadSchemas(path string) (*schemaSet, error) { return &schemaSet{}, nil }

// check validates params of one call.
func (s *schemaSet) check(method string, args []json.RawMessage) *rpcError { return nil }
