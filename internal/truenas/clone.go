package truenas

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A container made from a checkpoint is built in two steps, the same on every version:
// TrueNAS creates an ordinary container (the "shell": the right name, NIC, limits and
// registration), then a root job replaces the shell's dataset with a full copy of the
// checkpoint (zfs send | zfs recv). A copy rather than a zfs clone, so that the new
// container never depends on the source: the source, its checkpoints and the copy can each
// be destroyed in any order. The copy receives into a sibling dataset first and swaps it in
// with two renames, so a failure at any point leaves the shell as it was and no stray
// dataset behind.

// shellStopTimeout bounds the force stop of a freshly created shell container.
const shellStopTimeout = 30 * time.Second

// copyScript is the root script that replaces dst's contents with snapshot src@label.
// Local ZFS properties of dst (Incus sets some, e.g. mountpoint=legacy) are carried over.
func copyScript(src, label, dst string) string {
	return strings.Join(copySteps(src, label, dst), "; ")
}

// copySteps are copyScript's commands, one per element.
func copySteps(src, label, dst string) []string {
	return []string{
		"set -eu",
		"src=" + shQuote(src+"@"+label),
		"dst=" + shQuote(dst),
		`tmp="$dst.pixels-new"`,
		`old="$dst.pixels-old"`,
		`trap 'zfs destroy -r "$tmp" >/dev/null 2>&1 || true' EXIT`,
		`props=$(zfs get -H -s local -o property,value all "$dst")`,
		`guid=$(zfs get -H -o value guid "$dst")`,
		`zfs send "$src" | zfs recv "$tmp"`,
		`zfs destroy "$tmp@"` + shQuote(label),
		// A client that gave up waiting (timeout) removed the shell, and a new container
		// may have the name by now: never swap into a dataset other than the one we began on.
		`[ "$(zfs get -H -o value guid "$dst")" = "$guid" ] || ` +
			`{ echo "$dst was replaced while the copy ran; leaving it alone" >&2; exit 1; }`,
		`zfs rename "$dst" "$old"`,
		`zfs rename "$tmp" "$dst" || { zfs rename "$old" "$dst"; exit 1; }`,
		`zfs destroy -r "$old" || echo "` + warnPrefix + `could not remove $old"`,
		`echo "$props" | while IFS="$(printf '\t')" read -r p v; do [ -z "$p" ] || ` +
			`zfs set "$p=$v" "$dst" || echo "` + warnPrefix + `could not set $p on $dst"; done`,
	}
}

// shellSpec is the spec of the container that receives the copy: the caller's, with the
// source's image, limits and pool where the caller left them open.
func shellSpec(spec CreateSpec, src *Container) CreateSpec {
	if src.Image != "" {
		spec.Image = src.Image
	}
	if spec.CPU == "" {
		spec.CPU = src.CPU
	}
	if spec.Memory == 0 {
		spec.Memory = src.Memory
	}
	return spec
}

// CreateFrom creates spec.Name as a full copy of checkpoint label of container src.
func (v *virt) CreateFrom(ctx context.Context, spec CreateSpec, src, label string,
	progress Progress) (*Container, error) {
	in, err := v.instance(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("creating container %q from %s@%s: %w", spec.Name, src, label, err)
	}
	cfg, err := v.config(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating container %q from %s@%s: %w", spec.Name, src, label, err)
	}
	from := in.container(cfg)
	shell := shellSpec(spec, &from)
	if shell.Pool == "" && in.StoragePool != nil {
		shell.Pool = *in.StoragePool
	}
	ct, err := v.Create(ctx, shell, progress)
	if err != nil && shell.Image != spec.Image && imageMissing(err) {
		// The source's image is described by os and release, which need not name an image
		// the NAS can still fetch; the shell's image matters only as a label.
		v.c.log.Debug("truenas source image unavailable; using the default image for the "+
			"copy's shell", "image", shell.Image, "err", err)
		shell.Image = spec.Image
		ct, err = v.Create(ctx, shell, progress)
	}
	made := err == nil
	if err == nil {
		err = v.Stop(ctx, spec.Name, StopOptions{Force: true, Timeout: shellStopTimeout}, nil)
	}
	if err == nil {
		err = copyCheckpoint(ctx, v.c, src, from.Dataset, label, spec.Name, ct.Dataset,
			progress)
	}
	if err == nil && spec.Autostart {
		err = v.Start(ctx, spec.Name, progress)
	}
	if err != nil {
		err = fmt.Errorf("creating container %q from %s@%s: %w", spec.Name, src, label, err)
		if made {
			err = halfMade{err}
		}
		return nil, err
	}
	return v.Get(ctx, spec.Name)
}

// imageMissing reports whether a create failed because its image could not be found.
func imageMissing(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "image") && strings.Contains(msg, "not found")
}

// copyCheckpoint runs the copy script for checkpoint label of container src (dataset
// srcDS) into container name (dataset dstDS).
func copyCheckpoint(ctx context.Context, c *Conn, src, srcDS, label, name, dstDS string,
	progress Progress) error {
	var step Progress
	if progress != nil {
		// The create's progress reached 100 %: the copy is a second step with its own.
		step = func(pct float64, _ string) { progress(pct, "copying checkpoint "+label) }
		step(0, "")
	}
	_, err := runAsRoot(ctx, c, fmt.Sprintf("copy %s@%s into %s", src, label, name),
		copyScript(srcDS, label, dstDS), step)
	return err
}

// ErrHalfMade marks a CreateFrom failure after the new container was made: the caller
// should delete it. Failures before that (e.g. the name is taken) do not carry it.
var ErrHalfMade = errors.New("new container left half made")

// halfMade wraps an error with ErrHalfMade without changing its text.
type halfMade struct{ error }

func (h halfMade) Unwrap() error        { return h.error }
func (h halfMade) Is(target error) bool { return target == ErrHalfMade }

// CreateFrom creates spec.Name as a full copy of checkpoint label of container src.
func (x *lxc) CreateFrom(ctx context.Context, spec CreateSpec, src, label string,
	progress Progress) (*Container, error) {
	made := false
	wrap := func(err error) error {
		err = fmt.Errorf("creating container %q from %s@%s: %w", spec.Name, src, label, err)
		if made {
			err = halfMade{err}
		}
		return err
	}
	se, err := x.entry(ctx, src)
	if err != nil {
		return nil, wrap(err)
	}
	from := Container{Name: se.Name, Dataset: se.Dataset}
	from.Image, _ = strings.CutPrefix(se.Description, imageTag)
	if from.Image == se.Description {
		from.Image = ""
	}
	if _, err := x.create(ctx, shellSpec(spec, &from), false, progress); err != nil {
		return nil, wrap(err) // half made already when it failed after container.create
	}
	made = true
	e, err := x.entry(ctx, spec.Name)
	if err != nil {
		return nil, wrap(err)
	}
	if err := copyCheckpoint(ctx, x.c, src, se.Dataset, label, spec.Name, e.Dataset,
		progress); err != nil {
		return nil, wrap(err)
	}
	// The copy carries the source's reporter; install this version's over it.
	if err := x.installReporter(ctx, e); err != nil {
		return nil, wrap(fmt.Errorf("installing the address reporter: %w", err))
	}
	if spec.Autostart {
		// The copy holds the source's address report: start marks it stale.
		if err := x.start(ctx, e); err != nil {
			return nil, wrap(fmt.Errorf("starting: %w", err))
		}
	}
	return x.Get(ctx, spec.Name)
}
