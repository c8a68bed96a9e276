package sim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"time"
)

// createFields are the keys virt.instance.create accepts; anything else is rejected.
var createFields = map[string]bool{
	"name": true, "image": true, "source_type": true, "remote": true, "instance_type": true,
	"storage_pool": true, "environment": true, "autostart": true, "cpu": true, "memory": true,
	"devices": true,
}

// createFields2510 are the keys 25.10 adds.
var createFields2510 = map[string]bool{
	"privileged_mode": true, "root_disk_size": true, "root_disk_io_bus": true,
}

// envKey is the rule for environment variable names.
var envKey = regexp.MustCompile(`^\w[\w/]*$`)

// createSpec is a decoded virt.instance.create argument.
type createSpec struct {
	Name         string            `json:"name"`
	Image        string            `json:"image"`
	SourceType   *string           `json:"source_type"`
	Remote       *string           `json:"remote"`
	InstanceType *string           `json:"instance_type"`
	StoragePool  *string           `json:"storage_pool"`
	Environment  map[string]string `json:"environment"`
	Autostart    *bool             `json:"autostart"`
	CPU          *string           `json:"cpu"`
	Memory       *int64            `json:"memory"`
	Devices      []map[string]any  `json:"devices"`
}

// instanceCreate answers virt.instance.create: a job that validates, "downloads" the image
// with progress, creates the container and starts it unless autostart is false.
func (s *Server) instanceCreate(cl *call) (any, *rpcError) {
	return cl.startJob(nameOf(cl.args), func(r *jobRun) (any, error) {
		spec, err := s.validateCreate(cl.args)
		if err != nil {
			return nil, err
		}
		if _, ok := lookupImage(spec.Image); !ok {
			return nil, jobCallError(errnoEFAULT,
				"Failed to create instance: Image %q not found on remote LINUX_CONTAINERS",
				spec.Image)
		}
		if !incusName.MatchString(spec.Name) {
			return nil, jobCallError(errnoEFAULT, "Failed to create instance: Invalid "+
				"instance name %q: names may only hold letters, digits and inner dashes", spec.Name)
		}

		step := s.faults.jobTime * 3 / 4
		for _, pct := range []int{14, 52, 89} {
			r.progress(0, fmt.Sprintf("rootfs: %d%% (%.2fMB/s)", pct, 18.5+float64(pct)/10))
			if err := r.sleep(step); err != nil {
				return nil, err
			}
		}
		r.progress(0, "Unpacking image: 100%")
		if err := r.sleep(step); err != nil {
			return nil, err
		}
		return s.createInstance(spec)
	})
}

// validateCreate checks a create argument the way the pydantic model and the plugin do.
func (s *Server) validateCreate(args []json.RawMessage) (*createSpec, error) {
	if len(args) > 1 {
		return nil, jobValidation(fieldError{msg: fmt.Sprintf(
			"Too many arguments (expected 1, found %d)", len(args)), errno: errnoEINVAL})
	}
	var raw map[string]json.RawMessage
	if len(args) == 0 || json.Unmarshal(args[0], &raw) != nil {
		return nil, jobValidation(fieldError{attr: "virt_instance_create",
			msg: "Input should be a valid dictionary", errno: errnoEINVAL})
	}
	var errs []fieldError
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !createFields[k] && !(s.ver.poolAPI && createFields2510[k]) {
			errs = append(errs, fieldError{"virt_instance_create." + k,
				"Extra inputs are not permitted", errnoEINVAL})
		}
	}
	spec := &createSpec{}
	if err := json.Unmarshal(args[0], spec); err != nil {
		errs = append(errs, fieldError{"virt_instance_create", err.Error(), errnoEINVAL})
		return nil, jobValidation(errs...)
	}
	for _, req := range []struct{ key, val string }{{"name", spec.Name}, {"image", spec.Image}} {
		if req.val == "" {
			errs = append(errs, fieldError{"virt_instance_create." + req.key,
				"Field required", errnoEINVAL})
		}
	}
	if spec.Memory != nil && *spec.Memory < 32<<20 {
		errs = append(errs, fieldError{"virt_instance_create.memory",
			"Input should be greater than or equal to 33554432", errnoEINVAL})
	}
	errs = append(errs, checkConst("source_type", spec.SourceType, "IMAGE")...)
	errs = append(errs, checkConst("remote", spec.Remote, "LINUX_CONTAINERS")...)
	errs = append(errs, checkConst("instance_type", spec.InstanceType, "CONTAINER")...)
	if spec.StoragePool != nil && *spec.StoragePool != pool {
		errs = append(errs, fieldError{"virt_instance_create.storage_pool",
			"Not a valid ZFS pool", errnoEINVAL})
	}
	for k, v := range spec.Environment {
		if !envKey.MatchString(k) || v == "" {
			errs = append(errs, fieldError{"virt_instance_create.environment",
				fmt.Sprintf("Invalid environment entry %q", k), errnoEINVAL})
		}
	}
	s.mu.Lock()
	_, dup := s.st.Instances[spec.Name]
	s.mu.Unlock()
	if dup {
		errs = append(errs, fieldError{"virt_instance_create.name",
			fmt.Sprintf("Name '%s' already exists", spec.Name), errnoEINVAL})
	}
	if len(errs) > 0 {
		return nil, jobValidation(errs...)
	}
	return spec, nil
}

// checkConst refuses any value but the one a 25.04.2 literal field allows.
func checkConst(key string, v *string, want string) []fieldError {
	if v == nil || *v == want {
		return nil
	}
	return []fieldError{{"virt_instance_create." + key,
		fmt.Sprintf("Input should be '%s'", want), errnoEINVAL}}
}

// createInstance records the new container and starts it when autostart allows.
func (s *Server) createInstance(spec *createSpec) (any, error) {
	in := &instance{Name: spec.Name, Image: spec.Image, Status: statusStopped, CPU: spec.CPU,
		Autostart: spec.Autostart == nil || *spec.Autostart, Environment: spec.Environment,
		Created: time.Now()}
	if spec.Memory != nil {
		mib := *spec.Memory >> 20 << 20
		in.Memory = &mib
	}
	nics := 0
	for _, d := range spec.Devices {
		if d["dev_type"] == "NIC" && d["name"] == nil {
			d["name"] = fmt.Sprintf("eth%d", nics)
			nics++
		}
		in.Devices = append(in.Devices, d)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if ds := s.dataset(in.Name); s.lookupDS(ds).kind != dsMissing {
		return nil, jobCallError(errnoEFAULT, "Failed to create instance: Failed creating "+
			"instance from image: Failed to run: zfs create %s: exit status 1 (cannot create "+
			"'%s': dataset already exists)", ds, ds)
	}
	if _, err := s.openBox(in.Name); err != nil {
		return nil, jobCallError(errnoEFAULT, "Failed to create instance: %v", err)
	}
	s.st.Instances[in.Name] = in
	if err := s.persist(); err != nil {
		return nil, err
	}
	if in.Autostart {
		if err := s.startInstance(in); err != nil {
			return nil, err
		}
	}
	return rawJSON(s.entry(in)), nil
}
