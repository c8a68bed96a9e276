package truenas

import (
	"fmt"
	"strconv"
	"strings"
)

// supportedVersions names the generations Dial can drive, for error messages.
const supportedVersions = "25.04, 25.10 and 26"

// parseVersion reads major and minor from what system.version says, e.g. "TrueNAS-25.04.2.4",
// "TrueNAS-SCALE-24.10.2" or "26.0.0-RC.1". It returns the bare version too.
func parseVersion(s string) (bare string, major, minor int, err error) {
	bare = strings.TrimSpace(s)
	// Strip "TrueNAS-" or "TrueNAS-SCALE-" but keep suffixes such as "-RC.1".
	bare = strings.TrimPrefix(bare, "TrueNAS-")
	bare = strings.TrimPrefix(bare, "SCALE-")
	parts := strings.SplitN(bare, ".", 3)
	if len(parts) < 2 {
		return bare, 0, 0, fmt.Errorf("reading version %q: no major.minor", s)
	}
	major, err = strconv.Atoi(parts[0])
	if err != nil {
		return bare, 0, 0, fmt.Errorf("reading version %q: %w", s, err)
	}
	minorText := parts[1]
	if i := strings.IndexFunc(minorText, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minorText = minorText[:i]
	}
	minor, err = strconv.Atoi(minorText)
	if err != nil {
		return bare, 0, 0, fmt.Errorf("reading version %q: %w", s, err)
	}
	return bare, major, minor, nil
}

// newBackend picks the adapter for the version the server reported.
func newBackend(c *Conn, version string, opts DialOptions) (Backend, error) {
	bare, major, minor, err := parseVersion(version)
	if err != nil {
		return nil, fmt.Errorf("choosing API adapter: %w: %w (supported: %s)", ErrUnsupported,
			err, supportedVersions)
	}
	retry := opts.RetryInterval
	if retry <= 0 {
		retry = defaultRetryInterval
	}

	switch {
	case major == 25 && minor == 4:
		c.unlabelledJobs.Store(true)
		return newVirt(c, bare, "zfs.snapshot", retry), nil
	case major == 25 && minor == 10:
		return newVirt(c, bare, "pool.snapshot", retry), nil
	case major == 26:
		return newContainers(c, bare, retry), nil
	}
	return nil, fmt.Errorf("choosing API adapter: %w: TrueNAS %s (supported: %s)",
		ErrUnsupported, bare, supportedVersions)
}
