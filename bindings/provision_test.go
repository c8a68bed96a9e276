package bindings

import "testing"

func TestRenameHost(t *testing.T) {
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"the usual line", "127.0.0.1\tlocalhost\n127.0.1.1\tpx-a\n",
			"127.0.0.1\tlocalhost\n127.0.1.1\tpx-b\n", true},
		{"dotted and aliased", "10.0.0.5 px-a.lan px-a other # px-a here\n",
			"10.0.0.5\tpx-b.lan\tpx-b\tother # px-a here\n", true},
		{"longer names are other hosts", "127.0.1.1 px-ab px-a-2\n",
			"127.0.1.1 px-ab px-a-2\n", false},
		{"comments and addresses stay", "# px-a\npx-a 1.2.3.4\n", "# px-a\npx-a 1.2.3.4\n", false},
		{"no final newline", "127.0.1.1 px-a", "127.0.1.1\tpx-b", true},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := renameHost(tt.in, "px-a", "px-b")
			if got != tt.want || changed != tt.changed {
				t.Errorf("renameHost = %q, %v; want %q, %v", got, changed, tt.want, tt.changed)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for s, want := range map[string]uint32{"0644": 0o644, "755": 0o755, "4755": 0o4755,
		"0000": 0} {
		if got, ok := parseMode(s); !ok || got != want {
			t.Errorf("parseMode(%q) = %o, %v; want %o", s, got, ok, want)
		}
	}
	for _, s := range []string{"0999", "0644junk", " 0600", "", "64", "07777x", "-644", "08"} {
		if _, ok := parseMode(s); ok {
			t.Errorf("parseMode(%q) accepted it", s)
		}
	}
}

func TestParseOwner(t *testing.T) {
	for s, want := range map[string][2]int{"root": {0, 0}, "1000:1000": {1000, 1000},
		"0:5": {0, 5}, "4294967294:1": {4294967294, 1}} {
		uid, gid, ok := parseOwner(s)
		if !ok || uid != want[0] || gid != want[1] {
			t.Errorf("parseOwner(%q) = %d, %d, %v; want %v", s, uid, gid, ok, want)
		}
	}
	for _, s := range []string{"1:2:3", "1:2junk", "99999999999:0", "-1:-1", "4294967295:0",
		"1000", ":", "1:", "admin:admin", "+1:2", " 1:2"} {
		if _, _, ok := parseOwner(s); ok {
			t.Errorf("parseOwner(%q) accepted it", s)
		}
	}
}
