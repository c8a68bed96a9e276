package bindings

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pixels-dev/pixels/engine"
	lua "github.com/yuin/gopher-lua"
)

// opts is a decoded options table: every key was checked against the spec.
type opts struct {
	op   string
	L    *lua.LState
	vals map[string]lua.LValue
}

// decode reads the options table at stack index idx for px.fn, refusing unknown keys and
// wrong types with the key's name.
func decode(L *lua.LState, fn string, idx int) *opts {
	spec := lookup(fn)
	o := &opts{op: "px." + fn, L: L, vals: map[string]lua.LValue{}}
	v := L.Get(idx)
	if v == lua.LNil {
		return o
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		raise(L, engine.CodeInvalid, o.op, "", "%s: options want a table, got %s", o.op, v.Type())
	}
	names := make([]string, len(spec.Options))
	for i, opt := range spec.Options {
		names[i] = opt.Name
	}
	if err := engine.CheckOptions(t, o.op, names); err != nil {
		engine.Raise(L, err)
	}
	for _, opt := range spec.Options {
		val := t.RawGetString(opt.Name)
		if val == lua.LNil {
			continue
		}
		if msg := checkType(opt, val); msg != "" {
			raise(L, engine.CodeInvalid, o.op, "", "%s: option %q %s", o.op, opt.Name, msg)
		}
		o.vals[opt.Name] = val
	}
	return o
}

func checkType(opt Option, v lua.LValue) string {
	got := v.Type().String()
	switch opt.Type {
	case "string":
		s, ok := v.(lua.LString)
		if !ok {
			return "wants a string, got " + got
		}
		if len(opt.Enum) > 0 && !contains(opt.Enum, string(s)) {
			return fmt.Sprintf("wants one of %s, got %q", strings.Join(opt.Enum, ", "), string(s))
		}
	case "int":
		n, ok := v.(lua.LNumber)
		if !ok || float64(n) != float64(int64(n)) {
			return "wants a whole number, got " + got
		}
	case "bool":
		if _, ok := v.(lua.LBool); !ok {
			return "wants true or false, got " + got
		}
	case "duration":
		s, ok := v.(lua.LString)
		if !ok {
			return `wants a duration string like "90s", got ` + got
		}
		if d, err := time.ParseDuration(string(s)); err != nil || d <= 0 {
			return fmt.Sprintf(`wants a positive duration like "90s", got %q`, string(s))
		}
	case "size":
		s, ok := v.(lua.LString)
		if !ok {
			return `wants a size string like "2GiB", got ` + got
		}
		if _, err := ParseSize(string(s)); err != nil {
			return err.Error()
		}
	case "map":
		t, ok := v.(*lua.LTable)
		if !ok {
			return "wants a table of names to strings, got " + got
		}
		bad := ""
		t.ForEach(func(k, val lua.LValue) {
			if _, ok := k.(lua.LString); !ok && bad == "" {
				bad = "wants string keys, got " + k.Type().String()
			}
			if val.Type() != lua.LTString && val.Type() != lua.LTNumber && bad == "" {
				bad = fmt.Sprintf("wants string values, got %s for %s", val.Type(), k.String())
			}
		})
		return bad
	case "strings":
		t, ok := v.(*lua.LTable)
		if !ok {
			return "wants a list of strings, got " + got
		}
		for i := 1; i <= t.Len(); i++ {
			if t.RawGetInt(i).Type() != lua.LTString {
				return fmt.Sprintf("wants a list of strings, item %d is %s", i, t.RawGetInt(i).Type())
			}
		}
	case "stdin":
		if v.Type() != lua.LTString && v.Type() != lua.LTBool {
			return "wants a string or true, got " + got
		}
	case "stream":
		if v.Type() != lua.LTBool && v.Type() != lua.LTFunction {
			return "wants true or a function, got " + got
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (o *opts) has(k string) bool { _, ok := o.vals[k]; return ok }

func (o *opts) str(k, def string) string {
	if v, ok := o.vals[k].(lua.LString); ok {
		return string(v)
	}
	return def
}

func (o *opts) boolean(k string) bool {
	v, _ := o.vals[k].(lua.LBool)
	return bool(v)
}

func (o *opts) integer(k string, def int) int {
	if v, ok := o.vals[k].(lua.LNumber); ok {
		return int(v)
	}
	return def
}

func (o *opts) duration(k string, def time.Duration) time.Duration {
	if v, ok := o.vals[k].(lua.LString); ok {
		d, _ := time.ParseDuration(string(v))
		return d
	}
	return def
}

func (o *opts) stringMap(k string) map[string]string {
	t, ok := o.vals[k].(*lua.LTable)
	if !ok {
		return nil
	}
	out := map[string]string{}
	t.ForEach(func(key, val lua.LValue) { out[key.String()] = val.String() })
	return out
}

func (o *opts) strings(k string) []string {
	t, ok := o.vals[k].(*lua.LTable)
	if !ok {
		return nil
	}
	var out []string
	for i := 1; i <= t.Len(); i++ {
		out = append(out, t.RawGetInt(i).String())
	}
	return out
}

var sizeRe = regexp.MustCompile(`^\s*(\d+(?:\.\d+)?)\s*([KMGT]I?B?|B)?\s*$`)

// ParseSize reads "2GiB", "512MiB", "1.5G" or a bare number of MiB, and returns MiB.
func ParseSize(s string) (int64, error) {
	m := sizeRe.FindStringSubmatch(strings.ToUpper(s))
	if m == nil {
		return 0, fmt.Errorf(`wants a size like "2GiB" or "512MiB", got %q`, s)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	unit := strings.TrimSuffix(strings.TrimSuffix(m[2], "B"), "I")
	mult := map[string]float64{"": 1, "K": 1.0 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}[unit]
	if m[2] == "B" {
		mult = 1.0 / (1024 * 1024)
	}
	mib := int64(n * mult)
	if mib < 32 {
		return 0, fmt.Errorf("wants at least 32MiB (TrueNAS refuses less), got %q", s)
	}
	return mib, nil
}

// raise raises a pixels error table from a host function.
func raise(L *lua.LState, code, op, target, format string, args ...any) {
	engine.Raise(L, &engine.Error{Code: code, Op: op, Target: target,
		Message: fmt.Sprintf(format, args...)})
}
