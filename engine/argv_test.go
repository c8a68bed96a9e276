package engine

import (
	"reflect"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	tree := newNode("")
	tree.add(&CommandSpec{Name: "stop", Flags: []FlagSpec{{Name: "host", Type: "string"}}})
	tree.add(&CommandSpec{Name: "create", Flags: []FlagSpec{{Name: "image", Type: "string"},
		{Name: "cpu", Type: "int"}, {Name: "force", Type: "bool"}}})
	tree.add(&CommandSpec{Name: "exec", Passthrough: true, Flags: []FlagSpec{
		{Name: "env", Short: "e", Type: "strings"}}})
	tree.add(&CommandSpec{Name: "checkpoint create",
		Flags: []FlagSpec{{Name: "label", Type: "string"}}})
	globals := []globalFlag{{names: []string{"json"}}, {names: []string{"host"}, value: true}}
	cases := []struct {
		name            string
		args            []string
		argv, pos, rest []string
	}{
		{"flags after positional (B16)", []string{"create", "foo", "--image", "debian/12", "--cpu", "2"},
			[]string{"create", "--image", "debian/12", "--cpu", "2"}, []string{"foo"}, nil},
		{"global anywhere", []string{"create", "foo", "--json", "--host", "h"},
			[]string{"--json", "--host", "h", "create"}, []string{"foo"}, nil},
		{"sub-verb", []string{"checkpoint", "create", "foo", "--label", "before-upgrade"},
			[]string{"checkpoint", "create", "--label", "before-upgrade"}, []string{"foo"}, nil},
		{"exec keeps later --", []string{"exec", "foo", "--", "git", "checkout", "--", "README.md"},
			[]string{"exec"}, []string{"foo"}, []string{"git", "checkout", "--", "README.md"}},
		{"exec no separator", []string{"exec", "-e", "A=1", "foo", "sh", "-c", "true"},
			[]string{"exec", "-e", "A=1"}, []string{"foo"}, []string{"sh", "-c", "true"}},
		{"exec flags after name are the command's", []string{"exec", "foo", "--json"},
			[]string{"exec"}, []string{"foo"}, []string{"--json"}},
		{"double dash ends flags", []string{"create", "--", "--image"},
			[]string{"create"}, nil, []string{"--image"}},
		{"own flag beats a global of that name", []string{"stop", "foo", "--host", "x", "--json"},
			[]string{"--json", "stop", "--host", "x"}, []string{"foo"}, nil},
		{"bool flag takes no value", []string{"create", "--force", "foo"},
			[]string{"create", "--force"}, []string{"foo"}, nil},
		{"inline value", []string{"create", "foo", "--image=alpine/3.20"},
			[]string{"create", "--image=alpine/3.20"}, []string{"foo"}, nil},
		{"go verb keeps its words, globals hoisted", []string{"sim", "log", "x", "--json"},
			[]string{"--json", "sim", "log", "x"}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp := splitArgs(tc.args, globals, tree)
			if !reflect.DeepEqual(sp.argv, tc.argv) || !reflect.DeepEqual(sp.pos, tc.pos) ||
				!reflect.DeepEqual(sp.rest, tc.rest) {
				t.Errorf("split(%q) = argv %q pos %q rest %q; want %q %q %q", tc.args, sp.argv,
					sp.pos, sp.rest, tc.argv, tc.pos, tc.rest)
			}
		})
	}
}
