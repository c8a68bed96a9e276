package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// snapshotName is the ZFS rule for the part after "@".
var snapshotName = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// snapshotEntry renders a snapshot as zfs.snapshot.query does.
func snapshotEntry(sn *snapshot) map[string]any {
	txg := strconv.FormatInt(sn.TXG, 10)
	created := strconv.FormatInt(sn.Created.Unix(), 10)
	size := strconv.FormatInt(sn.Size, 10)
	prop := func(value, raw string, parsed any) map[string]any {
		return map[string]any{"value": value, "rawvalue": raw, "source": "NONE", "parsed": parsed}
	}
	return map[string]any{
		"id": sn.id(), "name": sn.id(), "pool": pool, "type": "SNAPSHOT",
		"snapshot_name": sn.Name, "dataset": sn.Dataset, "createtxg": txg,
		"properties": map[string]any{
			"createtxg": prop(txg, txg, txg),
			"creation": prop(sn.Created.UTC().Format("Mon Jan _2 15:04 2006"), created,
				map[string]any{"$date": sn.Created.UnixMilli()}),
			"used":       prop(humanSize(0), "0", 0),
			"referenced": prop(humanSize(sn.Size), size, sn.Size),
			"userrefs":   prop("0", "0", "0"),
		},
	}
}

// humanSize prints a byte count the way zfs does (1.2M, 812M).
func humanSize(n int64) string {
	units := []string{"B", "K", "M", "G", "T"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d%s", n, units[0])
	}
	return fmt.Sprintf("%.1f%s", f, units[i])
}

// containerOfDataset returns the container a dataset belongs to (in either generation's
// layout), or "".
func containerOfDataset(dataset string) string {
	for _, prefix := range []string{virtDataset + "/containers/", lxcDataset + "/containers/"} {
		if name, ok := strings.CutPrefix(dataset, prefix); ok && !strings.Contains(name, "/") {
			return name
		}
	}
	return ""
}

// dataset is the ZFS dataset of a container in the played generation's layout.
func (s *Server) dataset(name string) string {
	if s.ver.gen26 {
		return lxcDataset + "/containers/" + name
	}
	return datasetOf(name)
}

// snapshotCreate answers zfs.snapshot.create (and pool.snapshot.create on 25.10).
func (s *Server) snapshotCreate(cl *call) (any, *rpcError) {
	if rerr := tooManyArgs(cl.args, 1); rerr != nil {
		return nil, rerr
	}
	var p struct {
		Dataset      string  `json:"dataset"`
		Name         *string `json:"name"`
		NamingSchema *string `json:"naming_schema"`
	}
	if rerr := arg(cl.args, 0, "snapshot_create", &p); rerr != nil {
		return nil, rerr
	}
	if rerr := s.checkSnapshotKeys(cl); rerr != nil {
		return nil, rerr
	}
	if rerr := s.protected("create", p.Dataset); rerr != nil {
		return nil, rerr
	}
	if (p.Name == nil) == (p.NamingSchema == nil) {
		return nil, invalidParams(fieldError{"snapshot_create.naming_schema",
			"One of naming schema or name must be provided", errnoEINVAL})
	}
	if p.NamingSchema != nil {
		name := time.Now().UTC().Format("auto-2006-01-02_15-04-05")
		p.Name = &name
	}
	if !snapshotName.MatchString(*p.Name) || strings.Trim(*p.Name, ".") == "" {
		return nil, invalidParams(fieldError{"snapshot_create.name", "Invalid snapshot name",
			errnoEINVAL})
	}
	id := p.Dataset + "@" + *p.Name

	s.mu.Lock()
	defer s.mu.Unlock()
	ds := s.lookupDS(p.Dataset)
	if ds.kind == dsMissing {
		return nil, callError(errnoENOENT, "Failed to snapshot %s: dataset does not exist", id)
	}
	if s.st.findSnapshot(id) != nil && s.ver.gen26 {
		return nil, invalidParams(fieldError{cl.method, *p.Name + " already exists.", errnoEEXIST})
	}
	if s.st.findSnapshot(id) != nil {
		return nil, callError(errnoEEXIST, "Failed to snapshot %s: dataset already exists", id)
	}
	sn, err := s.takeSnapshot(ds, *p.Name)
	if err != nil {
		return nil, callError(errnoEFAULT, "Failed to snapshot %s: %v", id, err)
	}
	return rawJSON(snapshotEntry(sn)), nil
}

// snapshotQuery answers zfs.snapshot.query. On 26 RC.1 an unfiltered query hides the
// snapshots of container datasets.
func (s *Server) snapshotQuery(cl *call) (any, *rpcError) {
	var filters []any
	_ = arg(cl.args, 0, "filters", &filters)
	hide := s.ver.rc && len(filters) == 0
	s.mu.Lock()
	entries := make([]map[string]any, 0, len(s.st.Snapshots))
	for _, sn := range s.st.Snapshots {
		if hide && strings.HasPrefix(sn.Dataset, lxcDataset+"/") {
			continue
		}
		entries = append(entries, snapshotEntry(sn))
	}
	s.mu.Unlock()
	return query(entries, cl.args)
}

