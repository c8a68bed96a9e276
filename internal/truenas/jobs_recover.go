package truenas

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"sort"
)

// recoverLimit bounds how many recent jobs of the method are searched after a drop.
const recoverLimit = 50

// recoverJob finds the job a request started when the connection dropped before its reply
// named it, and registers a waiter for it. TrueNAS 25.10+ lists the request ids that started
// a job (message_ids), which identifies it exactly; 25.04 does not, so the newest job of the
// same method and arguments that started after the newest job id known before sending is
// taken (learnNewestJob makes sure one is known).
func (c *Conn) recoverJob(ctx context.Context, method string, params []any,
	job *jobCall) error {
	var jobs []struct {
		ID         int64           `json:"id"`
		Arguments  json.RawMessage `json:"arguments"`
		MessageIDs []string        `json:"message_ids"`
	}
	filters := []any{[]any{"method", "=", method}}
	opts := map[string]any{"order_by": []string{"-id"}, "limit": recoverLimit}
	if err := c.Call(ctx, "core.get_jobs", []any{filters, opts}, &jobs); err != nil {
		return err
	}
	sort.Slice(jobs, func(i, k int) bool { return jobs[i].ID > jobs[k].ID })

	want, err := json.Marshal(params)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		var match bool
		if j.MessageIDs != nil {
			match = slices.Contains(j.MessageIDs, job.reqID)
		} else {
			match = j.ID > job.before && sameJSON(j.Arguments, want)
		}
		if match {
			c.log.Debug("truenas job found after reconnecting", "job", j.ID, "method", method)
			job.id = j.ID
			job.waiter = c.jobs.wait(j.ID, job.progress)
			return nil
		}
	}
	return errors.New("no job of that call is listed on the NAS")
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
