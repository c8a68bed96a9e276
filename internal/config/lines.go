package config

import (
	"sort"
	"strings"
)

// lineIndex maps dotted keys to the line (from 1) where the file first sets them. The TOML
// library reports no positions for keys it decoded, so pixels scans the text itself; the
// index only serves messages, so an odd construct at worst loses its line number.
type lineIndex map[string]int

// keyLines scans TOML text for table headers and key/value lines.
func keyLines(text string) lineIndex {
	idx := lineIndex{}
	table := ""
	inMulti := ""

	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)

		if inMulti != "" {
			if strings.Count(trimmed, inMulti)%2 == 1 {
				inMulti = ""
			}
			continue
		}

		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		case strings.HasPrefix(trimmed, "["):
			name := strings.Trim(strings.SplitN(trimmed, "#", 2)[0], " \t")
			name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
			name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
			table = normalizeKey(name)
			idx.add(table, n)
			continue
		}

		eq := strings.Index(trimmed, "=")
		if eq < 0 {
			continue
		}
		key := normalizeKey(trimmed[:eq])
		if table != "" {
			key = table + "." + key
		}
		idx.add(key, n)

		rest := trimmed[eq+1:]
		for _, q := range []string{`"""`, `'''`} {
			if strings.Count(rest, q)%2 == 1 {
				inMulti = q
			}
		}
	}

	return idx
}

func (idx lineIndex) add(key string, n int) {
	if _, ok := idx[key]; !ok {
		idx[key] = n
	}
}

// find returns the line of key, or of its nearest enclosing table or inline table, or 0.
func (idx lineIndex) find(key string) int {
	for k := key; k != ""; {
		if n, ok := idx[k]; ok {
			return n
		}
		dot := strings.LastIndex(k, ".")
		if dot < 0 {
			break
		}
		k = k[:dot]
	}
	return 0
}

// normalizeKey turns `ssh . "port"` into `ssh.port`.
func normalizeKey(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		p = strings.Trim(p, `"'`)
		parts[i] = p
	}
	return strings.Join(parts, ".")
}

// unknownMessage describes a key pixels does not read: a key of the original tool's later
// versions, or an unknown key with the nearest known one as a suggestion.
func unknownMessage(key string) string {
	for _, later := range laterKeys {
		if key == later || (strings.HasSuffix(later, ".") && strings.HasPrefix(key, later)) {
			return "key " + key + " is not used by this version of pixels (ignored)"
		}
	}

	msg := "unknown key " + key
	if s := suggest(key); s != "" {
		msg += " (did you mean " + s + "?)"
	}
	return msg
}

// suggest returns the known key closest to key: one a few edits away, or one in the same
// table whose name starts with the unknown name (insecure -> insecure_skip_verify).
func suggest(key string) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	sort.Strings(known)

	best, bestDist := "", 0
	for _, k := range known {
		d := distance(key, k)
		if best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist <= max(2, len(key)/5) {
		return best
	}

	table, leaf, ok := strings.Cut(key, ".")
	if !ok || len(leaf) < 3 {
		return ""
	}
	for _, k := range known {
		kt, kl, _ := strings.Cut(k, ".")
		if kt == table && (strings.HasPrefix(kl, leaf) || strings.HasPrefix(leaf, kl)) {
			return k
		}
	}
	return ""
}

// distance is the Levenshtein edit distance, counting an adjacent swap as one edit so that
// "imgae" is one step from "image".
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}

	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}

	return prev[len(rb)]
}