// snapshotDelete answers zfs.snapshot.delete.
func (s *Server) snapshotDelete(cl *call) (any, *rpcError) {
	var id string
	if rerr := arg(cl.args, 0, "id", &id); rerr != nil {
		return nil, rerr
	}
	dataset, _, _ := strings.Cut(id, "@")
	if rerr := s.protected("delete", dataset); rerr != nil {
		return nil, rerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.st.findSnapshot(id)
	if sn == nil {
		return nil, invalidParams(fieldError{msg: fmt.Sprintf("Snapshot %s does not exist", id),
			errno: errnoENOENT})
	}
	if err := s.dropSnapshot(sn); errors.Is(err, errSnapshotBusy) {
		return nil, callError(errnoEBUSY, "Failed to delete snapshot %s: cannot destroy "+
			"snapshot %s: %v", id, id, err)
	} else if err != nil {
		return nil, callError(errnoEFAULT, "Failed to delete snapshot %s: %v", id, err)
	}
	if err := s.st.save(s.opts.Dir); err != nil {
		return nil, callError(errnoEFAULT, "Failed to delete snapshot %s: %v", id, err)
	}
	return true, nil
}

// snapshotRollback answers zfs.snapshot.rollback. Without recursive only the newest
// snapshot may be rolled back to; with it the newer ones are destroyed.
func (s *Server) snapshotRollback(cl *call) (any, *rpcError) {
	var id string
	var o struct {
		Recursive         bool `json:"recursive"`
		RecursiveClones   bool `json:"recursive_clones"`
		Force             bool `json:"force"`
		RecursiveRollback bool `json:"recursive_rollback"`
	}
	if rerr := arg(cl.args, 0, "id", &id); rerr != nil {
		return nil, rerr
	}
	if rerr := arg(cl.args, 1, "options", &o); rerr != nil {
		return nil, rerr
	}
	dataset, _, _ := strings.Cut(id, "@")
	if rerr := s.protected("rollback", dataset); rerr != nil {
		return nil, rerr
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.st.findSnapshot(id)
	if sn == nil {
		return nil, invalidParams(fieldError{msg: fmt.Sprintf("Snapshot %s does not exist", id),
			errno: errnoENOENT})
	}
	ds := s.lookupDS(sn.Dataset)
	if s.faults.strictRollback && s.busy(ds) {
		return nil, callError(errnoEBUSY, "Failed to rollback snapshot: %s is running "+
			"(stop the container first)", ds.in.Name)
	}
	newer := s.newerThan(sn)
	if len(newer) > 0 && !o.Recursive {
		names := make([]string, 0, len(newer))
		for _, n := range newer {
			names = append(names, n.id())
		}
		if s.ver.gen26 {
			return nil, plainError(fmt.Sprintf("Cannot rollback to %s: newer snapshots exist "+
				"(pass recursive: true to destroy them): %s", id, strings.Join(names, ", ")))
		}
		return nil, callError(errnoEFAULT, "Failed to rollback snapshot: cannot rollback to "+
			"'%s': more recent snapshots or bookmarks exist\nuse '-r' to force deletion of the "+
			"following snapshots and bookmarks:\n%s", id, strings.Join(names, "\n"))
	}
	err := s.rollbackTo(sn, newer)
	if serr := s.st.save(s.opts.Dir); err == nil {
		err = serr
	}
	if err != nil {
		return nil, callError(errnoEFAULT, "Failed to rollback snapshot: %v", err)
	}
	return nil, nil
}

// checkSnapshotKeys rejects unknown create keys; pool.snapshot.create has no suspend_vms.
func (s *Server) checkSnapshotKeys(cl *call) *rpcError {
	var raw map[string]json.RawMessage
	if len(cl.args) == 0 || json.Unmarshal(cl.args[0], &raw) != nil {
		return invalidParams(fieldError{"snapshot_create", "Input should be a valid dictionary",
			errnoEINVAL})
	}
	allowed := map[string]bool{"dataset": true, "name": true, "naming_schema": true,
		"recursive": true, "exclude": true, "vmware_sync": true, "properties": true,
		"suspend_vms": strings.HasPrefix(cl.method, "zfs.")}
	var errs []fieldError
	for k := range raw {
		if !allowed[k] {
			errs = append(errs, fieldError{"snapshot_create." + k,
				"Extra inputs are not permitted", errnoEINVAL})
		}
	}
	if len(errs) > 0 {
		return invalidParams(errs...)
	}
	return nil
}

// protected refuses snapshot writes on container datasets, as 26 RC.1 does.
func (s *Server) protected(op, dataset string) *rpcError {
	if !s.ver.rc || !strings.HasPrefix(dataset, lxcDataset+"/") {
		return nil
	}
	return invalidParams(fieldError{"zfs.resource.snapshot." + op,
		fmt.Sprintf("'%s' is a protected path.", dataset), int(syscall.EACCES)})
}
