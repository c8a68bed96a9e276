package truenas

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Finding is one thing a backend can tell `pixels doctor` about the NAS.
type Finding struct {
	Name   string // e.g. "virtualization"
	Status string // ok, warn or fail
	Detail string // what was found, and the fix when it is not ok
}

// Diagnoser is implemented by backends that can check a NAS's readiness for pixels beyond a
// login: the container service's state, its pool, and which host interface new containers
// would attach to.
type Diagnoser interface {
	Diagnose(ctx context.Context, nicType, parent string) []Finding
}

// Diagnose checks virt.global.config and the NIC pixels would pick.
func (v *virt) Diagnose(ctx context.Context, nicType, parent string) []Finding {
	var out []Finding
	cfg, err := v.config(ctx)
	switch {
	case err != nil:
		out = append(out, Finding{"virtualization", "fail", err.Error()})
	case cfg.State != "INITIALIZED":
		out = append(out, Finding{"virtualization", "fail", fmt.Sprintf("state %s, pool %q: "+
			"choose a pool under Containers (Virtualization) settings on the NAS", cfg.State,
			cfg.Pool)})
	default:
		out = append(out, Finding{"virtualization", "ok",
			fmt.Sprintf("Incus initialized, pool %s (dataset %s)", cfg.Pool, cfg.Dataset)})
	}
	return append(out, nicFinding(ctx, v.c, nicType, parent), rootJobFinding(ctx, v.c))
}

// Diagnose on 26 checks the NIC choice; the container service needs no initialising there.
func (x *lxc) Diagnose(ctx context.Context, nicType, parent string) []Finding {
	out := []Finding{{"virtualization", "ok", "TrueNAS 26 containers (libvirt LXC); addresses " +
		"come from a reporter pixels installs in each container"}}
	return append(out, nicFinding(ctx, x.c, nicType, parent), rootJobFinding(ctx, x.c))
}

// rootJobFinding checks that cron entries can be read (copies from checkpoints, and
// checkpoints on 26 RC.1, run as root cron jobs) and reports entries a pixels run left.
func rootJobFinding(ctx context.Context, c *Conn) Finding {
	var left []struct {
		ID int64 `json:"id"`
	}
	filters := []any{[]any{"description", "^", rootJobPrefix}}
	if err := c.Call(ctx, "cronjob.query", []any{filters}, &left); err != nil {
		return Finding{"root jobs", "warn", fmt.Sprintf("cannot read cron jobs (%v): "+
			"create --from needs an API key whose user may manage cron jobs "+
			"(SYSTEM_CRON_WRITE, e.g. a full admin)", err)}
	}
	if roles, ok := userRoles(ctx, c); ok && !roles["FULL_ADMIN"] && !roles["SYSTEM_CRON_WRITE"] {
		return Finding{"root jobs", "warn", "this API key's user can read cron jobs but not " +
			"run them: create --from (and checkpoints on TrueNAS 26 RC.1) need the " +
			"SYSTEM_CRON_WRITE role, e.g. a full admin"}
	}
	if len(left) > 0 {
		ids := make([]string, len(left))
		for i, e := range left {
			ids[i] = fmt.Sprint(e.ID)
		}
		return Finding{"root jobs", "warn", fmt.Sprintf("%d temporary cron job(s) left by "+
			"an interrupted pixels run (ids %s); they are disabled and safe to delete under "+
			"System > Advanced > Cron Jobs", len(left), strings.Join(ids, ", "))}
	}
	return Finding{"root jobs", "ok", "cron jobs readable; none left over by pixels"}
}

func nicFinding(ctx context.Context, c *Conn, nicType, parent string) Finding {
	ch, err := pickNIC(ctx, c, nicType, parent)
	switch {
	case err != nil:
		return Finding{"nic", "fail", err.Error() + " (check defaults.parent)"}
	case ch.Parent == "":
		return Finding{"nic", "warn", "no host interface holds the default route, so new " +
			"containers get the default network, which may not be reachable from here " +
			"(set defaults.parent and defaults.nic_type)"}
	default:
		return Finding{"nic", "ok", fmt.Sprintf("%s on %s", ch.Type, ch.Parent)}
	}
}

// userRoles returns the roles of the logged-in user from auth.me, whose privilege.roles is a
// set, sent as {"$set": [...]} (a plain list is taken too). ok is false when the answer has
// no such field, so the caller can tell "no role" from "cannot tell".
func userRoles(ctx context.Context, c *Conn) (roles map[string]bool, ok bool) {
	var me struct {
		Privilege struct {
			Roles json.RawMessage `json:"roles"`
		} `json:"privilege"`
	}
	if err := c.Call(ctx, "auth.me", []any{}, &me); err != nil {
		return nil, false
	}
	var set struct {
		Set []string `json:"$set"`
	}
	var list []string
	switch {
	case json.Unmarshal(me.Privilege.Roles, &set) == nil && set.Set != nil:
		list = set.Set
	case json.Unmarshal(me.Privilege.Roles, &list) == nil && list != nil:
	default:
		return nil, false
	}
	roles = map[string]bool{}
	for _, r := range list {
		roles[r] = true
	}
	return roles, true
}
