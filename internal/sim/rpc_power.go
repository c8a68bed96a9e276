package sim

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// stopArgs is the second argument of stop and restart.
type stopArgs struct {
	Timeout int  `json:"timeout"`
	Force   bool `json:"force"`
}

// lookupInstance finds a container for a job, or fails like InstanceNotFound.
func (s *Server) lookupInstance(name string) (*instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.st.Instances[name]
	if !ok {
		return nil, jobNotFound(name)
	}
	return in, nil
}

// status reads a container's status.
func (s *Server) status(in *instance) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return in.Status
}

// instanceStart answers virt.instance.start.
func (s *Server) instanceStart(cl *call) (any, *rpcError) {
	name := nameOf(cl.args)
	return cl.startJob(name, func(r *jobRun) (any, error) {
		in, err := s.lookupInstance(name)
		if err != nil {
			return nil, err
		}
		switch st := s.status(in); st {
		case statusRunning:
			return nil, jobCallError(errnoEFAULT,
				"Failed to start instance: The instance is already running.")
		case statusStopped:
		default:
			return nil, jobValidation(fieldError{"virt.instance.start.id", fmt.Sprintf(
				"%s: instance may not be started because current status is: %s", name, st),
				errnoEINVAL})
		}
		if err := r.sleep(s.faults.jobTime); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return true, s.startInstance(in)
	})
}

// parseStopArgs reads and checks stop options: a graceful stop needs a timeout.
func parseStopArgs(method string, args []json.RawMessage) (stopArgs, error) {
	o := stopArgs{Timeout: -1}
	if len(args) < 2 {
		return o, jobValidation(fieldError{method + ".timeout",
			"Timeout should be set if force is disabled", errnoEINVAL})
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(args[1], &raw); err != nil {
		return o, jobValidation(fieldError{method + ".stop_args",
			"Input should be a valid dictionary", errnoEINVAL})
	}
	var errs []fieldError
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "timeout" && k != "force" {
			errs = append(errs, fieldError{method + ".stop_args." + k,
				"Extra inputs are not permitted", errnoEINVAL})
		}
	}
	if err := json.Unmarshal(args[1], &o); err != nil {
		errs = append(errs, fieldError{method + ".stop_args", err.Error(), errnoEINVAL})
	}
	if len(errs) == 0 && !o.Force && o.Timeout == -1 {
		errs = append(errs, fieldError{method + ".timeout",
			"Timeout should be set if force is disabled", errnoEINVAL})
	}
	if len(errs) > 0 {
		return o, jobValidation(errs...)
	}
	return o, nil
}

// instanceStop answers virt.instance.stop.
func (s *Server) instanceStop(cl *call) (any, *rpcError) {
	name := nameOf(cl.args)
	return cl.startJob(name, func(r *jobRun) (any, error) {
		o, err := parseStopArgs("virt_instance_stop", cl.args)
		if err != nil {
			return nil, err
		}
		in, err := s.lookupInstance(name)
		if err != nil {
			return nil, err
		}
		if s.status(in) != statusRunning {
			return nil, jobCallError(errnoEFAULT,
				"Failed to stop instance: The instance is already stopped")
		}
		return true, s.stopBody(r, in, o)
	})
}

// stopBody waits out a stop (or hangs, under stop_hang) and marks the container stopped.
func (s *Server) stopBody(r *jobRun, in *instance, o stopArgs) error {
	if s.faults.stopHang && !o.Force {
		if err := r.sleep(time.Duration(o.Timeout) * time.Second); err != nil {
			return err
		}
		return jobCallError(errnoEFAULT,
			"Failed shutting down instance: still running after %ds", o.Timeout)
	}
	if err := r.sleep(s.faults.jobTime); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopInstance(in)
}

// instanceRestart answers virt.instance.restart: stop if running, then start.
func (s *Server) instanceRestart(cl *call) (any, *rpcError) {
	name := nameOf(cl.args)
	return cl.startJob(name, func(r *jobRun) (any, error) {
		o, err := parseStopArgs("virt_instance_restart", cl.args)
		if err != nil {
			return nil, err
		}
		in, err := s.lookupInstance(name)
		if err != nil {
			return nil, err
		}
		st := s.status(in)
		if st != statusRunning && st != statusStopped {
			return nil, jobValidation(fieldError{"virt.instance.restart.id", fmt.Sprintf(
				"%s: instance may not be restarted because current status is: %s", name, st),
				errnoEINVAL})
		}
		if st == statusRunning {
			if err := s.stopBody(r, in, o); err != nil {
				return nil, err
			}
		}
		if err := r.sleep(s.faults.jobTime); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return true, s.startInstance(in)
	})
}

// instanceDelete answers virt.instance.delete: force-stop if needed, then remove the
// container, its checkpoints and its files. delete_busy makes the first N attempts fail.
func (s *Server) instanceDelete(cl *call) (any, *rpcError) {
	name := nameOf(cl.args)
	return cl.startJob(name, func(r *jobRun) (any, error) {
		in, err := s.lookupInstance(name)
		if err != nil {
			return nil, err
		}
		if err := r.sleep(s.faults.jobTime); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if in.Status != statusStopped {
			if err := s.stopInstance(in); err != nil {
				return nil, err
			}
		}
		if s.faults.take(&s.faults.deleteBusy) {
			return nil, jobCallError(errnoEFAULT, "Failed to delete instance: Error deleting "+
				"storage volume: zfs destroy %s: cannot destroy '%s': dataset is busy",
				s.dataset(name), s.dataset(name))
		}

		for _, snap := range s.st.snapshotsOf(s.dataset(name)) {
			s.st.removeSnapshot(snap.id())
		}
		delete(s.st.Props, s.dataset(name))
		delete(s.st.Instances, name)
		rerr := s.removeBox(name)
		if err := s.persist(); err != nil {
			return nil, err
		}
		if rerr != nil {
			s.log.Warn("removing container files", "container", name, "err", rerr)
		}
		return true, nil
	})
}
