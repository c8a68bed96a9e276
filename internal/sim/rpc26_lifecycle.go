package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"syscall"
	"time"
)

// create26 is a decoded container.create argument.
type create26 struct {
	Name  string  `json:"name"`
	Pool  *string `json:"pool"`
	UUID  *string `json:"uuid"`
	Image struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"image"`
}

// containerCreate answers container.create: a job that pulls the image (with progress the
// first time per image version), clones it and returns the STOPPED entry. It never starts.
func (s *Server) containerCreate(cl *call) (any, *rpcError) {
	return cl.startJob(nameOf(cl.args), func(r *jobRun) (any, error) {
		spec, settings, err := s.validate26(cl.args)
		if err != nil {
			return nil, err
		}
		key := spec.Image.Name + "@" + spec.Image.Version
		s.mu.Lock()
		pulled := s.st.Pulled[key]
		s.mu.Unlock()
		if !pulled {
			step := s.faults.jobTime * 3 / 4
			for _, p := range []struct {
				pct  float64
				desc string
			}{{0, "Connecting to image repository..."},
				{40, "Downloading image: 61.5MB / 150.0MB"},
				{80, "Extracting image files..."}, {90, "Creating ZFS snapshot..."}} {
				r.progress(p.pct, p.desc)
				if err := r.sleep(step); err != nil {
					return nil, err
				}
			}
		}

		s.mu.Lock()
		defer s.mu.Unlock()
		if s.st.Pulled == nil {
			s.st.Pulled = map[string]bool{}
		}
		s.st.Pulled[key] = true
		in := &instance{Name: spec.Name, Image: spec.Image.Name, Status: statusStopped,
			Created: time.Now(), Settings: settings}
		s.st.NextID++
		in.ID, in.UUID = s.st.NextID, uuid()
		if spec.UUID != nil {
			in.UUID = *spec.UUID
		}
		if s.lookupDS(s.dataset(in.Name)).kind != dsMissing {
			return nil, jobCallError(errnoEFAULT, "Failed to create container: dataset '%s' "+
				"already exists", s.dataset(in.Name))
		}
		if _, err := s.openBox(in.Name); err != nil {
			return nil, jobCallError(errnoEFAULT, "Failed to create container: %v", err)
		}
		s.st.Instances[in.Name] = in
		if err := s.persist(); err != nil {
			return nil, err
		}
		s.emit26("added", in)
		return rawJSON(s.entry26(in)), nil
	})
}

// validate26 checks a container.create argument; it returns the spec and the settings.
func (s *Server) validate26(args []json.RawMessage) (*create26, map[string]any, error) {
	var raw map[string]json.RawMessage
	if len(args) != 1 || json.Unmarshal(args[0], &raw) != nil {
		return nil, nil, jobValidation(fieldError{"container_create",
			"Input should be a valid dictionary", errnoEINVAL})
	}
	var errs []fieldError
	settings := map[string]any{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch _, known := settings26[k]; {
		case known:
			var v any
			_ = json.Unmarshal(raw[k], &v)
			settings[k] = v
		case k == "name" || k == "image" || k == "pool" || k == "uuid":
		default:
			errs = append(errs, fieldError{"container_create." + k,
				"Extra inputs are not permitted", errnoEINVAL})
		}
	}
	spec := &create26{}
	if err := json.Unmarshal(args[0], spec); err != nil {
		errs = append(errs, fieldError{"container_create", err.Error(), errnoEINVAL})
		return nil, nil, jobValidation(errs...)
	}
	if !hostname26.MatchString(spec.Name) || len(spec.Name) > 100 {
		errs = append(errs, fieldError{"container_create.name",
			"Name must be a valid hostname", errnoEINVAL})
	}
	s.mu.Lock()
	for _, in := range s.st.Instances {
		if in.Name == spec.Name {
			errs = append(errs, fieldError{"container_create.name",
				"A container with this name already exists.", errnoEEXIST})
		}
	}
	s.mu.Unlock()
	if spec.Pool != nil && *spec.Pool != pool {
		errs = append(errs, fieldError{"container_create.pool", "Pool not found.", errnoENOENT})
	}
	versions, ok := registry26[spec.Image.Name]
	switch {
	case !ok:
		errs = append(errs, fieldError{"container_create.image.name",
			"Image does not exist in the registry.", errnoEINVAL})
	case !contains(toAny(versions), spec.Image.Version):
		errs = append(errs, fieldError{"container_create.image.version",
			"Version does not exist in the registry.", errnoEINVAL})
	}
	if len(errs) > 0 {
		return nil, nil, jobValidation(errs...)
	}
	return spec, settings, nil
}

// toAny widens a string list for contains.
func toAny(list []string) []any {
	out := make([]any, len(list))
	for i, v := range list {
		out[i] = v
	}
	return out
}

// containerStart answers container.start: synchronous, null on success.
func (s *Server) containerStart(cl *call) (any, *rpcError) {
	return s.withContainer(cl, s.start26)
}

// start26 starts a container after writing its name into /etc/hostname and the 127.0.1.1
// lines of /etc/hosts, as 26 does (BETA.2 and later), each file replaced whole by a rename,
// so a link there is replaced rather than followed. Called with mu held.
func (s *Server) start26(in *instance) (any, *rpcError) {
	if in.Status == statusRunning {
		return nil, callError(errnoEFAULT, "Domain '%s' is already started", in.Name)
	}
	if in.NoDataset {
		return nil, callError(errnoEFAULT, "Failed to start container %s: internal error: "+
			"guest failed to start: cannot mount the root file system %s%s: dataset '%s' does "+
			"not exist", in.Name, lxcPrefix, in.Name, s.dataset(in.Name))
	}
	box, err := s.openBox(in.Name)
	if err == nil {
		err = box.replaceFile("/etc/hostname", []byte(in.Name+"\n"))
	}
	if err == nil {
		old, rerr := box.ReadFile("/etc/hosts")
		if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = rerr
		} else {
			err = box.replaceFile("/etc/hosts", hostsWithName(string(old), in.Name))
		}
	}
	if err == nil {
		err = s.startInstance(in)
	}
	if err != nil {
		return nil, callError(errnoEFAULT, "Failed to start container %s: %v", in.Name, err)
	}
	s.emit26("changed", in)
	return nil, nil
}

// containerStop answers container.stop. A plain stop under stop_hang leaves the container
// running and still succeeds, as 26 does once shutdown_timeout passes.
func (s *Server) containerStop(cl *call) (any, *rpcError) {
	var id int
	var o struct {
		Force             bool `json:"force"`
		ForceAfterTimeout bool `json:"force_after_timeout"`
	}
	if rerr := arg(cl.args, 0, "id", &id); rerr != nil {
		return nil, rerr
	}
	if rerr := arg(cl.args, 1, "options", &o); rerr != nil {
		return nil, rerr
	}
	return cl.startJob(fmt.Sprintf("container-%d", id), func(r *jobRun) (any, error) {
		s.mu.Lock()
		in := s.byID(id)
		running := in != nil && in.Status == statusRunning
		s.mu.Unlock()
		if in == nil {
			return nil, jobValidation(fieldError{msg: fmt.Sprintf("Container %d does not exist",
				id), errno: errnoENOENT})
		}
		if !running {
			return nil, jobError26("Domain '%s' is not active", in.Name)
		}
		if err := r.sleep(s.faults.jobTime); err != nil {
			return nil, err
		}
		if s.faults.stopHang && !o.Force && !o.ForceAfterTimeout {
			return nil, nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.stopInstance(in); err != nil {
			return nil, err
		}
		s.emit26("changed", in)
		return nil, nil
	})
}

// containerDelete answers container.delete. BETA: synchronous, kills a running container
// and removes it with its files and checkpoints. RC.1: a job taking {force, recursive} that
// refuses a running container without force and a snapshotted one without recursive.
func (s *Server) containerDelete(cl *call) (any, *rpcError) {
	if !s.ver.rc {
		return s.withContainer(cl, s.delete26)
	}
	var id int
	var o struct {
		Force     bool `json:"force"`
		Recursive bool `json:"recursive"`
	}
	if rerr := arg(cl.args, 0, "id", &id); rerr != nil {
		return nil, rerr
	}
	if rerr := arg(cl.args, 1, "options", &o); rerr != nil {
		return nil, rerr
	}
	return cl.startJob(fmt.Sprintf("container-%d", id), func(r *jobRun) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		in := s.byID(id)
		if in == nil {
			return nil, jobValidation(fieldError{msg: fmt.Sprintf("Container %d does not exist",
				id), errno: errnoENOENT})
		}
		if in.Status == statusRunning && !o.Force {
			return nil, jobValidation(fieldError{"container_delete.force", fmt.Sprintf(
				"Container '%s' is running. Stop it first, or pass force=True to stop and "+
					"delete it.", in.Name), errnoEBUSY})
		}
		if n := len(s.st.snapshotsOf(s.dataset(in.Name))); n > 0 && !o.Recursive {
			return nil, jobValidation(fieldError{"container_delete.recursive", fmt.Sprintf(
				"Container '%s' dataset '%s' has %d snapshot(s). Set `recursive` to delete "+
					"them too.", in.Name, s.dataset(in.Name), n), int(syscall.ENOTEMPTY)})
		}
		if _, rerr := s.delete26(in); rerr != nil {
			return nil, &jobFailure{msg: rerr.Data.Reason, excInfo: map[string]any{
				"repr": "CallError()", "type": "CallError", "errno": rerr.Data.Error,
				"extra": nil}}
		}
		return nil, nil
	})
}

// delete26 removes a container, its files and checkpoints. Called with mu held.
func (s *Server) delete26(in *instance) (any, *rpcError) {
	if s.faults.take(&s.faults.deleteBusy) {
		return nil, callError(int(syscall.EBUSY), "Failed to destroy dataset %s: dataset is busy",
			s.dataset(in.Name))
	}
	if in.Status == statusRunning {
		if err := s.stopInstance(in); err != nil {
			return nil, callError(errnoEFAULT, "%v", err)
		}
	}
	for _, snap := range s.st.snapshotsOf(s.dataset(in.Name)) {
		s.st.removeSnapshot(snap.id())
	}
	delete(s.st.Props, s.dataset(in.Name))
	delete(s.st.Instances, in.Name)
	if err := s.removeBox(in.Name); err != nil {
		s.log.Warn("removing container files", "container", in.Name, "err", err)
	}
	if err := s.persist(); err != nil {
		return nil, callError(errnoEFAULT, "%v", err)
	}
	s.emit26("removed", in)
	return nil, nil
}

// hostsWithName is /etc/hosts text with every 127.0.1.1 line made "127.0.1.1<TAB>name",
// aliases dropped, or such a line appended when there is none: what TrueNAS 26 does at start.
func hostsWithName(hosts, name string) []byte {
	var b strings.Builder
	found := false
	for _, line := range strings.SplitAfter(hosts, "\n") {
		if line == "" {
			continue
		}
		if f := strings.Fields(line); len(f) > 0 && f[0] == "127.0.1.1" {
			b.WriteString("127.0.1.1\t" + name + "\n")
			found = true
			continue
		}
		b.WriteString(line)
	}
	if !found {
		b.WriteString("127.0.1.1\t" + name + "\n")
	}
	return []byte(b.String())
}
