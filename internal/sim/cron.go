package sim

// cronjob.*: TrueNAS's cron jobs, which clients use to run a shell script as root on the
// NAS (create a disabled entry, run it once as a job, delete it). Entries persist in the
// state. cronjob.run builds the command line as TrueNAS does (the command with its newlines
// removed, then "> /dev/null" and "2> /dev/null" for the streams the entry discards) and
// runs it in the confined host shell of cron_shell.go, whose only program is zfs.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// cronJob is one cron job entry as cronjob.query returns it.
type cronJob struct {
	ID          int          `json:"id"`
	User        string       `json:"user"`
	Command     string       `json:"command"`
	Description string       `json:"description"`
	Enabled     bool         `json:"enabled"`
	Stdout      bool         `json:"stdout"`
	Stderr      bool         `json:"stderr"`
	Schedule    cronSchedule `json:"schedule"`
}

// cronSchedule is when a cron job would run; the simulator never runs one on its own.
type cronSchedule struct {
	Minute string `json:"minute"`
	Hour   string `json:"hour"`
	Dom    string `json:"dom"`
	Month  string `json:"month"`
	Dow    string `json:"dow"`
}

// cronUsers are the users a cron job may run as; the simulator knows only root.
var cronUsers = map[string]bool{"root": true}

// cronJobNotFound is the message of a missing entry, as CRUDService words it.
func cronJobNotFound(id int) string { return fmt.Sprintf("CronJob %d does not exist", id) }

// findCronJob returns the entry with the given id, or nil. Called with mu held.
func (s *Server) findCronJob(id int) *cronJob {
	for _, j := range s.st.CronJobs {
		if j.ID == id {
			return j
		}
	}
	return nil
}

// cronCreate answers cronjob.create: not a job; the stored entry comes back.
func (s *Server) cronCreate(cl *call) (any, *rpcError) {
	if rerr := tooManyArgs(cl.args, 1); rerr != nil {
		return nil, rerr
	}
	j, errs := decodeCronJob(cl.args)
	if len(errs) > 0 {
		return nil, invalidParams(errs...)
	}
	if strings.Contains(j.User, " ") {
		errs = append(errs, fieldError{"cron_job_create.user", "Usernames cannot have spaces",
			errnoEINVAL})
	} else if !cronUsers[j.User] {
		errs = append(errs, fieldError{"cron_job_create.user", "Specified user does not exist",
			errnoEINVAL})
	}
	if j.Command == "" {
		errs = append(errs, fieldError{"cron_job_create.command",
			"Please specify a command for cronjob task.", errnoEINVAL})
	}
	if len(errs) > 0 {
		return nil, invalidParams(errs...)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.NextCronID++
	j.ID = s.st.NextCronID
	s.st.CronJobs = append(s.st.CronJobs, j)
	if err := s.st.save(s.opts.Dir); err != nil {
		return nil, callError(errnoEFAULT, "Failed to create cron job: %v", err)
	}
	return rawJSON(j), nil
}

// decodeCronJob reads a cronjob.create argument with the defaults of the API model,
// refusing unknown keys and wrong types as the model does.
func decodeCronJob(args []json.RawMessage) (*cronJob, []fieldError) {
	const attr = "cron_job_create"
	j := &cronJob{Enabled: true, Stdout: true, Schedule: cronSchedule{Minute: "00", Hour: "*",
		Dom: "*", Month: "*", Dow: "*"}}
	var raw map[string]json.RawMessage
	if len(args) == 0 || json.Unmarshal(args[0], &raw) != nil || raw == nil {
		return nil, []fieldError{{attr, "Input should be a valid dictionary", errnoEINVAL}}
	}
	var errs []fieldError
	str := func(key string, dst *string) {
		if v, ok := raw[key]; ok && json.Unmarshal(v, dst) != nil {
			errs = append(errs, fieldError{attr + "." + key, "Input should be a valid string",
				errnoEINVAL})
		}
	}
	boolean := func(key string, dst *bool) {
		if v, ok := raw[key]; ok && json.Unmarshal(v, dst) != nil {
			errs = append(errs, fieldError{attr + "." + key, "Input should be a valid boolean",
				errnoEINVAL})
		}
	}
	for _, key := range sortedKeys(raw) {
		switch key {
		case "user":
			str(key, &j.User)
		case "command":
			str(key, &j.Command)
		case "description":
			str(key, &j.Description)
		case "enabled":
			boolean(key, &j.Enabled)
		case "stdout":
			boolean(key, &j.Stdout)
		case "stderr":
			boolean(key, &j.Stderr)
		case "schedule":
			errs = append(errs, decodeSchedule(raw[key], &j.Schedule)...)
		default:
			errs = append(errs, fieldError{attr + "." + key, "Extra inputs are not permitted",
				errnoEINVAL})
		}
	}
	for _, key := range []string{"user", "command"} {
		if _, ok := raw[key]; !ok {
			errs = append(errs, fieldError{attr + "." + key, "Field required", errnoEINVAL})
		}
	}
	return j, errs
}

// decodeSchedule reads the schedule object over its defaults.
func decodeSchedule(data json.RawMessage, sch *cronSchedule) []fieldError {
	const attr = "cron_job_create.schedule"
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil || raw == nil {
		return []fieldError{{attr, "Input should be a valid dictionary", errnoEINVAL}}
	}
	fields := map[string]*string{"minute": &sch.Minute, "hour": &sch.Hour, "dom": &sch.Dom,
		"month": &sch.Month, "dow": &sch.Dow}
	var errs []fieldError
	for _, key := range sortedKeys(raw) {
		dst, ok := fields[key]
		switch {
		case !ok:
			errs = append(errs, fieldError{attr + "." + key, "Extra inputs are not permitted",
				errnoEINVAL})
		case json.Unmarshal(raw[key], dst) != nil:
			errs = append(errs, fieldError{attr + "." + key, "Input should be a valid string",
				errnoEINVAL})
		}
	}
	return errs
}

// sortedKeys returns the keys of a map in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// cronEntries renders every entry, by id.
func (s *Server) cronEntries() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, 0, len(s.st.CronJobs))
	for _, j := range s.st.CronJobs {
		e, _ := rawJSON(j).(map[string]any)
		out = append(out, e)
	}
	return out
}

