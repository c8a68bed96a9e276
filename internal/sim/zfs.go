package sim

// The simulator's ZFS datasets, as the snapshot API and the zfs command of cron jobs
// (zfs_cli.go) see them. There are three kinds:
//
//   - the layout: the pool and the datasets that hold container datasets (tank,
//     tank/.ix-virt, tank/.ix-virt/containers on 25.x; tank, tank/.truenas_containers,
//     tank/.truenas_containers/containers on 26). They hold no files in the simulator.
//   - container datasets, one per container, whose files are the container's Box:
//     containers/<name>/rootfs and containers/<name>/snapshots/<label>.
//   - loose datasets, made by zfs recv or renamed away from a container, whose files live
//     under datasets/<dir>/rootfs and datasets/<dir>/snapshots/<label>.
//
// Moving a dataset moves only rootfs/ and snapshots/: a container's SSH host key, command
// log and address stay with the container. A container whose dataset is gone has no root
// file system (start and file writes fail) until a dataset is renamed or received onto its
// dataset name. Loose datasets sit directly below a layout dataset, never deeper.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// datasetsDir holds the files of loose datasets inside Options.Dir.
const datasetsDir = "datasets"

// looseDataset is a dataset of no container. Its files are under datasets/<Dir>.
type looseDataset struct {
	Dir     string    `json:"dir"`
	Created time.Time `json:"created"`
	Mounted bool      `json:"mounted"` // false after recv -u, or when moved while unmounted
}

// dsKind tells the kinds of dataset apart.
type dsKind int

const (
	dsMissing   dsKind = iota
	dsLayout           // pool-level dataset without files
	dsContainer        // a container's dataset
	dsLoose            // a dataset of no container
)

// dsRef is a dataset found by name; kind is dsMissing when there is none.
type dsRef struct {
	name  string
	kind  dsKind
	in    *instance     // dsContainer
	loose *looseDataset // dsLoose
}

// layout lists the pool-level datasets of the played generation, parents first.
func (s *Server) layout() []string {
	if s.ver.gen26 {
		return []string{pool, lxcDataset, lxcDataset + "/containers"}
	}
	return []string{pool, virtDataset, virtDataset + "/containers"}
}

// lookupDS finds a dataset by name. Called with mu held.
func (s *Server) lookupDS(name string) dsRef {
	if slices.Contains(s.layout(), name) {
		return dsRef{name: name, kind: dsLayout}
	}
	if l, ok := s.st.Datasets[name]; ok {
		return dsRef{name: name, kind: dsLoose, loose: l}
	}
	if in, ok := s.st.Instances[containerOfDataset(name)]; ok && !in.NoDataset &&
		s.dataset(in.Name) == name {
		return dsRef{name: name, kind: dsContainer, in: in}
	}
	return dsRef{name: name}
}

// slotOf returns the container whose missing dataset is called name, or nil. Called with mu
// held.
func (s *Server) slotOf(name string) *instance {
	if in, ok := s.st.Instances[containerOfDataset(name)]; ok && in.NoDataset &&
		s.dataset(in.Name) == name {
		return in
	}
	return nil
}

// datasets lists every dataset in tree order: parents before children, siblings by name.
// Called with mu held.
func (s *Server) datasets() []dsRef {
	names := slices.Clone(s.layout())
	for name, in := range s.st.Instances {
		if !in.NoDataset {
			names = append(names, s.dataset(name))
		}
	}
	for name := range s.st.Datasets {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return treeLess(names[i], names[j]) })
	out := make([]dsRef, 0, len(names))
	for _, name := range names {
		out = append(out, s.lookupDS(name))
	}
	return out
}

