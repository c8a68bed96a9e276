package sim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Instance statuses the simulator uses.
const (
	statusRunning = "RUNNING"
	statusStopped = "STOPPED"
)

// The simulated storage layout.
const (
	pool         = "tank"
	virtDataset  = pool + "/.ix-virt"
	rootfsPrefix = "/var/lib/incus/storage-pools/" + pool + "/containers/"
	lxcDataset   = pool + "/.truenas_containers"
	lxcPrefix    = "/mnt/.truenas_containers/" + pool + "/containers/"
)

// datasetOf is the ZFS dataset of a container.
func datasetOf(name string) string { return virtDataset + "/containers/" + name }

// entry renders an instance as virt.instance.query does. Called with mu held.
func (s *Server) entry(in *instance) map[string]any {
	aliases := []any{}
	if e, ok := s.sshd[in.Name]; ok && in.Status == statusRunning &&
		time.Since(in.StartedAt) >= s.faults.ipLate {
		aliases = append(aliases, map[string]any{"type": "INET", "address": e.ip, "netmask": 8})
	}
	img, _ := lookupImage(in.Image)
	idmap := map[string]any{"hostid": 2147000001, "maprange": 458752, "nsid": 0}
	env := in.Environment
	if env == nil {
		env = map[string]string{}
	}
	e := map[string]any{
		"id": in.Name, "name": in.Name, "type": "CONTAINER", "status": in.Status,
		"cpu": in.CPU, "memory": in.Memory, "autostart": in.Autostart, "environment": env,
		"aliases": aliases,
		"image": map[string]any{"architecture": "amd64",
			"description": fmt.Sprintf("%s %s amd64 (%s)", img.os, img.release,
				in.Created.UTC().Format("20060102_15:04")),
			"os": img.os, "release": img.release,
			"serial": in.Created.UTC().Format("20060102_15:04"),
			"type":   "squashfs", "variant": "default", "secureboot": nil},
		"userns_idmap": map[string]any{"uid": idmap, "gid": idmap},
		"raw":          nil, "vnc_enabled": false, "vnc_port": nil, "vnc_password": nil,
		"secure_boot": nil, "root_disk_size": nil, "root_disk_io_bus": nil, "storage_pool": pool,
	}
	if s.ver.poolAPI {
		e["privileged_mode"] = false
	}
	return e
}

// instanceEntries renders every instance, sorted by name.
func (s *Server) instanceEntries() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.st.Instances))
	for name := range s.st.Instances {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]map[string]any, 0, len(names))
	for _, name := range names {
		out = append(out, s.entry(s.st.Instances[name]))
	}
	return out
}

// instanceQuery answers virt.instance.query.
func (s *Server) instanceQuery(cl *call) (any, *rpcError) {
	if rerr := tooManyArgs(cl.args, 2); rerr != nil {
		return nil, rerr
	}
	return query(s.instanceEntries(), cl.args)
}

// instanceGet answers virt.instance.get_instance; a miss is a synchronous -32602.
func (s *Server) instanceGet(cl *call) (any, *rpcError) {
	var name string
	if rerr := arg(cl.args, 0, "id", &name); rerr != nil {
		return nil, rerr
	}
	s.mu.Lock()
	in, ok := s.st.Instances[name]
	var e map[string]any
	if ok {
		e = s.entry(in)
	}
	s.mu.Unlock()
	if !ok {
		return nil, invalidParams(fieldError{msg: fmt.Sprintf("VirtInstance %s does not exist",
			name), errno: errnoENOENT})
	}
	return rawJSON(e), nil
}

// image describes one alias of the simulated image server.
type image struct {
	os, release string
}

// images is the simulated image list: real aliases of images.linuxcontainers.org.
var images = map[string]image{
	"ubuntu/24.04": {"Ubuntu", "noble"}, "ubuntu/22.04": {"Ubuntu", "jammy"},
	"debian/12": {"Debian", "bookworm"}, "debian/13": {"Debian", "trixie"},
	"alpine/3.20": {"Alpine", "3.20"}, "alpine/3.21": {"Alpine", "3.21"},
	"fedora/41": {"Fedora", "41"}, "archlinux": {"Archlinux", "current"},
}

// lookupImage finds an image by alias: a key of images, or the OS and release the way the
// image server also names them ("debian/bookworm" beside "debian/12"), which is how 25.x
// describes the image of an existing instance.
func lookupImage(alias string) (image, bool) {
	if img, ok := images[alias]; ok {
		return img, true
	}
	for _, img := range images {
		if strings.ToLower(img.os)+"/"+img.release == alias {
			return img, true
		}
	}
	return image{}, false
}

// imageChoices answers virt.instance.image_choices.
func (s *Server) imageChoices(*call) (any, *rpcError) {
	out := map[string]any{}
	for alias, img := range images {
		out[alias] = map[string]any{
			"label": fmt.Sprintf("%s %s (amd64, default)", img.os, img.release),
			"os":    img.os, "release": img.release, "archs": []string{"amd64", "arm64"},
			"variant": "default", "instance_types": []string{"CONTAINER", "VM"},
			"secureboot": nil,
		}
	}
	return out, nil
}

// nameOf reads the container name a job call is about, for per-container serialisation.
func nameOf(args []json.RawMessage) string {
	if len(args) == 0 {
		return ""
	}
	var name string
	if json.Unmarshal(args[0], &name) == nil {
		return name
	}
	var obj struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(args[0], &obj)
	return obj.Name
}

// incusName is the naming rule Incus applies to instance names.
var incusName = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

// startInstance makes a container RUNNING with its address and SSH listener, and boots it
// (see boot.go). Called with mu held.
func (s *Server) startInstance(in *instance) error {
	if in.NoDataset {
		ds := s.dataset(in.Name)
		return jobCallError(errnoEFAULT, "Failed to start instance: Failed to mount storage "+
			"volume %q: Failed to run: zfs mount %s: exit status 1 (cannot open '%s': dataset "+
			"does not exist)", in.Name, ds, ds)
	}
	if err := s.startListener(in); err != nil {
		return jobCallError(errnoEFAULT, "Failed to start instance: %v.", err)
	}
	in.Status, in.StartedAt = statusRunning, time.Now()
	if err := s.persist(); err != nil {
		return err
	}
	s.publishAddrs(in)
	s.startBoot(in.Name)
	return nil
}

// stopInstance ends a container's boot hooks, makes it STOPPED without addresses and closes
// its listener. Called with mu held.
func (s *Server) stopInstance(in *instance) error {
	s.stopBoot(in.Name)
	err := s.stopListener(in.Name)
	in.Status, in.StartedAt = statusStopped, time.Time{}
	s.publishAddrs(in)
	if perr := s.persist(); perr != nil {
		return perr
	}
	if err != nil {
		s.log.Warn("closing ssh listener", "container", in.Name, "err", err)
	}
	return nil
}

// persist saves the state and rewrites the Record. Called with mu held.
func (s *Server) persist() error {
	if err := s.st.save(s.opts.Dir); err != nil {
		return err
	}
	return s.writeRecord()
}
