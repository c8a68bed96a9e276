package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	lua "github.com/yuin/gopher-lua"
)

// ToGo converts a Lua value into plain Go data: maps, slices, strings, numbers, bools. A
// table with keys 1..n only is a slice; an empty table is an empty slice. Cycles and
// functions become strings so rendering never fails.
func ToGo(v lua.LValue) any { return toGo(v, 0) }

func toGo(v lua.LValue, depth int) any {
	if depth > 64 {
		return "<too deep>"
	}
	switch x := v.(type) {
	case *lua.LNilType:
		return nil
	case lua.LBool:
		return bool(x)
	case lua.LString:
		return string(x)
	case lua.LNumber:
		f := float64(x)
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f)
		}
		return f
	case *lua.LTable:
		n := x.Len()
		count := 0
		x.ForEach(func(lua.LValue, lua.LValue) { count++ })
		if count == n {
			out := make([]any, 0, n)
			for i := 1; i <= n; i++ {
				out = append(out, toGo(x.RawGetInt(i), depth+1))
			}
			return out
		}
		m := map[string]any{}
		x.ForEach(func(k, val lua.LValue) {
			m[k.String()] = toGo(val, depth+1)
		})
		return m
	default:
		return v.String()
	}
}

// FromGo converts plain Go data (as decoded from JSON, or built by host functions) into Lua.
func FromGo(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case int:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case []string:
		t := L.NewTable()
		for _, s := range x {
			t.Append(lua.LString(s))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range x {
			t.Append(FromGo(L, e))
		}
		return t
	case map[string]any:
		t := L.NewTable()
		for k, e := range x {
			t.RawSetString(k, FromGo(L, e))
		}
		return t
	case lua.LValue:
		return x
	default:
		return lua.LString(fmt.Sprint(x))
	}
}

// columnOrder puts the fields people look for first.
var columnOrder = []string{"name", "status", "image", "ipv4", "ipv6", "cpu", "memory", "label",
	"id", "container", "size", "created_at"}

// render prints what a command's run returned: JSON under --json, an aligned table on a
// terminal, tab-separated lines when piped.
func (rt *Runtime) render(v lua.LValue) error {
	if v == lua.LNil {
		return nil
	}
	return Render(rt.Stdout, ToGo(v), rt.Out)
}

// Render prints data as --json, a terminal or a pipe wants it.
func Render(w io.Writer, data any, out Output) error {
	if out.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(data)
	}
	switch x := data.(type) {
	case []any:
		if len(x) == 0 {
			return nil
		}
		if rows, ok := records(x); ok {
			return renderTable(w, rows, out.Terminal)
		}
		for _, e := range x {
			fmt.Fprintln(w, cell(e))
		}
	case map[string]any:
		keys := orderedKeys([]map[string]any{x})
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, k := range keys {
			if out.Terminal {
				fmt.Fprintf(tw, "%s:\t%s\n", k, cell(x[k]))
			} else {
				fmt.Fprintf(w, "%s\t%s\n", k, cell(x[k]))
			}
		}
		return tw.Flush()
	default:
		fmt.Fprintln(w, cell(x))
	}
	return nil
}

func records(list []any) ([]map[string]any, bool) {
	rows := make([]map[string]any, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		rows = append(rows, m)
	}
	return rows, true
}

func orderedKeys(rows []map[string]any) []string {
	seen := map[string]bool{}
	for _, r := range rows {
		for k := range r {
			seen[k] = true
		}
	}
	var keys []string
	for _, k := range columnOrder {
		if seen[k] {
			keys = append(keys, k)
			delete(seen, k)
		}
	}
	var rest []string
	for k := range seen {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

func renderTable(w io.Writer, rows []map[string]any, terminal bool) error {
	keys := orderedKeys(rows)
	if !terminal {
		for _, r := range rows {
			cells := make([]string, len(keys))
			for i, k := range keys {
				cells[i] = cell(r[k])
			}
			fmt.Fprintln(w, strings.Join(cells, "\t"))
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := make([]string, len(keys))
	for i, k := range keys {
		head[i] = strings.ToUpper(k)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		cells := make([]string, len(keys))
		for i, k := range keys {
			cells[i] = cell(r[k])
			if cells[i] == "" {
				cells[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = cell(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}
