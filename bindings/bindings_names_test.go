package bindings

import "testing"

func TestBareNames(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`deleting container "px-a": busy`, `deleting container "a": busy`},
		{`px-a is running`, `a is running`},
		{`cannot open 'tank/.ix-virt/containers/px-a@x': no`,
			`cannot open 'tank/.ix-virt/containers/px-a@x': no`},
		{`/mnt/.truenas_containers/tank/containers/px-a/etc/hostname`,
			`/mnt/.truenas_containers/tank/containers/px-a/etc/hostname`},
		{`px-ab and px-a-b stay, px-a goes`, `px-ab and px-a-b stay, a goes`},
	} {
		if got := bareNames(tt.in, "px-a", "a"); got != tt.want {
			t.Errorf("bareNames(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
