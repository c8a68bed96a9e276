package sim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// queryOptions are the options of every *.query method that the simulator honours.
type queryOptions struct {
	Get     bool           `json:"get"`
	Count   bool           `json:"count"`
	Limit   int            `json:"limit"`
	Offset  int            `json:"offset"`
	OrderBy []string       `json:"order_by"`
	Select  []any          `json:"select"`
	Extra   map[string]any `json:"extra"`
}

// query applies TrueNAS query filters (args[0]) and options (args[1]) to entries.
func query(entries []map[string]any, args []json.RawMessage) (any, *rpcError) {
	var filters []any
	var opts queryOptions
	if rerr := arg(args, 0, "filters", &filters); rerr != nil {
		return nil, rerr
	}
	if rerr := arg(args, 1, "options", &opts); rerr != nil {
		return nil, rerr
	}
	if opts.Get && (opts.Limit > 1 || opts.Offset > 0) {
		return nil, invalidParams(fieldError{attr: "options.get",
			msg: "get may not be combined with limit or offset", errno: errnoEINVAL})
	}

	var out []any
	for _, e := range entries {
		generic := rawJSON(e)
		ok, err := matchAll(generic, filters, 0)
		if err != nil {
			return nil, invalidParams(fieldError{attr: "filters", msg: err.Error(),
				errno: errnoEINVAL})
		}
		if ok {
			out = append(out, generic)
		}
	}
	orderBy(out, opts.OrderBy)
	if opts.Offset > 0 {
		out = out[min(opts.Offset, len(out)):]
	}
	if opts.Limit > 0 && len(out) > opts.Limit {
		out = out[:opts.Limit]
	}
	if opts.Count {
		return len(out), nil
	}
	if len(opts.Select) > 0 {
		out = selectFields(out, opts.Select)
	}
	if opts.Get {
		if len(out) == 0 {
			return nil, plainError("MatchNotFound()")
		}
		return out[0], nil
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

// matchAll reports whether entry passes every filter of a list (AND).
func matchAll(entry any, filters []any, depth int) (bool, error) {
	if depth > 3 {
		return false, fmt.Errorf("filters nested too deeply")
	}
	for _, f := range filters {
		ok, err := matchOne(entry, f, depth)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// matchOne evaluates one filter: [field, op, value] or ["OR", [branches]].
func matchOne(entry any, f any, depth int) (bool, error) {
	list, ok := f.([]any)
	if !ok {
		return false, fmt.Errorf("filter %v is not a list", f)
	}
	if len(list) == 2 && list[0] == "OR" {
		branches, ok := list[1].([]any)
		if !ok {
			return false, fmt.Errorf("OR wants a list of filters")
		}
		for _, b := range branches {
			sub, isList := b.([]any)
			var hit bool
			var err error
			if isList && len(sub) > 0 {
				if _, nested := sub[0].([]any); nested {
					hit, err = matchAll(entry, sub, depth+1)
				} else {
					hit, err = matchOne(entry, b, depth+1)
				}
			}
			if err != nil {
				return false, err
			}
			if hit {
				return true, nil
			}
		}
		return false, nil
	}
	if len(list) != 3 {
		return false, fmt.Errorf("filter %v must have three members", f)
	}
	field, ok := list[0].(string)
	op, ok2 := list[1].(string)
	if !ok || !ok2 {
		return false, fmt.Errorf("filter %v needs a field name and an operator", f)
	}
	return compare(lookup(entry, field), op, list[2])
}

// lookup follows a dotted path into an entry.
func lookup(entry any, path string) any {
	cur := entry
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// compare applies one operator; a "C" prefix makes it case-insensitive.
func compare(have any, op string, want any) (bool, error) {
	if strings.HasPrefix(op, "C") && op != "C~" {
		op = op[1:]
		have, want = fold(have), fold(want)
	}
	hs, hIsStr := have.(string)
	ws, wIsStr := want.(string)
	switch op {
	case "=":
		return equalJSON(have, want), nil
	case "!=":
		return !equalJSON(have, want), nil
	case "^":
		return hIsStr && wIsStr && strings.HasPrefix(hs, ws), nil
	case "!^":
		return !(hIsStr && wIsStr && strings.HasPrefix(hs, ws)), nil
	case "$":
		return hIsStr && wIsStr && strings.HasSuffix(hs, ws), nil
	case "!$":
		return !(hIsStr && wIsStr && strings.HasSuffix(hs, ws)), nil
	case "~":
		re, err := regexp.Compile(ws)
		if err != nil {
			return false, fmt.Errorf("bad regular expression %q: %w", ws, err)
		}
		return hIsStr && re.MatchString(hs), nil
	case "in", "nin":
		hit := contains(want, have)
		return hit == (op == "in"), nil
	case "rin", "rnin":
		hit := contains(have, want)
		return hit == (op == "rin"), nil
	case ">", ">=", "<", "<=":
		c, ok := order(have, want)
		if !ok {
			return false, nil
		}
		return map[string]bool{">": c > 0, ">=": c >= 0, "<": c < 0, "<=": c <= 0}[op], nil
	}
	return false, fmt.Errorf("unknown operator %q", op)
}

// contains reports whether a list (or string) holds v.
func contains(list any, v any) bool {
	switch l := list.(type) {
	case []any:
		for _, x := range l {
			if equalJSON(x, v) {
				return true
			}
		}
	case string:
		s, ok := v.(string)
		return ok && strings.Contains(l, s)
	}
	return false
}

// fold lower-cases strings for the case-insensitive operators.
func fold(v any) any {
	if s, ok := v.(string); ok {
		return strings.ToLower(s)
	}
	return v
}

// equalJSON compares generic JSON values.
func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// order compares two numbers or two strings.
func order(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		y, ok := b.(string)
		return strings.Compare(x, y), ok
	}
	return 0, false
}

// orderBy sorts entries by the given fields; "-" prefix means descending.
func orderBy(entries []any, fields []string) {
	for i := len(fields) - 1; i >= 0; i-- {
		f := strings.TrimPrefix(strings.TrimPrefix(fields[i], "nulls_first:"), "nulls_last:")
		desc := strings.HasPrefix(f, "-")
		f = strings.TrimPrefix(f, "-")
		sort.SliceStable(entries, func(a, b int) bool {
			c, _ := order(lookup(entries[a], f), lookup(entries[b], f))
			if desc {
				return c > 0
			}
			return c < 0
		})
	}
}

// selectFields trims entries to the selected fields ("a.b" or ["a.b", "alias"]).
func selectFields(entries []any, sel []any) []any {
	out := make([]any, 0, len(entries))
	for _, e := range entries {
		m := map[string]any{}
		for _, s := range sel {
			switch v := s.(type) {
			case string:
				m[v[strings.LastIndex(v, ".")+1:]] = lookup(e, v)
			case []any:
				if len(v) == 2 {
					path, _ := v[0].(string)
					alias, _ := v[1].(string)
					m[alias] = lookup(e, path)
				}
			}
		}
		out = append(out, m)
	}
	return out
}