// cronQuery answers cronjob.query.
func (s *Server) cronQuery(cl *call) (any, *rpcError) {
	if rerr := tooManyArgs(cl.args, 2); rerr != nil {
		return nil, rerr
	}
	return query(s.cronEntries(), cl.args)
}

// cronGet answers cronjob.get_instance; a miss is a synchronous -32602.
func (s *Server) cronGet(cl *call) (any, *rpcError) {
	if rerr := tooManyArgs(cl.args, 2); rerr != nil {
		return nil, rerr
	}
	var id int
	if rerr := arg(cl.args, 0, "id", &id); rerr != nil {
		return nil, rerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.findCronJob(id)
	if j == nil {
		return nil, invalidParams(fieldError{msg: cronJobNotFound(id), errno: errnoENOENT})
	}
	return rawJSON(j), nil
}

// cronDelete answers cronjob.delete.
func (s *Server) cronDelete(cl *call) (any, *rpcError) {
	if rerr := tooManyArgs(cl.args, 1); rerr != nil {
		return nil, rerr
	}
	var id int
	if rerr := arg(cl.args, 0, "id", &id); rerr != nil {
		return nil, rerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findCronJob(id) == nil {
		return nil, invalidParams(fieldError{msg: cronJobNotFound(id), errno: errnoENOENT})
	}
	kept := s.st.CronJobs[:0]
	for _, j := range s.st.CronJobs {
		if j.ID != id {
			kept = append(kept, j)
		}
	}
	s.st.CronJobs = kept
	if err := s.st.save(s.opts.Dir); err != nil {
		return nil, callError(errnoEFAULT, "Failed to delete cron job: %v", err)
	}
	return true, nil
}

// cronCommandLine is what TrueNAS hands to sh -c for an entry.
func cronCommandLine(j *cronJob) string {
	line := strings.ReplaceAll(j.Command, "\n", "")
	if j.Stdout {
		line += " > /dev/null"
	}
	if j.Stderr {
		line += " 2> /dev/null"
	}
	return line
}

// cronRun answers cronjob.run [id, skip_disabled]: a job, one at a time per entry, that runs
// the entry's command line as root and keeps its output (stdout and stderr merged) for
// logs_excerpt. A non-zero exit fails the job as TrueNAS does.
func (s *Server) cronRun(cl *call) (any, *rpcError) {
	if rerr := tooManyArgs(cl.args, 2); rerr != nil {
		return nil, rerr
	}
	var id int
	var skipDisabled bool
	if rerr := arg(cl.args, 0, "id", &id); rerr != nil {
		return nil, rerr
	}
	if rerr := arg(cl.args, 1, "skip_disabled", &skipDisabled); rerr != nil {
		return nil, rerr
	}
	return cl.startJob(fmt.Sprintf("cron_job_run_%d", id), func(r *jobRun) (any, error) {
		r.keepLogs()
		r.setExcerpt("") // the log stays empty unless the command runs and prints
		s.mu.Lock()
		var j cronJob
		found := s.findCronJob(id)
		if found != nil {
			j = *found
		}
		s.mu.Unlock()
		if found == nil {
			return nil, jobInstanceNotFound(cronJobNotFound(id))
		}
		// TrueNAS refuses rather than skips: "skip" means "do not run it".
		if skipDisabled && !j.Enabled {
			return nil, jobCallError(errnoEINVAL, "Cron job is disabled")
		}
		line := cronCommandLine(&j)
		r.progress(10, "Executing Cron Task")
		if d := s.faults.cronTime; d > 0 {
			// A slow task, e.g. a large zfs send: the script runs after d.
			if err := r.sleep(d); err != nil {
				return nil, err
			}
		}
		out := &cronOutput{}
		status, err := s.runCron(r.ctx, line, out)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, jobCallError(errnoEFAULT, "Job aborted: simulator shutting down")
			}
			return nil, jobCallError(errnoEFAULT, "Running cron task: %v", err)
		}
		r.progress(85, "Executed Cron Task")
		if !out.empty() {
			r.progress(95, "Email for root user not configured. Skipping sending mail.")
		}
		r.setExcerpt(out.excerpt(line))
		if status != 0 {
			return nil, jobCallError(errnoEFAULT,
				"CronTask \"%s\" exited with %d (non-zero) exit status.", line, status)
		}
		r.progress(100, "Execution of Cron Task complete.")
		return nil, nil
	})
}
