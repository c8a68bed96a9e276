package engine

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// CommandSpec is what a script declares with px.command{}. It drives help, flag parsing
// and completion without running the script's code.
type CommandSpec struct {
	Name     string // may hold a space: "checkpoint create" is a sub-verb of "checkpoint"
	Summary  string
	Usage    string
	Flags    []FlagSpec
	Args     []ArgSpec
	Requires string
	Override bool
	// Passthrough makes every word after the first argument verbatim (exec, console).
	Passthrough bool
	Source      string // file the spec came from, for messages
	Builtin     bool
	file        source
	invocation  string // how users call it, when not by Name (a recipe: "run FILE")
}

// FlagSpec is one declared flag.
type FlagSpec struct {
	Name           string
	Type           string     // string, int, number, bool, duration, strings
	Default        lua.LValue // scalar default, LNil when none
	DefaultStrings []string   // default of a strings flag
	Help           string
	Short          string
	Enum           []string
	Env            string
}

// ArgSpec is one declared positional argument.
type ArgSpec struct {
	Name     string
	Help     string
	Optional bool
	Variadic bool
}

var verbWord = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

var flagTypes = []string{"string", "int", "number", "bool", "duration", "strings"}

var commandKeys = []string{"name", "summary", "usage", "flags", "args", "requires",
	"override", "run", "passthrough"}
var flagKeys = []string{"name", "type", "default", "help", "short", "enum", "env"}
var argKeys = []string{"name", "help", "optional", "variadic"}

// checkKeys refuses keys of t not in allowed, suggesting the closest.
func checkKeys(t *lua.LTable, what string, allowed []string) error {
	var bad []string
	t.ForEach(func(k, _ lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok {
			if _, isNum := k.(lua.LNumber); isNum && what != "command" {
				bad = append(bad, fmt.Sprintf("positional value %v", k))
			}
			return
		}
		for _, a := range allowed {
			if string(ks) == a {
				return
			}
		}
		bad = append(bad, fmt.Sprintf("unknown key %q%s", string(ks), suggest(string(ks), allowed)))
	})
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%s: %s", what, strings.Join(bad, ", "))
	}
	return nil
}

// suggest returns ` (did you mean "x"?)` when a close name exists.
func suggest(got string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(got, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func optString(t *lua.LTable, key string) (string, error) {
	switch v := t.RawGetString(key).(type) {
	case *lua.LNilType:
		return "", nil
	case lua.LString:
		return string(v), nil
	default:
		return "", fmt.Errorf("%q wants a string, got %s", key, v.Type())
	}
}

func optBool(t *lua.LTable, key string) (bool, error) {
	switch v := t.RawGetString(key).(type) {
	case *lua.LNilType:
		return false, nil
	case lua.LBool:
		return bool(v), nil
	default:
		return false, fmt.Errorf("%q wants a boolean, got %s", key, v.Type())
	}
}

// parseSpec reads a px.command{} table strictly.
func parseSpec(t *lua.LTable) (*CommandSpec, *lua.LFunction, error) {
	if err := checkKeys(t, "px.command", commandKeys); err != nil {
		return nil, nil, err
	}
	s := &CommandSpec{}
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &s.Name}, {"summary", &s.Summary}, {"usage", &s.Usage}, {"requires", &s.Requires}} {
		if *f.dst, err = optString(t, f.key); err != nil {
			return nil, nil, fmt.Errorf("px.command: %w", err)
		}
	}
	if s.Override, err = optBool(t, "override"); err != nil {
		return nil, nil, fmt.Errorf("px.command: %w", err)
	}
	if s.Passthrough, err = optBool(t, "passthrough"); err != nil {
		return nil, nil, fmt.Errorf("px.command: %w", err)
	}
	if err := validName(s.Name); err != nil {
		return nil, nil, fmt.Errorf("px.command: %w", err)
	}
	run, ok := t.RawGetString("run").(*lua.LFunction)
	if !ok {
		return nil, nil, fmt.Errorf("px.command %q: \"run\" must be a function", s.Name)
	}
	if s.Flags, err = parseFlags(t.RawGetString("flags")); err != nil {
		return nil, nil, fmt.Errorf("px.command %q: %w", s.Name, err)
	}
	if s.Args, err = parseArgs(t.RawGetString("args")); err != nil {
		return nil, nil, fmt.Errorf("px.command %q: %w", s.Name, err)
	}
	return s, run, nil
}

func validName(name string) error {
	if name == "" {
		return fmt.Errorf("\"name\" is required")
	}
	for _, w := range strings.Split(name, " ") {
		if !verbWord.MatchString(w) {
			return fmt.Errorf("name %q: each word wants lowercase letters, digits and dashes, "+
				"starting with a letter", name)
		}
	}
	return nil
}

