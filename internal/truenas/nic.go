package truenas

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// alias is one address entry: an instance's runtime address, or an interface's alias.
type alias struct {
	Type    string          `json:"type"` // INET or INET6
	Address string          `json:"address"`
	Netmask json.RawMessage `json:"netmask"` // prefix length as int or string, or a dotted mask
}

// splitAliases sorts addresses into IPv4 and IPv6, dropping only link-local ones. Loopback
// stays: the simulator gives containers 127.77.x.y addresses.
func splitAliases(as []alias) (v4, v6 []string) {
	for _, a := range as {
		ip := net.ParseIP(strings.TrimSpace(a.Address))
		if ip == nil || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
			continue
		}
		if ip.To4() != nil {
			v4 = append(v4, ip.String())
		} else {
			v6 = append(v6, ip.String())
		}
	}
	return v4, v6
}

// subnet returns the network an interface alias belongs to, or nil when its mask is unknown.
func (a alias) subnet() *net.IPNet {
	ip := net.ParseIP(strings.TrimSpace(a.Address))
	if ip == nil {
		return nil
	}
	bits := 128
	if ip4 := ip.To4(); ip4 != nil {
		ip, bits = ip4, 32
	}

	text := strings.Trim(strings.TrimSpace(string(a.Netmask)), `"`)
	ones, err := strconv.Atoi(text)
	if err != nil {
		mask := net.ParseIP(text)
		if mask == nil || mask.To4() == nil {
			return nil
		}
		ones, _ = net.IPMask(mask.To4()).Size()
	}
	if ones <= 0 || ones > bits {
		return nil
	}
	m := net.CIDRMask(ones, bits)
	return &net.IPNet{IP: ip.Mask(m), Mask: m}
}

// iface is the part of an interface.query entry NIC detection reads.
type iface struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	Aliases []alias `json:"aliases"`
	State   struct {
		Aliases []alias `json:"aliases"`
	} `json:"state"`
}

// nicChoice is the NIC device Create sends; an empty Parent means "send no NIC".
type nicChoice struct {
	Type   string
	Parent string
}

// pickNIC fills in whatever of type and parent the caller left empty. The parent is the
// host interface whose subnet holds the default gateway, checking configured (static) and
// runtime (DHCP) addresses alike; a bridge gets BRIDGED, anything else MACVLAN. When nothing
// fits it returns an empty choice, and the container gets the default profile's network.
func pickNIC(ctx context.Context, c *Conn, nicType, parent string) (nicChoice, error) {
	nicType = strings.ToUpper(nicType)
	if nicType != "" && parent != "" {
		return nicChoice{Type: nicType, Parent: parent}, nil
	}

	var ifaces []iface
	if err := c.Call(ctx, "interface.query", nil, &ifaces); err != nil {
		return nicChoice{}, fmt.Errorf("detecting network interface: %w", err)
	}

	var chosen *iface
	if parent != "" {
		chosen = findIface(ifaces, parent)
		if chosen == nil {
			return nicChoice{}, fmt.Errorf("detecting network interface: %w: no host "+
				"interface named %q", ErrInvalid, parent)
		}
	} else {
		var summary struct {
			DefaultRoutes []string `json:"default_routes"`
		}
		if err := c.Call(ctx, "network.general.summary", nil, &summary); err != nil {
			return nicChoice{}, fmt.Errorf("detecting default route: %w", err)
		}
		chosen = gatewayIface(ifaces, summary.DefaultRoutes)
		if chosen == nil {
			return nicChoice{}, nil
		}
	}

	if nicType == "" {
		nicType = "MACVLAN"
		if strings.EqualFold(chosen.Type, "BRIDGE") {
			nicType = "BRIDGED"
		}
	}
	return nicChoice{Type: nicType, Parent: chosen.name()}, nil
}

func (i *iface) name() string {
	if i.Name != "" {
		return i.Name
	}
	return i.ID
}

func findIface(ifaces []iface, name string) *iface {
	for k := range ifaces {
		if ifaces[k].ID == name || ifaces[k].Name == name {
			return &ifaces[k]
		}
	}
	return nil
}

// gatewayIface returns the interface on the subnet of the first default route that any
// interface reaches, IPv4 routes first.
func gatewayIface(ifaces []iface, routes []string) *iface {
	var v4, v6 []net.IP
	for _, r := range routes {
		ip := net.ParseIP(strings.TrimSpace(r))
		switch {
		case ip == nil:
		case ip.To4() != nil:
			v4 = append(v4, ip)
		default:
			v6 = append(v6, ip)
		}
	}
	for _, gw := range append(v4, v6...) {
		for k := range ifaces {
			all := append(append([]alias{}, ifaces[k].Aliases...), ifaces[k].State.Aliases...)
			for _, a := range all {
				if n := a.subnet(); n != nil && n.Contains(gw) {
					return &ifaces[k]
				}
			}
		}
	}
	return nil
}
