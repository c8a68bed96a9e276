package sim

import (
	"strings"
	"testing"
)

// TestLoginRateLimit: after 20 failed logins in a minute, even a right key is refused with
// EBUSY, as TrueNAS does for anonymous calls.
func TestLoginRateLimit(t *testing.T) {
	s := startServer(t, Options{})
	c := dial(t, s)
	bad := map[string]any{"mechanism": "API_KEY_PLAIN", "username": "root", "api_key": "1-no"}
	for i := 0; i < loginLimitCount; i++ {
		if m := c.call("auth.login_ex", bad); m.Error != nil {
			t.Fatalf("failed login %d answered with an error: %+v", i+1, m.Error)
		}
	}
	good := map[string]any{"mechanism": "API_KEY_PLAIN", "username": "root",
		"api_key": s.APIKey()}
	m := c.call("auth.login_ex", good)
	if m.Error == nil || m.Error.Data == nil || m.Error.Data.Errname != "EBUSY" ||
		!strings.Contains(m.Error.Data.Reason, "Rate Limit Exceeded") {
		t.Fatalf("login after %d failures = %+v, want EBUSY Rate Limit Exceeded",
			loginLimitCount, m.Error)
	}
}
