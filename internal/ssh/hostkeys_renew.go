package ssh

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNoKeygen means a host has SSH host keys but no ssh-keygen to make new ones.
var ErrNoKeygen = errors.New("it has no ssh-keygen")

// renewScript gives a host new SSH host keys of the same types it has now, in directory
// $1 (normally /etc/ssh), with comment root@$2. All new keys are made in a temporary
// directory first and moved in only once every one exists, so a failure changes nothing.
// Without host keys it does nothing and exits 3; without ssh-keygen, 4.
// DSA keys are left as they are: current OpenSSH can no longer make them.
var renewScript = `d=$1
h=$2
set -- "$d"/ssh_host_*_key
[ -e "$1" ] || exit 3
command -v ssh-keygen >/dev/null 2>&1 || exit 4
t=$(mktemp -d "$d/.pixels-hostkeys.` + mktempSuffix + `") || exit 1
for k in "$d"/ssh_host_*_key; do
	n=${k##*/}
	ty=${n#ssh_host_}
	ty=${ty%_key}
	case $ty in rsa|ecdsa|ed25519) ;; *) continue ;; esac
	if ! ssh-keygen -q -t "$ty" -N '' -C "root@$h" -f "$t/$n" </dev/null >/dev/null; then
		rm -rf "$t"
		exit 1
	fi
done
for k in "$t"/ssh_host_*; do
	[ -e "$k" ] || continue
	mv -f "$k" "$d/" || { rm -rf "$t"; exit 1; }
done
rm -rf "$t"`

// RenewHostKeys replaces the SSH host keys of the host at addr with new ones of the same
// types, for a container copied from another, which would otherwise share its source's
// identity. They take effect when sshd restarts. ok is false, with no error, when the host
// has no host keys in /etc/ssh (its sshd, if any, keeps keys elsewhere); the error wraps
// ErrNoKeygen when it has keys but no ssh-keygen to make new ones.
func (c *Client) RenewHostKeys(ctx context.Context, addr, hostname string) (ok bool, err error) {
	var stderr strings.Builder
	code, err := c.Exec(ctx, addr, ExecRequest{
		Argv:   []string{"sh", "-c", renewScript, "pixels-hostkeys", "/etc/ssh", hostname},
		Stderr: &limitWriter{w: &stderr, n: 4096},
	})
	switch {
	case err != nil:
		return false, fmt.Errorf("renewing ssh host keys: %w", err)
	case code == 3:
		return false, nil
	case code == 4:
		return false, fmt.Errorf("renewing ssh host keys: %w", ErrNoKeygen)
	case code != 0:
		return false, fmt.Errorf("renewing ssh host keys: status %d: %s", code,
			strings.TrimSpace(stderr.String()))
	}
	return true, nil
}
