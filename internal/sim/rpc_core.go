package sim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"runtime"
	"time"
)

// loginEx answers auth.login_ex. Failures are successful replies with AUTH_ERR, as on the
// real server, so a client must read response_type.
func (s *Server) loginEx(cl *call) (any, *rpcError) {
	if rerr := tooManyArgs(cl.args, 1); rerr != nil {
		return nil, rerr
	}
	var p struct {
		Mechanism string `json:"mechanism"`
		Username  string `json:"username"`
		APIKey    string `json:"api_key"`
		Password  string `json:"password"`
	}
	if rerr := arg(cl.args, 0, "auth_login_ex.login_data", &p); rerr != nil {
		return nil, rerr
	}

	if s.logins.refused(time.Now()) {
		return nil, rateLimited()
	}
	s.mu.Lock()
	key, pass := s.st.APIKey, s.st.Password
	s.mu.Unlock()
	ok := false
	switch p.Mechanism {
	case "API_KEY_PLAIN":
		ok = p.Username == "root" && equal(p.APIKey, key)
	case "PASSWORD_PLAIN":
		ok = p.Username == "root" && equal(p.Password, pass)
	default:
		return nil, invalidParams(fieldError{attr: "auth_login_ex.login_data.mechanism",
			msg: fmt.Sprintf("Unsupported mechanism %q", p.Mechanism), errno: errnoEINVAL})
	}
	if !ok {
		s.logins.failed(time.Now())
		return map[string]any{"response_type": "AUTH_ERR"}, nil
	}
	cl.c.authed.Store(true)
	return map[string]any{"response_type": "SUCCESS", "user_info": userInfo(),
		"authenticator": "LEVEL_1"}, nil
}

// loginWithAPIKey answers the older auth.login_with_api_key with true or false.
func (s *Server) loginWithAPIKey(cl *call) (any, *rpcError) {
	var key string
	if rerr := arg(cl.args, 0, "api_key", &key); rerr != nil {
		return nil, rerr
	}
	s.mu.Lock()
	ok := equal(key, s.st.APIKey)
	s.mu.Unlock()
	if ok {
		cl.c.authed.Store(true)
	}
	return ok, nil
}

// authMe describes the logged-in user.
func (s *Server) authMe(*call) (any, *rpcError) { return userInfo(), nil }

// equal compares secrets in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// userInfo is the user_info of root.
func userInfo() map[string]any {
	return map[string]any{
		"pw_name": "root", "pw_gecos": "root", "pw_dir": "/root", "pw_shell": "/usr/bin/bash",
		"pw_uid": 0, "pw_gid": 0, "grouplist": []int{0}, "sid": nil, "source": "LOCAL",
		"local": true, "attributes": map[string]any{},
		"privilege": map[string]any{"roles": map[string]any{"$set": []string{"FULL_ADMIN"}},
			"allowlist": []any{map[string]any{"method": "*", "resource": "*"}},
			"web_shell": true},
		"account_attributes": []string{"LOCAL", "SYS_ADMIN"},
	}
}

// setOptions answers core.set_options; legacy_jobs=false makes job calls block.
func (s *Server) setOptions(cl *call) (any, *rpcError) {
	var opts map[string]bool
	if rerr := arg(cl.args, 0, "options", &opts); rerr != nil {
		return nil, rerr
	}
	if v, ok := opts["legacy_jobs"]; ok {
		cl.c.noLegacy.Store(!v)
	}
	return map[string]any{"legacy_jobs": !cl.c.noLegacy.Load(), "private_methods": false,
		"py_exceptions": false}, nil
}

// subscribe answers core.subscribe with a fresh subscription id.
func (s *Server) subscribe(cl *call) (any, *rpcError) {
	var name string
	if rerr := arg(cl.args, 0, "name", &name); rerr != nil {
		return nil, rerr
	}
	id := uuid()
	cl.c.smu.Lock()
	cl.c.subs[id] = name
	cl.c.smu.Unlock()
	return id, nil
}

// unsubscribe answers core.unsubscribe.
func (s *Server) unsubscribe(cl *call) (any, *rpcError) {
	var id string
	if rerr := arg(cl.args, 0, "id_", &id); rerr != nil {
		return nil, rerr
	}
	cl.c.smu.Lock()
	delete(cl.c.subs, id)
	cl.c.smu.Unlock()
	return nil, nil
}

// getJobs answers core.get_jobs with filters and options.
func (s *Server) getJobs(cl *call) (any, *rpcError) {
	return query(s.jobs.entries(), cl.args)
}

// systemInfo answers a small system.info.
func (s *Server) systemInfo(*call) (any, *rpcError) {
	return map[string]any{"version": s.ver.full, "hostname": "truenas-sim",
		"cores": runtime.NumCPU(), "physical_mem": int64(16) << 30}, nil
}

// globalConfig answers virt.global.config.
func (s *Server) globalConfig(*call) (any, *rpcError) {
	return map[string]any{"id": 1, "pool": pool, "dataset": virtDataset,
		"storage_pools": []string{pool}, "bridge": nil, "v4_network": nil, "v6_network": nil,
		"state": "INITIALIZED"}, nil
}

// The simulated NIC: loopback stand-ins, never a routable address.
const (
	nicName    = "eno1"
	nicAddress = "127.0.2.1"
	nicGateway = "127.0.2.254"
)

// interfaceQuery answers interface.query with one physical NIC.
func (s *Server) interfaceQuery(cl *call) (any, *rpcError) {
	alias := map[string]any{"type": "INET", "address": nicAddress, "netmask": 24}
	nic := map[string]any{
		"id": nicName, "name": nicName, "fake": false, "type": "PHYSICAL", "description": "",
		"mtu": nil, "ipv4_dhcp": false, "ipv6_auto": false, "aliases": []any{alias},
		"state": map[string]any{"name": nicName, "link_state": "LINK_STATE_UP",
			"active_media_type": "Ethernet", "active_media_subtype": "1000baseT <full-duplex>",
			"mtu": 1500, "link_address": "02:00:7f:00:02:01",
			"aliases": []any{map[string]any{"type": "INET", "address": nicAddress,
				"netmask": 24, "broadcast": "127.0.2.255"}}},
	}
	return query([]map[string]any{nic}, cl.args)
}

// networkSummary answers network.general.summary, consistent with interfaceQuery.
func (s *Server) networkSummary(*call) (any, *rpcError) {
	return map[string]any{
		"ips": map[string]any{
			nicName: map[string]any{"IPV4": []string{nicAddress + "/24"}}},
		"default_routes": []string{nicGateway},
		"nameservers":    []string{nicGateway},
	}, nil
}

// uuid returns a random version 4 UUID string.
func uuid() string {
	h := []byte(randomHex(16))
	h[12] = '4'
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// rawJSON turns any value into its generic JSON form (maps, slices, float64), so filters
// compare entries the way the client sees them.
func rawJSON(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}
