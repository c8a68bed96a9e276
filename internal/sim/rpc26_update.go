package sim

import (
	"encoding/json"
	"fmt"
	"sort"
	"syscall"
)

// containerUpdate answers container.update [id, {...}]: not a job; it changes the settings
// of 26's entry (description, autostart, shutdown_timeout, ...) and returns the new entry.
// Unknown keys are refused as the real models refuse extra inputs.
func (s *Server) containerUpdate(cl *call) (any, *rpcError) {
	var changes map[string]json.RawMessage
	if rerr := arg(cl.args, 1, "data", &changes); rerr != nil {
		return nil, rerr
	}
	var bad []fieldError
	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values := map[string]any{}
	for _, k := range keys {
		if _, ok := settings26[k]; !ok {
			bad = append(bad, fieldError{attr: "container_update." + k,
				msg: "Extra inputs are not permitted", errno: int(syscall.EINVAL)})
			continue
		}
		var v any
		if err := json.Unmarshal(changes[k], &v); err != nil {
			bad = append(bad, fieldError{attr: "container_update." + k, msg: err.Error(),
				errno: int(syscall.EINVAL)})
			continue
		}
		if k == "shutdown_timeout" {
			n, ok := v.(float64)
			if !ok || n != float64(int(n)) || n < 5 || n > 300 {
				bad = append(bad, fieldError{attr: "container_update.shutdown_timeout",
					msg:   fmt.Sprintf("Input should be between 5 and 300, got %v", v),
					errno: int(syscall.EINVAL)})
				continue
			}
			v = int(n)
		}
		values[k] = v
	}
	if len(bad) > 0 {
		return nil, invalidParams(bad...)
	}
	return s.withContainer(cl, func(in *instance) (any, *rpcError) {
		if in.Settings == nil {
			in.Settings = map[string]any{}
		}
		for k, v := range values {
			in.Settings[k] = v
		}
		if err := s.persist(); err != nil {
			return nil, callError(int(syscall.EIO), "saving state: %v", err)
		}
		s.emit26("changed", in)
		return rawJSON(s.entry26(in)), nil
	})
}
