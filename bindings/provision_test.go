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
