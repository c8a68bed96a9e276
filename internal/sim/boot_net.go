package sim

// The network a booted container sees: the addresses the server gives its Box, and the two
// ways scripts usually ask for them, `hostname -I` and iproute2's `ip addr`.

import (
	"fmt"
	"hash/fnv"
	"net"
	"slices"
	"strings"
	"time"
)

// SetAddrs sets the addresses the container has on eth0, as `hostname -I` and `ip addr`
// report them. They appear from the moment from on (the zero time: at once), as a slow DHCP
// lease would make them; nil means none, as for a stopped container.
func (b *Box) SetAddrs(addrs []string, from time.Time) {
	b.addrMu.Lock()
	defer b.addrMu.Unlock()

	b.addrs, b.addrsFrom = slices.Clone(addrs), from
}

// Addrs returns the container's current addresses on eth0, or nil when it has none yet.
func (b *Box) Addrs() []string {
	b.addrMu.Lock()
	defer b.addrMu.Unlock()

	if time.Now().Before(b.addrsFrom) {
		return nil
	}

	return slices.Clone(b.addrs)
}

// netAddr is one address of one interface, as ip addr prints it.
type netAddr struct {
	family string // "inet" or "inet6"
	cidr   string // address/prefix
	brd    string // IPv4 broadcast address, or ""
	scope  string
}

// netLink is one interface of the container.
type netLink struct {
	index  int
	name   string
	header string // the link lines of the multi-line format, after "N: name"
	addrs  []netAddr
}

// links lists lo and eth0 with their addresses.
func (b *Box) links() []netLink {
	h := fnv.New32a()
	h.Write([]byte(b.hostname))
	sum := h.Sum32()
	mac := fmt.Sprintf("00:16:3e:%02x:%02x:%02x", byte(sum>>16), byte(sum>>8), byte(sum))

	lo := netLink{index: 1, name: "lo",
		header: ": <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default " +
			"qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n",
		addrs: []netAddr{{family: "inet", cidr: "127.0.0.1/8", scope: "host"},
			{family: "inet6", cidr: "::1/128", scope: "host"}}}
	eth := netLink{index: 2, name: "eth0",
		header: "@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP " +
			"group default qlen 1000\n    link/ether " + mac +
			" brd ff:ff:ff:ff:ff:ff link-netnsid 0\n"}
	for _, a := range b.Addrs() {
		ip := net.ParseIP(a)
		switch {
		case ip == nil:
		case ip.To4() == nil:
			eth.addrs = append(eth.addrs, netAddr{family: "inet6", cidr: a + "/64",
				scope: "global"})
		default:
			bits := 24
			if ip.IsLoopback() {
				bits = 8 // how the API reports the alias
			}
			ipn := &net.IPNet{IP: ip.To4(), Mask: net.CIDRMask(bits, 32)}
			brd := make(net.IP, 4)
			for i := range brd {
				brd[i] = ipn.IP[i] | ^ipn.Mask[i]
			}
			eth.addrs = append(eth.addrs, netAddr{family: "inet", cidr: fmt.Sprintf("%s/%d",
				a, bits), brd: brd.String(), scope: "global"})
		}
	}

	return []netLink{lo, eth}
}

// toolIP answers iproute2's address queries: ip [-o] [-4|-6] addr [show|list] [dev NAME]
// [scope SCOPE] [up]. Other objects and verbs are recorded and succeed, like unknown programs.
func toolIP(tc *toolCtx, args []string) error {
	oneline, family := false, ""
	rest := args[1:]
	for ; len(rest) > 0 && strings.HasPrefix(rest[0], "-"); rest = rest[1:] {
		switch rest[0] {
		case "-o", "-oneline":
			oneline = true
		case "-4":
			family = "inet"
		case "-6":
			family = "inet6"
		}
	}
	if len(rest) == 0 || !strings.HasPrefix("address", rest[0]) {
		return tc.st.box.record("+ " + quoteArgs(args))
	}
	rest = rest[1:]
	if len(rest) > 0 && slices.Contains([]string{"show", "list", "lst", "sh", "s"}, rest[0]) {
		rest = rest[1:]
	}

	dev, scope := "", ""
	for ; len(rest) > 0; rest = rest[1:] {
		switch w := rest[0]; {
		case (w == "dev" || w == "scope") && len(rest) > 1:
			if w == "dev" {
				dev = rest[1]
			} else {
				scope = rest[1]
			}
			rest = rest[1:]
		case w == "up" || w == "primary":
		case dev == "" && !strings.Contains(w, " "):
			dev = w
		default:
			return tc.st.box.record("+ " + quoteArgs(args)) // a change, not a query
		}
	}

	links := tc.st.box.links()
	if dev != "" && !slices.ContainsFunc(links, func(l netLink) bool { return l.name == dev }) {
		fmt.Fprintf(tc.stderr, "Device \"%s\" does not exist.\n", dev)
		return exitCode(1)
	}
	for _, l := range links {
		if dev != "" && l.name != dev {
			continue
		}
		var shown []netAddr
		for _, a := range l.addrs {
			if (family == "" || a.family == family) && (scope == "" || a.scope == scope) {
				shown = append(shown, a)
			}
		}
		if !oneline && (len(shown) > 0 || family == "" && scope == "") {
			fmt.Fprintf(tc.stdout, "%d: %s%s", l.index, l.name, l.header)
		}
		for _, a := range shown {
			fmt.Fprint(tc.stdout, addrLine(l, a, oneline))
		}
	}

	return nil
}

// addrLine renders one address in the multi-line or the one-line (-o) format. Like iproute2,
// an IPv6 line has no label, which leaves a space after its scope.
func addrLine(l netLink, a netAddr, oneline bool) string {
	text := a.family + " " + a.cidr
	if a.brd != "" {
		text += " brd " + a.brd
	}
	text += " scope " + a.scope + " "
	if a.family == "inet" {
		text += l.name
	}
	const life = "       valid_lft forever preferred_lft forever\n"
	if oneline {
		return fmt.Sprintf("%d: %s    %s\\%s", l.index, l.name, text, life)
	}

	return "    " + text + "\n" + life
}