// treeLess orders dataset names as a walk of the tree does.
func treeLess(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

// parentOf returns the parent dataset name, or "" for a pool.
func parentOf(name string) string {
	i := strings.LastIndex(name, "/")
	if i < 0 {
		return ""
	}
	return name[:i]
}

// dataDir is where a dataset keeps rootfs/ and snapshots/; "" for the layout.
func (s *Server) dataDir(r dsRef) string {
	switch r.kind {
	case dsContainer:
		return s.containerDir(r.in.Name)
	case dsLoose:
		return filepath.Join(s.opts.Dir, datasetsDir, r.loose.Dir)
	}
	return ""
}

// errNoFiles refuses file operations on layout datasets, which hold none in the simulator.
func errNoFiles(name string) error {
	return fmt.Errorf("the simulator holds no files for %s (only container and received "+
		"datasets have a tree)", name)
}

// dsBox returns a Box over a dataset's files and a function that releases it: the open Box
// of a container, or one opened for this use. Called with mu held.
func (s *Server) dsBox(r dsRef) (*Box, func(), error) {
	switch r.kind {
	case dsContainer:
		b, err := s.openBox(r.in.Name)
		return b, func() {}, err
	case dsLoose:
		b, err := OpenBox(s.dataDir(r), "")
		if err != nil {
			return nil, nil, err
		}
		return b, func() { b.Close() }, nil
	}
	return nil, nil, errNoFiles(r.name)
}

// closeBox closes a container's Box, if open, so that the next use reopens its tree.
// Called with mu held.
func (s *Server) closeBox(name string) {
	if b, ok := s.boxes[name]; ok {
		if err := b.Close(); err != nil {
			s.log.Warn("closing box", "container", name, "err", err)
		}
		delete(s.boxes, name)
	}
}

// takeSnapshot copies a dataset's tree as snapshot label and records it with a new txg.
// Called with mu held.
func (s *Server) takeSnapshot(r dsRef, label string) (*snapshot, error) {
	box, done, err := s.dsBox(r)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := box.Snapshot(label); err != nil {
		return nil, err
	}
	s.st.TXG++
	sn := &snapshot{Dataset: r.name, Name: label, TXG: s.st.TXG, Created: time.Now(),
		Size: box.Size()}
	s.st.Snapshots = append(s.st.Snapshots, sn)
	return sn, s.st.save(s.opts.Dir)
}

// newerThan lists the snapshots of sn's dataset taken after it, oldest first. Called with
// mu held.
func (s *Server) newerThan(sn *snapshot) []*snapshot {
	var out []*snapshot
	for _, other := range s.st.snapshotsOf(sn.Dataset) {
		if other.TXG > sn.TXG {
			out = append(out, other)
		}
	}
	return out
}

// rollbackTo destroys the given newer snapshots and puts sn's tree back in place. Called
// with mu held; the caller saves the state.
func (s *Server) rollbackTo(sn *snapshot, newer []*snapshot) error {
	for _, n := range newer {
		if err := s.dropSnapshot(n); err != nil {
			return err
		}
	}
	box, done, err := s.dsBox(s.lookupDS(sn.Dataset))
	if err != nil {
		return err
	}
	defer done()
	if err := box.Restore(sn.Name); err != nil {
		return err
	}
	s.st.TXG++
	return nil
}

// dropSnapshot removes a snapshot from the state and its copy from the dataset's files.
// Called with mu held; the caller saves the state.
func (s *Server) dropSnapshot(sn *snapshot) error {
	if s.sending[sn.id()] > 0 {
		return errSnapshotBusy
	}
	s.st.removeSnapshot(sn.id())
	box, done, err := s.dsBox(s.lookupDS(sn.Dataset))
	if err != nil {
		return err
	}
	defer done()
	return box.DeleteSnapshot(sn.Name)
}

// destroyDataset removes a container or loose dataset with its snapshots and local
// properties. A container keeps its identity and has no root file system afterwards.
// Called with mu held.
func (s *Server) destroyDataset(r dsRef) error {
	for _, sn := range s.st.snapshotsOf(r.name) {
		s.st.removeSnapshot(sn.id())
	}
	delete(s.st.Props, r.name)
	var files []string
	switch r.kind {
	case dsContainer:
		s.closeBox(r.in.Name)
		r.in.NoDataset = true
		files = dataFiles(s.containerDir(r.in.Name))
	case dsLoose:
		delete(s.st.Datasets, r.name)
		files = []string{s.dataDir(r)}
	default:
		return errNoFiles(r.name)
	}
	if err := s.st.save(s.opts.Dir); err != nil {
		return err
	}
	var err error
	for _, f := range files {
		err = errors.Join(err, os.RemoveAll(f))
	}
	return err
}

// dataFiles lists what belongs to the dataset in a data directory: the tree, its
// snapshots, and what an interrupted restore may have left.
func dataFiles(dir string) []string {
	return []string{filepath.Join(dir, "rootfs"), filepath.Join(dir, "snapshots"),
		filepath.Join(dir, "rootfs.old"), filepath.Join(dir, "rootfs.restoring")}
}

// newLoose numbers a new loose dataset. Called with mu held.
func (s *Server) newLoose(created time.Time, mounted bool) *looseDataset {
	s.st.NextDataset++
	return &looseDataset{Dir: strconv.Itoa(s.st.NextDataset), Created: created,
		Mounted: mounted}
}

// renameDataset moves a container or loose dataset, with its snapshots and local
// properties, to a new name: onto the missing dataset of a container, or as a loose
// dataset. The caller has checked that the new name is free and its parent exists. Called
// with mu held.
func (s *Server) renameDataset(r dsRef, to string) error {
	props := s.localProps(r)
	mounted := s.mounted(r)
	from := s.dataDir(r)
	target := s.slotOf(to)
	var leftover string
	switch {
	case r.kind != dsContainer && r.kind != dsLoose:
		return errNoFiles(r.name)
	case target != nil:
		if r.kind == dsContainer {
			s.closeBox(r.in.Name)
		}
		s.closeBox(target.Name)
		if err := moveData(from, s.containerDir(target.Name)); err != nil {
			return err
		}
		target.NoDataset = false
		if r.kind == dsContainer {
			r.in.NoDataset = true
		} else {
			delete(s.st.Datasets, r.name)
			leftover = from
		}
	case r.kind == dsContainer:
		s.closeBox(r.in.Name)
		l := s.newLoose(r.in.Created, mounted)
		if err := moveData(from, filepath.Join(s.opts.Dir, datasetsDir, l.Dir)); err != nil {
			return err
		}
		r.in.NoDataset = true
		s.st.Datasets[to] = l
	default:
		delete(s.st.Datasets, r.name)
		s.st.Datasets[to] = r.loose
	}
	for _, sn := range s.st.Snapshots {
		if sn.Dataset == r.name {
			sn.Dataset = to
		}
	}
	s.setProps(to, props)
	delete(s.st.Props, r.name)
	if err := s.st.save(s.opts.Dir); err != nil {
		return err
	}
	if leftover != "" {
		return os.RemoveAll(leftover)
	}
	return nil
}

// moveData moves rootfs/ and snapshots/ from one data directory to another, putting the
// first back if the second cannot move.
func moveData(from, to string) error {
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	var moved []string
	for _, name := range []string{"rootfs", "snapshots"} {
		src, dst := filepath.Join(from, name), filepath.Join(to, name)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		err := os.RemoveAll(dst) // a stale copy from an interrupted move
		if err == nil {
			err = os.Rename(src, dst)
		}
		if err != nil {
			for _, m := range moved {
				os.Rename(filepath.Join(to, m), filepath.Join(from, m))
			}
			return fmt.Errorf("moving dataset files: %w", err)
		}
		moved = append(moved, name)
	}
	return nil
}

// sweepDatasets removes directories under datasets/ that no loose dataset owns, such as
// what an interrupted receive left. Called by New before serving.
func (st *state) sweepDatasets(dir string) error {
	entries, err := os.ReadDir(filepath.Join(dir, datasetsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweeping datasets: %w", err)
	}
	owned := map[string]bool{}
	for _, l := range st.Datasets {
		owned[l.Dir] = true
	}
	for _, e := range entries {
		if !owned[e.Name()] {
			err = errors.Join(err, os.RemoveAll(filepath.Join(dir, datasetsDir, e.Name())))
		}
	}
	return err
}

// defaultProps are the local properties of a layout or container dataset that nobody has
// changed: Incus marks 25.x container datasets legacy/noauto, TrueNAS turns compression on
// at the pool, and 26 mounts its container tree below /mnt/.truenas_containers.
func (s *Server) defaultProps(r dsRef) map[string]string {
	switch {
	case r.kind == dsContainer && !s.ver.gen26:
		return map[string]string{"mountpoint": "legacy", "canmount": "noauto"}
	case r.kind == dsLayout && r.name == pool:
		return map[string]string{"compression": "lz4"}
	case r.kind == dsLayout && r.name == lxcDataset:
		return map[string]string{"mountpoint": "/mnt/.truenas_containers/" + pool}
	}
	return map[string]string{}
}

// localProps returns a copy of a dataset's local properties. Called with mu held.
func (s *Server) localProps(r dsRef) map[string]string {
	props, ok := s.st.Props[r.name]
	if !ok && r.kind != dsLoose {
		return s.defaultProps(r)
	}
	out := make(map[string]string, len(props))
	for k, v := range props {
		out[k] = v
	}
	return out
}

// setProps replaces a dataset's local properties. Called with mu held.
func (s *Server) setProps(name string, props map[string]string) {
	if s.st.Props == nil {
		s.st.Props = map[string]map[string]string{}
	}
	if props == nil {
		props = map[string]string{}
	}
	s.st.Props[name] = props
}

// mounted reports whether a dataset is mounted: the layout always; a 25.x container's
// dataset while Incus runs it; a 26 container's from create on; a loose one when it was
// received or moved mounted and its properties still let it be. Called with mu held.
func (s *Server) mounted(r dsRef) bool {
	switch r.kind {
	case dsLayout:
		return true
	case dsContainer:
		return s.ver.gen26 || r.in.Status == statusRunning
	case dsLoose:
		mp, _ := s.propValue(r, "mountpoint")
		cm, _ := s.propValue(r, "canmount")
		return r.loose.Mounted && mp != "legacy" && mp != "none" && cm == "on"
	}
	return false
}

// mountPath is where a container's dataset is mounted while it runs, for busy errors.
// Called with mu held.
func (s *Server) mountPath(r dsRef) string {
	if r.kind == dsContainer && !s.ver.gen26 {
		return rootfsPrefix + r.in.Name
	}
	mp, _ := s.propValue(r, "mountpoint")
	return mp
}

// busy reports whether a dataset is in use so that it cannot be unmounted: a running
// container's. Called with mu held.
func (s *Server) busy(r dsRef) bool {
	return r.kind == dsContainer && r.in.Status == statusRunning
}

// errSnapshotBusy is ZFS refusing to destroy a snapshot that a send is reading.
var errSnapshotBusy = errors.New("dataset is busy")

// holdSnapshot counts a zfs send of snapshot id starting (+1) or ending (-1). OpenZFS holds
// a snapshot while it is sent, so destroying it meanwhile fails as busy; the simulator's send
// spools the stream first, but keeps the hold until the stream has gone out, as the real
// one does. Called with mu held.
func (s *Server) holdSnapshot(id string, delta int) {
	if s.sending == nil {
		s.sending = map[string]int{}
	}
	s.sending[id] += delta
	if s.sending[id] <= 0 {
		delete(s.sending, id)
	}
}
