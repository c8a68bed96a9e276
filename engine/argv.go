package engine

import "strings"

// globalFlag describes a flag the host accepts anywhere on the line.
type globalFlag struct {
	names []string
	value bool // consumes a value
}

// split is one command line taken apart: urfave/cli v2 stops parsing flags at the first
// positional word, so the host moves every flag before the positionals itself.
type split struct {
	argv []string // what urfave/cli parses: globals, command path, command flags
	pos  []string // positional words
	rest []string // words after "--", or the verbatim tail of a passthrough verb
	spec *CommandSpec
}

func isFlagWord(a string) bool {
	return len(a) > 1 && a[0] == '-' && a != "--"
}

func flagName(a string) (name string, hasValue bool) {
	name = strings.TrimLeft(a, "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		return name[:i], true
	}
	return name, false
}

// splitArgs rearranges args (without the program name) for the command tree.
func splitArgs(args []string, globals []globalFlag, tree *node) split {
	var out split
	var glob []string
	lookupGlobal := func(name string) (globalFlag, bool) {
		for _, g := range globals {
			for _, n := range g.names {
				if n == name {
					return g, true
				}
			}
		}
		return globalFlag{}, false
	}
	// takeGlobal appends args[i] (and its value) when it is a global flag.
	takeGlobal := func(i int) (int, bool) {
		name, inline := flagName(args[i])
		g, ok := lookupGlobal(name)
		if !ok {
			return i, false
		}
		glob = append(glob, args[i])
		if g.value && !inline && i+1 < len(args) {
			glob = append(glob, args[i+1])
			i++
		}
		return i, true
	}

	i := 0
	var path []string
	cur := tree
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if isFlagWord(a) {
			if j, ok := takeGlobal(i); ok {
				i = j
				continue
			}
			if cur == tree {
				glob = append(glob, a) // unknown: let the parser report it
				continue
			}
			break
		}
		next, ok := cur.children[a]
		if !ok {
			break
		}
		path = append(path, a)
		cur = next
	}
	out.spec = cur.spec
	if out.spec == nil {
		// A group or a Go verb: hoist the global flags, pass the rest through in order.
		var tail []string
		for ; i < len(args); i++ {
			if args[i] == "--" {
				tail = append(tail, args[i:]...)
				break
			}
			if isFlagWord(args[i]) {
				if j, ok := takeGlobal(i); ok {
					i = j
					continue
				}
				if (args[i] == "--help" || args[i] == "-h") && len(path) > 0 && len(tail) == 0 &&
					cur != tree && len(cur.children) > 0 {
					continue // a bare group shows its sub-verbs, which --help would not
				}
			}
			tail = append(tail, args[i])
		}
		out.argv = append(append(glob, path...), tail...)
		return out
	}
	var flags []string
	for ; i < len(args); i++ {
		a := args[i]
		if out.spec != nil && out.spec.Passthrough && len(out.pos) >= 1 {
			tail := args[i:]
			if len(tail) > 0 && tail[0] == "--" {
				tail = tail[1:]
			}
			out.rest = append([]string{}, tail...)
			break
		}
		if a == "--" {
			out.rest = append([]string{}, args[i+1:]...)
			break
		}
		if !isFlagWord(a) {
			out.pos = append(out.pos, a)
			continue
		}
		name, _ := flagName(a)
		if _, own := out.spec.flag(name); !own {
			// A verb's own flag wins over a global of the same name (create --timeout).
			if j, ok := takeGlobal(i); ok {
				i = j
				continue
			}
		}
		flags = append(flags, a)
		_, inline := flagName(a)
		if f, ok := out.spec.flag(name); ok && f.Type != "bool" && !inline && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	out.argv = append(append(glob, path...), flags...)
	return out
}

// node is one word of the command tree: a verb, or a group such as "checkpoint".
type node struct {
	word     string
	spec     *CommandSpec
	children map[string]*node
	order    []string
}

func newNode(word string) *node { return &node{word: word, children: map[string]*node{}} }

func (n *node) add(spec *CommandSpec) {
	cur := n
	for _, w := range strings.Split(spec.Name, " ") {
		next, ok := cur.children[w]
		if !ok {
			next = newNode(w)
			cur.children[w] = next
			cur.order = append(cur.order, w)
		}
		cur = next
	}
	cur.spec = spec
}
