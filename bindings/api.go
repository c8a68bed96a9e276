// Package bindings is the `pixels` Lua module: the container, exec, console and checkpoint
// functions scripts call, their option tables, and the provisioning policy of create. One
// spec table (API) drives option decoding, the editor stubs and the reference docs. It talks
// to TrueNAS only through the truenas.Backend interface and to containers through
// internal/ssh.
package bindings

// Option is one key of a function's options table.
type Option struct {
	Name    string
	Type    string // string, int, bool, duration, size, map, strings, stdin, stream, argv
	Default string // as documented; "" for none
	Doc     string
	Enum    []string
}

// Function is one function of the pixels module.
type Function struct {
	Name    string
	Params  string // the positional parameters, as documented
	Options []Option
	Returns string
	Raises  string
	Doc     string
}

// API is the spec of every domain function, in the order the reference lists them.
var API = []Function{
	{Name: "create", Params: "opts", Returns: "container",
		Raises: "invalid option, exists, backend error, timeout, interrupted",
		Doc:    "Create a container, provision SSH access, and wait until it is ready.",
		Options: []Option{
			{Name: "name", Type: "string", Doc: "bare name; generated when absent"},
			{Name: "image", Type: "string", Default: "config defaults.image",
				Doc: "image alias, e.g. debian/12"},
			{Name: "cpu", Type: "int", Default: "config defaults.cpu", Doc: "CPU count"},
			{Name: "memory", Type: "size", Default: "config defaults.memory",
				Doc: `memory, e.g. "2GiB" or "512MiB"`},
			{Name: "disk", Type: "size",
				Doc: "root disk size (accepted for compatibility; TrueNAS 25.x ignores it)"},
			{Name: "env", Type: "map", Doc: "environment of the container's init"},
			{Name: "dns", Type: "strings", Default: "config defaults.dns",
				Doc: "DNS servers written into the container"},
			{Name: "wait", Type: "string", Default: "ssh",
				Enum: []string{"none", "running", "network", "ssh"},
				Doc:  "readiness to wait for"},
			{Name: "timeout", Type: "duration", Default: "5m",
				Doc: "deadline for creation and readiness"},
			{Name: "from", Type: "string",
				Doc: "NAME@CHECKPOINT, or NAME as it is now, to copy instead of an image"},
		}},
	{Name: "get", Params: "name", Returns: "container or nil",
		Raises: "unreachable",
		Doc:    "Look a container up; nil when it does not exist."},
	{Name: "list", Params: "opts?", Returns: "list of containers",
		Raises: "unreachable",
		Doc:    "List pixels' containers, sorted by name.",
		Options: []Option{
			{Name: "status", Type: "string", Doc: "only containers in this status, e.g. RUNNING"},
			{Name: "prefix", Type: "string", Doc: "only names starting with this"},
		}},
	{Name: "start", Params: "name, opts?", Returns: "container",
		Raises: "not_found, timeout",
		Doc:    "Start a stopped container and wait for it; a running one is left alone.",
		Options: []Option{
			{Name: "wait", Type: "string", Default: "ssh",
				Enum: []string{"none", "running", "network", "ssh"},
				Doc:  "readiness to wait for"},
			{Name: "timeout", Type: "duration", Default: "5m", Doc: "deadline"},
		}},
	{Name: "stop", Params: "name, opts?", Returns: "container",
		Raises: "not_found, timeout",
		Doc:    "Stop a running container, giving the guest a timeout before forcing.",
		Options: []Option{
			{Name: "force", Type: "bool", Default: "false", Doc: "skip the guest's shutdown"},
			{Name: "timeout", Type: "duration", Default: "2m", Doc: "graceful shutdown deadline"},
		}},
	{Name: "destroy", Params: "name, opts?", Returns: "nothing",
		Raises: "not_found, running without force",
		Doc:    "Delete a container and all its checkpoints.",
		Options: []Option{
			{Name: "force", Type: "bool", Default: "false", Doc: "stop it first if it runs"},
			{Name: "missing_ok", Type: "bool", Default: "false",
				Doc: "no error when it does not exist"},
		}},
	{Name: "exec", Params: "name, argv or string, opts?", Returns: "{code, stdout, stderr, duration}",
		Raises: "cannot connect, timeout; non-zero status only with check",
		Doc:    "Run a command in a container over SSH. A string runs through sh -c.",
		Options: []Option{
			{Name: "env", Type: "map", Doc: "environment variables for the command"},
			{Name: "cwd", Type: "string", Doc: "working directory"},
			{Name: "user", Type: "string", Doc: "run as this user (through su)"},
			{Name: "stdin", Type: "stdin", Doc: "a string to feed, or true for pixels' own stdin"},
			{Name: "timeout", Type: "duration", Doc: "deadline for the command"},
			{Name: "stream", Type: "stream",
				Doc: "true copies output live; a function gets (line, \"stdout\"|\"stderr\")"},
			{Name: "check", Type: "bool", Default: "false", Doc: "raise when the status is not 0"},
			{Name: "tty", Type: "bool", Default: "false", Doc: "allocate a terminal"},
		}},
	{Name: "write_file", Params: "name, path, content, opts?", Returns: "nothing",
		Raises: "not_found, invalid (bad path, mode or owner; a directory at the path), " +
			"cannot connect",
		Doc: "Replace a file in the running container, over SSH: atomically (a temporary " +
			"file renamed over it), creating parent directories. The container's own links " +
			"resolve inside it; a link at the path itself is replaced by the file. Empty " +
			"content makes an empty file.",
		Options: []Option{
			{Name: "mode", Type: "string", Default: "0644", Doc: `octal permissions, e.g. "0600"`},
			{Name: "owner", Type: "string", Default: "root", Doc: `"root", or "UID:GID"`},
		}},
	{Name: "read_file", Params: "name, path", Returns: "string",
		Raises: "not_found, cannot connect",
		Doc:    "Read a file from the container."},
	{Name: "console", Params: "name, opts?", Returns: "exit code",
		Raises: "no terminal, cannot connect",
		Doc:    "Open an interactive shell in the container.",
		Options: []Option{{Name: "shell", Type: "string",
			Doc: "shell to run instead of the login shell"}}},
	{Name: "copy_to", Params: "name, local_path, remote_path", Returns: "nothing",
		Raises: "not_found (local or remote path), container not running, cannot connect",
		Doc: "Copy a local file or directory tree into the container as one tar stream, " +
			"keeping modes. An existing remote directory receives it under its own name."},
	{Name: "copy_from", Params: "name, remote_path, local_path", Returns: "nothing",
		Raises: "not_found (remote path), invalid (unsafe archive entry), cannot connect",
		Doc: "Copy a file or directory tree out of the container, keeping modes. An existing " +
			"local directory receives it under its own name; entries that would land " +
			"outside the destination are refused."},
	{Name: "ssh_info", Params: "name",
		Returns: "{name, host, port, user, identity_file?, known_hosts}",
		Raises:  "not_found, container not running, cannot connect, host key mismatch",
		Doc: "How another SSH program reaches a running container as pixels does; connects " +
			"once so the host key is in pixels' known_hosts."},
	{Name: "ssh_config_file", Params: "", Returns: "path",
		Doc: "The ssh_config file that `pixels ssh-config --write` maintains in the config " +
			"directory (the directory is created)."},
	{Name: "checkpoint", Params: "name, opts?", Returns: "checkpoint",
		Raises: "not_found, exists",
		Doc:    "Snapshot the container's dataset.",
		Options: []Option{{Name: "label", Type: "string",
			Doc: "label; generated from the time when absent"}}},
	{Name: "checkpoints", Params: "name", Returns: "list of checkpoints, newest first",
		Raises: "not_found",
		Doc:    "List a container's checkpoints."},
	{Name: "restore", Params: "name, ref, opts?", Returns: "container",
		Raises: "not_found, newer checkpoints exist",
		Doc:    "Roll a container back to a checkpoint (label or id), restarting it if it ran.",
		Options: []Option{
			{Name: "force", Type: "bool", Default: "false",
				Doc: "destroy newer checkpoints when needed"},
			{Name: "wait", Type: "string", Default: "ssh",
				Enum: []string{"none", "running", "network", "ssh"},
				Doc:  "readiness to wait for after restarting"},
			{Name: "timeout", Type: "duration", Default: "5m", Doc: "deadline"},
		}},
	{Name: "delete_checkpoint", Params: "name, ref", Returns: "nothing",
		Raises: "not_found",
		Doc:    "Delete a checkpoint."},
	{Name: "wait", Params: "name, opts?", Returns: "container",
		Raises: "timeout",
		Doc:    "Wait until a container is running, has an address, or answers SSH.",
		Options: []Option{
			{Name: "until", Type: "string", Default: "ssh", Enum: []string{"running", "network", "ssh"},
				Doc: "readiness"},
			{Name: "timeout", Type: "duration", Default: "5m", Doc: "deadline"},
		}},
}

// lookup returns the spec of px.name.
func lookup(name string) *Function {
	for i := range API {
		if API[i].Name == name {
			return &API[i]
		}
	}
	return nil
}
