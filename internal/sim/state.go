package sim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// state is everything the simulator persists in state.json. It is only read or changed with
// Server.mu held, and saved after every change.
type state struct {
	APIKey    string               `json:"api_key"`
	Password  string               `json:"password"`
	TXG       int64                `json:"txg"`
	NextAddr  int                  `json:"next_addr"`
	NextID    int                  `json:"next_id"`
	Pulled    map[string]bool      `json:"pulled,omitempty"`
	Instances map[string]*instance `json:"instances"`
	Snapshots []*snapshot          `json:"snapshots"`

	// Cron jobs (cronjob.*), numbered from 1.
	NextCronID int        `json:"next_cron_id,omitempty"`
	CronJobs   []*cronJob `json:"cron_jobs,omitempty"`
	// Loose datasets by name (made by zfs recv, or renamed away from a container), each
	// with its files under dir/datasets/<Dir>; see zfs.go.
	NextDataset int                      `json:"next_dataset,omitempty"`
	Datasets    map[string]*looseDataset `json:"datasets,omitempty"`
	// Local ZFS properties by dataset name. A layout or container dataset without an entry
	// has the defaults of its kind (see defaultProps); an empty entry means none.
	Props map[string]map[string]string `json:"props,omitempty"`
}

// instance is one simulated Incus container.
type instance struct {
	Name        string            `json:"name"`
	Image       string            `json:"image"`
	Status      string            `json:"status"`
	CPU         *string           `json:"cpu"`
	Memory      *int64            `json:"memory"`
	Autostart   bool              `json:"autostart"`
	Environment map[string]string `json:"environment"`
	Devices     []map[string]any  `json:"devices"`
	Addr        string            `json:"addr"`
	Created     time.Time         `json:"created"`
	StartedAt   time.Time         `json:"started_at"`
	// 26 only: integer id, uuid and the container.* settings (cpuset, initenv, ...).
	ID       int            `json:"id,omitempty"`
	UUID     string         `json:"uuid,omitempty"`
	Settings map[string]any `json:"settings,omitempty"`
	// NoDataset is set once the container's dataset was destroyed or renamed away with the
	// zfs command: it has no root file system until a dataset is renamed onto its name.
	NoDataset bool `json:"no_dataset,omitempty"`
}

// snapshot is one simulated ZFS snapshot of a container dataset.
type snapshot struct {
	Dataset string    `json:"dataset"`
	Name    string    `json:"name"`
	TXG     int64     `json:"txg"`
	Created time.Time `json:"created"`
	Size    int64     `json:"size"`
}

// id is the ZFS snapshot id, "<dataset>@<name>".
func (s *snapshot) id() string { return s.Dataset + "@" + s.Name }

// stateFile is the name of the persisted state inside Options.Dir.
const stateFile = "state.json"

// loadState reads dir/state.json, or makes fresh credentials when there is none yet.
func loadState(dir string) (*state, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		st := &state{
			APIKey:    "1-" + randomHex(32),
			Password:  randomHex(12),
			TXG:       1000,
			Instances: map[string]*instance{},
			Datasets:  map[string]*looseDataset{},
		}
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state: %w", err)
	}

	st := &state{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("decoding state %s: %w", filepath.Join(dir, stateFile), err)
	}
	if st.Instances == nil {
		st.Instances = map[string]*instance{}
	}
	if st.Datasets == nil {
		st.Datasets = map[string]*looseDataset{}
	}
	return st, nil
}

// Leftovers is what a simulator's state holds that a client is expected to clean up after
// itself: cron job entries and loose datasets.
type Leftovers struct {
	CronJobs int      // how many cron job entries exist
	Datasets []string // names of loose datasets, sorted; never nil
}

// ReadLeftovers reads the leftovers from the state file in dir without a running server. A
// directory without state has none.
func ReadLeftovers(dir string) (Leftovers, error) {
	out := Leftovers{Datasets: []string{}}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("reading simulator leftovers: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return out, fmt.Errorf("reading simulator leftovers from %s: %w",
			filepath.Join(dir, stateFile), err)
	}
	out.CronJobs = len(st.CronJobs)
	for name := range st.Datasets {
		out.Datasets = append(out.Datasets, name)
	}
	sort.Strings(out.Datasets)
	return out, nil
}

// save writes the state atomically (temporary file, then rename).
func (st *state) save(dir string) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	return writeAtomic(filepath.Join(dir, stateFile), data, 0o600)
}

// snapshotsOf lists the snapshots of a dataset, oldest first.
func (st *state) snapshotsOf(dataset string) []*snapshot {
	var out []*snapshot
	for _, s := range st.Snapshots {
		if s.Dataset == dataset {
			out = append(out, s)
		}
	}
	return out
}

// findSnapshot returns the snapshot with the given id, or nil.
func (st *state) findSnapshot(id string) *snapshot {
	for _, s := range st.Snapshots {
		if s.id() == id {
			return s
		}
	}
	return nil
}

// removeSnapshot drops the snapshot with the given id.
func (st *state) removeSnapshot(id string) {
	kept := st.Snapshots[:0]
	for _, s := range st.Snapshots {
		if s.id() != id {
			kept = append(kept, s)
		}
	}
	st.Snapshots = kept
}

// writeAtomic replaces path with data so that readers see either the old or the new file.
func writeAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())

	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}
