package sim

import (
	"fmt"
	"strings"
)

// DefaultVersion is the TrueNAS generation the simulator plays when none is asked for.
const DefaultVersion = "25.04"

// version describes one TrueNAS generation the simulator can play.
type version struct {
	key     string // "25.04"
	full    string // system.version
	short   string // system.version_short, and the Record's version
	apiPath string // prefix of the pinned endpoints, "/api/v25.04."
	poolAPI bool   // pool.snapshot.* is public (25.10+)
	gen26   bool   // container.* replaces virt.* (26)
	rc      bool   // 26.0.0-RC.1: delete is a job, container datasets are protected
}

// versions lists the supported generations. "26" plays 26.0.0-BETA.3, "26-rc" 26.0.0-RC.1.
var versions = []version{
	{key: "25.04", full: "TrueNAS-25.04.2.4", short: "25.04.2.4", apiPath: "/api/v25.04."},
	{key: "25.10", full: "TrueNAS-25.10.1", short: "25.10.1", apiPath: "/api/v25.10.",
		poolAPI: true},
	{key: "26", full: "TrueNAS-26.0.0-BETA.3", short: "26.0.0-BETA.3", apiPath: "/api/v26.0.",
		poolAPI: true, gen26: true},
	{key: "26-rc", full: "TrueNAS-26.0.0-RC.1", short: "26.0.0-RC.1", apiPath: "/api/v26.0.",
		poolAPI: true, gen26: true, rc: true},
}

// lookupVersion finds a generation by its key or by any longer version string of it.
func lookupVersion(v string) (version, error) {
	for _, ver := range versions {
		if v == ver.key || v == ver.short || v == ver.full {
			return ver, nil
		}
	}
	for _, ver := range versions {
		if strings.HasPrefix(v, ver.key+".") {
			return ver, nil
		}
	}
	known := make([]string, 0, len(versions))
	for _, ver := range versions {
		known = append(known, ver.key)
	}
	return version{}, fmt.Errorf("looking up version %q: not simulated (known: %s)", v,
		strings.Join(known, ", "))
}

// versionMatches reports whether a recorded version string satisfies a requested one; an
// empty request matches anything.
func versionMatches(recorded, requested string) bool {
	if requested == "" {
		return true
	}
	want, err := lookupVersion(requested)
	if err != nil {
		return false
	}
	have, err := lookupVersion(recorded)
	return err == nil && have.key == want.key
}
