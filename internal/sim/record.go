package sim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// recordFile is the name of the Record inside the state directory.
const recordFile = "server.json"

// Record is what a running simulator publishes in server.json so that clients (and Ensure)
// can find it: its process, API URL and key, TrueNAS version, and the SSH port and address
// of every running container. SSHHosts matters on 26, whose API reports no address.
type Record struct {
	PID      int               `json:"pid"`
	URL      string            `json:"url"`
	APIKey   string            `json:"api_key"`
	Version  string            `json:"version"`
	SSHPorts map[string]int    `json:"ssh_ports"`
	SSHHosts map[string]string `json:"ssh_hosts"`
}

// ReadRecord reads dir/server.json. A missing file is an error wrapping fs.ErrNotExist.
func ReadRecord(dir string) (*Record, error) {
	data, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return nil, fmt.Errorf("reading simulator record: %w", err)
	}
	rec := &Record{}
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("decoding simulator record %s: %w",
			filepath.Join(dir, recordFile), err)
	}
	if rec.SSHPorts == nil {
		rec.SSHPorts = map[string]int{}
	}
	if rec.SSHHosts == nil {
		rec.SSHHosts = map[string]string{}
	}
	return rec, nil
}

// writeRecord publishes the current Record atomically, once the server listens. Called with
// mu held.
func (s *Server) writeRecord() error {
	if s.url == "" {
		return nil
	}
	rec := Record{PID: os.Getpid(), URL: s.url, APIKey: s.st.APIKey, Version: s.ver.short,
		SSHPorts: s.sshPorts(), SSHHosts: s.sshHosts()}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding simulator record: %w", err)
	}
	return writeAtomic(filepath.Join(s.opts.Dir, recordFile), data, 0o600)
}
