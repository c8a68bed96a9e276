package truenas

import (
	"context"
	"fmt"
	"strings"
)

// registryImage is one entry of container.image.query_registry.
type registryImage struct {
	Name     string `json:"name"` // e.g. "ubuntu:noble:amd64:default"
	Versions []struct {
		Version string `json:"version"`
	} `json:"versions"`
}

// codenames maps numeric linuxcontainers aliases to the release names 26's registry uses.
var codenames = map[string]string{
	"ubuntu/20.04": "focal", "ubuntu/22.04": "jammy", "ubuntu/24.04": "noble",
	"ubuntu/25.04": "plucky", "debian/11": "bullseye", "debian/12": "bookworm",
	"debian/13": "trixie",
}

// Create creates a container from the registry image matching spec.Image, attaches a NIC
// to the detected (or configured) host interface, installs the address reporter, and starts
// it when spec.Autostart. CPU and memory limits do not exist on 26 and are ignored.
func (x *lxc) Create(ctx context.Context, spec CreateSpec, progress Progress) (*Container,
	error) {
	return x.create(ctx, spec, spec.Autostart, progress)
}

// create is Create with the first start decided apart from the autostart flag.
func (x *lxc) create(ctx context.Context, spec CreateSpec, start bool, progress Progress) (
	*Container, error) {
	if spec.Name == "" || spec.Image == "" {
		return nil, fmt.Errorf("creating container %q: %w: name and image are required",
			spec.Name, ErrInvalid)
	}
	if spec.CPU != "" || spec.Memory != 0 {
		x.c.log.Debug("truenas 26 has no CPU or memory limits; ignoring them", "name", spec.Name)
	}

	img, version, err := x.resolveImage(ctx, spec.Image)
	if err != nil {
		return nil, fmt.Errorf("creating container %q: %w", spec.Name, err)
	}
	nic, err := pickNIC(ctx, x.c, spec.NICType, spec.NICParent)
	if err != nil {
		return nil, fmt.Errorf("creating container %q: %w", spec.Name, err)
	}

	params := map[string]any{
		"name":        spec.Name,
		"image":       map[string]any{"name": img, "version": version},
		"autostart":   spec.Autostart,
		"description": imageTag + spec.Image,
	}
	if spec.Pool != "" {
		params["pool"] = spec.Pool
	}
	if len(spec.Environment) > 0 {
		params["initenv"] = spec.Environment
	}
	var e lxcEntry
	err = x.c.CallJob(ctx, "container.create", []any{params}, &e, progress)
	if err == nil && e.ID == 0 {
		var got *lxcEntry
		if got, err = x.entry(ctx, spec.Name); err == nil {
			e = *got
		}
	}
	if err != nil {
		return nil, fmt.Errorf("creating container %q: %w", spec.Name, err)
	}

	if err := x.finishCreate(ctx, &e, nic, start); err != nil {
		return nil, halfMade{fmt.Errorf("creating container %q: %w", spec.Name, err)}
	}
	return x.Get(ctx, spec.Name)
}

// finishCreate does what 26's create leaves out: the NIC, the reporter and the first start.
func (x *lxc) finishCreate(ctx context.Context, e *lxcEntry, nic nicChoice, start bool) error {
	if nic.Parent != "" {
		dev := map[string]any{"container": e.ID, "attributes": map[string]any{
			"dtype": "NIC", "type": "VIRTIO", "nic_attach": nic.Parent,
		}}
		if err := x.c.Call(ctx, "container.device.create", []any{dev}, nil); err != nil {
			return fmt.Errorf("attaching NIC to %s: %w", nic.Parent, err)
		}
	} else {
		x.c.log.Debug("truenas no NIC parent found; the container gets the default bridge, "+
			"which the LAN cannot reach", "name", e.Name)
	}

	if err := x.installReporter(ctx, e); err != nil {
		return fmt.Errorf("installing the address reporter: %w", err)
	}
	if start {
		if err := x.c.Call(ctx, "container.start", []any{e.ID}, nil); err != nil {
			return fmt.Errorf("starting: %w", err)
		}
	}
	return nil
}

// resolveImage finds the registry name and newest version for a linuxcontainers-style alias
// ("ubuntu/24.04", "alpine/3.20") or a registry name given as is ("ubuntu:noble:amd64:default").
func (x *lxc) resolveImage(ctx context.Context, alias string) (string, string, error) {
	var reg []registryImage
	if err := x.c.Call(ctx, "container.image.query_registry", nil, &reg); err != nil {
		return "", "", fmt.Errorf("reading the image registry: %w", err)
	}
	name, version, ok := matchImage(reg, alias)
	if !ok {
		var names []string
		for _, r := range reg {
			names = append(names, r.Name)
		}
		return "", "", fmt.Errorf("%w: no image %q in the TrueNAS registry (it has: %s)",
			ErrInvalid, alias, strings.Join(names, ", "))
	}
	return name, version, nil
}

// matchImage picks the registry entry for alias, preferring amd64 and the default variant.
func matchImage(reg []registryImage, alias string) (string, string, bool) {
	var prefix string
	if strings.Contains(alias, ":") {
		prefix = alias
	} else {
		osName, release, _ := strings.Cut(strings.ToLower(alias), "/")
		if code, ok := codenames[strings.ToLower(alias)]; ok {
			release = code
		}
		prefix = osName + ":" + release + ":"
	}

	best := -1
	for i, r := range reg {
		if len(r.Versions) == 0 || !(r.Name == prefix || strings.HasPrefix(r.Name, prefix)) {
			continue
		}
		if best < 0 || strings.HasSuffix(r.Name, ":amd64:default") {
			best = i
		}
	}
	if best < 0 {
		return "", "", false
	}
	r := reg[best]
	return r.Name, r.Versions[len(r.Versions)-1].Version, true
}
