package bindings

import (
	"os"
	"strings"
	"testing"
)

// TestReferenceInStep fails when docs/lua-api.md no longer matches the spec.
func TestReferenceInStep(t *testing.T) {
	got, err := os.ReadFile("../docs/lua-api.md")
	if err != nil {
		t.Fatalf("reading the reference: %v (run go generate ./bindings)", err)
	}
	if string(got) != Reference() {
		t.Fatal("docs/lua-api.md is stale: run go generate ./bindings")
	}
}

func TestStubsCoverEveryFunctionAndOption(t *testing.T) {
	s := Stubs()
	for _, f := range all() {
		if !strings.Contains(s, "function px."+f.Name+"(") {
			t.Errorf("stubs lack px.%s", f.Name)
		}
		for _, o := range f.Options {
			if !strings.Contains(s, "---@field "+o.Name+" ") {
				t.Errorf("stubs lack option %s of px.%s", o.Name, f.Name)
			}
		}
	}
}