func parseFlags(v lua.LValue) ([]FlagSpec, error) {
	if v == lua.LNil {
		return nil, nil
	}
	list, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("\"flags\" wants a list of tables, got %s", v.Type())
	}
	var out []FlagSpec
	seen := map[string]bool{}
	for i := 1; i <= list.Len(); i++ {
		ft, ok := list.RawGetInt(i).(*lua.LTable)
		if !ok {
			return nil, fmt.Errorf("flags[%d] wants a table", i)
		}
		if err := checkKeys(ft, fmt.Sprintf("flags[%d]", i), flagKeys); err != nil {
			return nil, err
		}
		f := FlagSpec{Default: ft.RawGetString("default")}
		var err error
		for _, g := range []struct {
			key string
			dst *string
		}{{"name", &f.Name}, {"type", &f.Type}, {"help", &f.Help}, {"short", &f.Short},
			{"env", &f.Env}} {
			if *g.dst, err = optString(ft, g.key); err != nil {
				return nil, fmt.Errorf("flags[%d]: %w", i, err)
			}
		}
		if f.Name == "" || strings.HasPrefix(f.Name, "-") || strings.ContainsAny(f.Name, " =") {
			return nil, fmt.Errorf("flags[%d]: \"name\" wants a word like \"dry-run\"", i)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("flag %q declared twice", f.Name)
		}
		seen[f.Name] = true
		if f.Type == "" {
			f.Type = "string"
		}
		if !contains(flagTypes, f.Type) {
			return nil, fmt.Errorf("flag %q: type %q is not one of %s", f.Name, f.Type,
				strings.Join(flagTypes, ", "))
		}
		if len(f.Short) > 1 {
			return nil, fmt.Errorf("flag %q: \"short\" wants one letter", f.Name)
		}
		if d, ok := f.Default.(*lua.LTable); ok && f.Type == "strings" {
			for j := 1; j <= d.Len(); j++ {
				f.DefaultStrings = append(f.DefaultStrings, lua.LVAsString(d.RawGetInt(j)))
			}
		}
		if e, ok := ft.RawGetString("enum").(*lua.LTable); ok {
			for j := 1; j <= e.Len(); j++ {
				f.Enum = append(f.Enum, lua.LVAsString(e.RawGetInt(j)))
			}
		}
		if err := checkDefault(f); err != nil {
			return nil, err
		}
		if f.Type == "strings" {
			f.Default = lua.LNil // kept as DefaultStrings: no Lua table outlives its state
		}
		out = append(out, f)
	}
	return out, nil
}

func checkDefault(f FlagSpec) error {
	if f.Default == lua.LNil {
		return nil
	}
	want := map[string]lua.LValueType{"string": lua.LTString, "int": lua.LTNumber,
		"number": lua.LTNumber, "bool": lua.LTBool, "duration": lua.LTString,
		"strings": lua.LTTable}[f.Type]
	if f.Default.Type() != want {
		return fmt.Errorf("flag %q: default wants a %s, got %s", f.Name, want, f.Default.Type())
	}
	if f.Type == "duration" {
		if _, err := time.ParseDuration(f.Default.String()); err != nil {
			return fmt.Errorf("flag %q: default %q is not a duration like \"90s\"", f.Name,
				f.Default.String())
		}
	}
	return nil
}

func parseArgs(v lua.LValue) ([]ArgSpec, error) {
	if v == lua.LNil {
		return nil, nil
	}
	list, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("\"args\" wants a list of tables, got %s", v.Type())
	}
	var out []ArgSpec
	for i := 1; i <= list.Len(); i++ {
		at, ok := list.RawGetInt(i).(*lua.LTable)
		if !ok {
			return nil, fmt.Errorf("args[%d] wants a table", i)
		}
		if err := checkKeys(at, fmt.Sprintf("args[%d]", i), argKeys); err != nil {
			return nil, err
		}
		a := ArgSpec{}
		var err error
		if a.Name, err = optString(at, "name"); err != nil || a.Name == "" {
			return nil, fmt.Errorf("args[%d]: \"name\" is required", i)
		}
		if a.Help, err = optString(at, "help"); err != nil {
			return nil, fmt.Errorf("args[%d]: %w", i, err)
		}
		if a.Optional, err = optBool(at, "optional"); err != nil {
			return nil, fmt.Errorf("args[%d]: %w", i, err)
		}
		if a.Variadic, err = optBool(at, "variadic"); err != nil {
			return nil, fmt.Errorf("args[%d]: %w", i, err)
		}
		if a.Variadic && i != list.Len() {
			return nil, fmt.Errorf("args[%d]: only the last argument may be variadic", i)
		}
		out = append(out, a)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// flag finds the declared flag called name (long name or short letter).
func (s *CommandSpec) flag(name string) (*FlagSpec, bool) {
	for i := range s.Flags {
		f := &s.Flags[i]
		if f.Name == name || (f.Short != "" && f.Short == name) {
			return f, true
		}
	}
	return nil, false
}
