package sim

import (
	"encoding/json"
	"testing"
)

func TestQueryFilters(t *testing.T) {
	entries := []map[string]any{
		{"name": "px-a", "n": 3, "tags": []any{"x"}, "props": map[string]any{"used": 10}},
		{"name": "px-b", "n": 1, "tags": []any{"y"}, "props": map[string]any{"used": 30}},
		{"name": "Other", "n": 2, "tags": []any{}, "props": map[string]any{"used": 20}},
	}
	tests := []struct {
		name    string
		filters string
		options string
		want    string
	}{
		{"all", `[]`, `{}`, `["px-a","px-b","Other"]`},
		{"equal", `[["name","=","px-b"]]`, `{}`, `["px-b"]`},
		{"prefix", `[["name","^","px-"]]`, `{}`, `["px-a","px-b"]`},
		{"not prefix", `[["name","!^","px-"]]`, `{}`, `["Other"]`},
		{"suffix", `[["name","$","-b"]]`, `{}`, `["px-b"]`},
		{"case-insensitive", `[["name","C=","other"]]`, `{}`, `["Other"]`},
		{"regex", `[["name","~","^px-[ab]$"]]`, `{}`, `["px-a","px-b"]`},
		{"greater", `[["n",">",1]]`, `{}`, `["px-a","Other"]`},
		{"dotted", `[["props.used","<=",20]]`, `{}`, `["px-a","Other"]`},
		{"in", `[["name","in",["px-a","Other"]]]`, `{}`, `["px-a","Other"]`},
		{"nin", `[["name","nin",["px-a","Other"]]]`, `{}`, `["px-b"]`},
		{"rin", `[["tags","rin","x"]]`, `{}`, `["px-a"]`},
		{"or", `[["OR",[["n","=",1],["n","=",2]]]]`, `{}`, `["px-b","Other"]`},
		{"and", `[["name","^","px-"],["n","=",1]]`, `{}`, `["px-b"]`},
		{"order desc", `[]`, `{"order_by":["-n"]}`, `["px-a","Other","px-b"]`},
		{"limit offset", `[]`, `{"order_by":["n"],"limit":1,"offset":1}`, `["Other"]`},
		{"count", `[["name","^","px-"]]`, `{"count":true}`, `2`},
		{"get", `[["n","=",2]]`, `{"get":true}`, `"Other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rerr := query(entries, []json.RawMessage{json.RawMessage(tt.filters),
				json.RawMessage(tt.options)})
			if rerr != nil {
				t.Fatalf("query: %v", rerr)
			}
			if got := names(got); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}

	_, rerr := query(entries, []json.RawMessage{json.RawMessage(`[["n","??",1]]`)})
	if rerr == nil || rerr.Code != codeInvalidParams {
		t.Fatalf("unknown operator: %v", rerr)
	}
	_, rerr = query(entries, []json.RawMessage{json.RawMessage(`[["n","=",9]]`),
		json.RawMessage(`{"get":true}`)})
	if rerr == nil || rerr.Code != codeCallError || rerr.Data.Reason != "MatchNotFound()" {
		t.Fatalf("get without match: %v", rerr)
	}
}

// names reduces a query result to its names (or the count) as JSON.
func names(v any) string {
	switch x := v.(type) {
	case []any:
		out := []any{}
		for _, e := range x {
			out = append(out, e.(map[string]any)["name"])
		}
		b, _ := json.Marshal(out)
		return string(b)
	case map[string]any:
		b, _ := json.Marshal(x["name"])
		return string(b)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
