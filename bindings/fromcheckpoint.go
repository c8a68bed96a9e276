package bindings

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pixels-dev/pixels/engine"
	"github.com/pixels-dev/pixels/internal/truenas"
	lua "github.com/yuin/gopher-lua"
)

// fromRef is what a new container is copied from: a container and one of its checkpoints,
// or, with no label, the container as it is now.
type fromRef struct {
	name  string // bare container name
	label string // checkpoint label or id; "" for the current state
}

// parseFrom reads the "from" option, NAME or NAME@CHECKPOINT.
func parseFrom(L *lua.LState, op, target, s string) *fromRef {
	name, label, hasAt := strings.Cut(s, "@")
	if err := CheckName(name); err != nil {
		raise(L, engine.CodeUsage, op, target, "%s: option \"from\" wants NAME or "+
			"NAME@CHECKPOINT, got %q: %v", op, s, err)
	}
	if hasAt && !validLabel(label) {
		raise(L, engine.CodeUsage, op, target, "%s: option \"from\" wants NAME or "+
			"NAME@CHECKPOINT, got %q: the checkpoint label is not valid (%s)", op, s, labelRule)
	}
	if name == target {
		raise(L, engine.CodeUsage, op, target, "%s: a container cannot be copied onto "+
			"itself (pick another name)", op)
	}
	return &fromRef{name: name, label: label}
}

// createFrom makes spec.Name a copy of from. Without a label it takes a temporary
// checkpoint of the source and deletes it afterwards, whatever happens.
func (m *module) createFrom(rt *engine.Runtime, ctx context.Context, b truenas.Backend,
	spec truenas.CreateSpec, from *fromRef, prog truenas.Progress) (*truenas.Container, error) {
	src := Prefix + from.name
	if _, err := b.Get(ctx, src); err != nil {
		if errors.Is(err, truenas.ErrNotFound) {
			return nil, notFoundError(fmt.Sprintf("there is no container %q to copy from "+
				"(see: pixels list)", from.name))
		}
		return nil, err
	}
	label := from.label
	if label != "" {
		snaps, err := b.Snapshots(ctx, src)
		if err != nil {
			return nil, err
		}
		snap, _ := findRef(snaps, label)
		if snap == nil {
			return nil, notFoundError(fmt.Sprintf("container %q has no checkpoint %q (see: "+
				"pixels checkpoint list %s)", from.name, label, from.name))
		}
		label = snap.Label
	} else {
		label = temporaryLabel()
		if _, err := b.CreateSnapshot(ctx, src, label); err != nil {
			return nil, fmt.Errorf("taking a temporary checkpoint of %q: %w", from.name, err)
		}
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			err := b.DeleteSnapshot(dctx, src, label)
			if err != nil && !errors.Is(err, truenas.ErrNotFound) {
				rt.Warn("could not delete the temporary checkpoint %q of %q (%v); delete it "+
					"with: pixels checkpoint delete %s %s", label, from.name, err, from.name,
					label)
			}
		}()
	}
	c, err := b.CreateFrom(ctx, spec, src, label, prog)
	if err != nil {
		// Users know the source by its bare name too.
		return nil, renamedError{err, bareNames(err.Error(), src, from.name)}
	}
	return c, nil
}

// renamedError is err with its message respelled.
type renamedError struct {
	err error
	msg string
}

func (e renamedError) Error() string { return e.msg }
func (e renamedError) Unwrap() error { return e.err }

// temporaryLabel names the checkpoint a copy of a container's current state goes through.
func temporaryLabel() string {
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	return "pixels-copy-" + hex.EncodeToString(buf)
}

// notFoundError is a message that is ErrNotFound without saying so twice.
type notFoundError string

func (e notFoundError) Error() string { return string(e) }
func (e notFoundError) Unwrap() error { return truenas.ErrNotFound }

// existsError is a message that is ErrExists without saying so twice.
type existsError string

func (e existsError) Error() string { return string(e) }
func (e existsError) Unwrap() error { return truenas.ErrExists }
