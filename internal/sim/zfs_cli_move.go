package sim

// zfs send, receive and rename: the commands that move a tree to another dataset name.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// send runs zfs send: it writes the stream of a snapshot (zfs_stream.go), tree and all.
func (z *zfsCmd) send(args []string, stdout io.Writer) int {
	_, operands, ok := z.parseOpts(args, "DLPbcehnpsUVvwRi:I:X:t:", "DLPbcehnpsUVvwRiIXt")
	if !ok {
		return 2
	}
	switch {
	case len(operands) < 1:
		z.errf("missing snapshot argument\n")
		return z.usage()
	case len(operands) > 1:
		z.errf("too many arguments\n")
		return z.usage()
	}
	id := operands[0]
	unlock := z.lock()
	sn := z.findSnapshot(id)
	_, _, isSnap := strings.Cut(id, "@")
	exists := z.s.lookupDS(id).kind != dsMissing
	var spool *os.File
	var err error
	if sn != nil {
		spool, err = z.s.spoolStream(sn)
	}
	if spool != nil {
		z.s.holdSnapshot(sn.id(), 1)
		defer func() {
			defer z.lock()()
			z.s.holdSnapshot(sn.id(), -1)
		}()
	}
	unlock()
	switch {
	case !isSnap && exists:
		return z.fail("cannot send '%s': the simulator sends snapshots only (zfs send %s@<snap>)",
			id, id)
	case sn == nil:
		return z.openFailed(id)
	case err != nil:
		return z.fail("warning: cannot send '%s': %v", id, err)
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()

	// The lock is free while the stream goes out, so a receiver at the other end of a pipe
	// can take it, and a reader that stops early holds nothing up.
	if _, err := io.Copy(stdout, spool); err != nil {
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrClosedPipe) {
			return z.fail("warning: cannot send '%s': Broken pipe", id)
		}
		return z.fail("warning: cannot send '%s': %v", id, err)
	}
	return 0
}

// errbuf begins what zfs receive prints when a full stream cannot become a dataset.
const errbuf = "cannot receive new filesystem stream"

// receive runs zfs receive. As in OpenZFS, the destination is checked once the header is
// read, before the data; the tree is then received into a staging directory without the
// lock, and becomes the dataset only if the whole stream arrived intact.
func (z *zfsCmd) receive(args []string) int {
	opts, operands, ok := z.parseOpts(args, "vMnsFhuo:x:dAec:", "MnsFhxdAec")
	if !ok {
		return 2
	}
	switch {
	case len(operands) < 1:
		z.errf("missing snapshot argument\n")
		return z.usage()
	case len(operands) > 1:
		z.errf("too many arguments\n")
		return z.usage()
	}
	props := map[string]string{}
	for _, o := range opts['o'] {
		key, value, found := strings.Cut(o, "=")
		if !found {
			z.errf("missing '=' for property=value argument\n")
			return z.usage()
		}
		if msg := checkSet(key, value); msg != "" {
			return z.fail("%s: %s", errbuf, msg)
		}
		props[canonProp(key)] = value
	}

	header, in, status := z.readStream()
	if status != 0 {
		return status
	}
	_, srcLabel, _ := strings.Cut(header.Snapshot, "@")
	ds, label, named := strings.Cut(operands[0], "@")
	if !named {
		label = srcLabel
	}
	unlock := z.lock()
	status = z.checkReceiveTo(ds, label)
	unlock()
	if status != 0 {
		return status
	}
	if opts.has('v') {
		z.printf("receiving full stream of %s into %s@%s\n", header.Snapshot, ds, label)
	}

	staged, err := z.s.stageReceive()
	if err != nil {
		return z.fail("%s: %v", errbuf, err)
	}
	err = in.extract(filepath.Join(staged, "rootfs"))
	if err == nil {
		err = os.Mkdir(filepath.Join(staged, "snapshots"), 0o700)
	}
	if err == nil {
		err = copyTree(filepath.Join(staged, "rootfs"),
			filepath.Join(staged, "snapshots", label))
	}
	if err != nil {
		os.RemoveAll(staged)
		return z.fail("%s: %v", errbuf, err)
	}

	defer z.lock()()
	if status := z.checkReceiveTo(ds, label); status != 0 { // it may have changed meanwhile
		os.RemoveAll(staged)
		return status
	}
	if err := z.s.installReceived(staged, ds, label, header, props,
		!opts.has('u')); err != nil {
		return z.fail("%s: %v", errbuf, err)
	}
	return 0
}

// checkReceiveTo refuses to receive a new dataset ds with snapshot label, printing why.
// Called with mu held.
func (z *zfsCmd) checkReceiveTo(ds, label string) int {
	switch {
	case checkName(ds) != "":
		return z.fail("%s: %s", errbuf, checkName(ds))
	case checkLabel(label) != "":
		return z.fail("%s: %s", errbuf, checkLabel(label))
	case z.s.lookupDS(ds).kind != dsMissing:
		z.errf("%s: destination '%s' exists\n", errbuf, ds)
		return z.fail("must specify -F to overwrite it")
	case parentOf(ds) == "":
		return z.fail("%s: destination '%s' does not exist", errbuf, ds)
	}
	return z.checkParent(ds, errbuf, "unable to restore to destination")
}

// readStream reads the magic and header of a send stream from stdin, and returns the rest
// to read the body from; status is non-zero after an error was printed.
func (z *zfsCmd) readStream() (zfsStream, *streamIn, int) {
	var header zfsStream
	in := bufio.NewReader(z.stdin)
	magic := make([]byte, len(zfsStreamMagic))
	n, err := io.ReadFull(in, magic)
	if err != nil && strings.HasPrefix(zfsStreamMagic, string(magic[:n])) {
		return header, nil, z.fail("cannot receive: failed to read from stream")
	}
	if string(magic) != zfsStreamMagic {
		return header, nil, z.fail("cannot receive: invalid stream (bad magic number)")
	}
	line, err := in.ReadString('\n')
	if err != nil {
		return header, nil, z.fail("cannot receive: failed to read from stream")
	}
	if json.Unmarshal([]byte(line), &header) != nil {
		return header, nil, z.fail("cannot receive: invalid stream (checksum mismatch)")
	}
	if ds, label, ok := strings.Cut(header.Snapshot, "@"); !ok || ds == "" || label == "" {
		return header, nil, z.fail("cannot receive: invalid stream (bad snapshot name)")
	}
	sum := newSummer()
	sum.Write([]byte(line))
	return header, &streamIn{in: in, sum: sum}, 0
}

// checkParent refuses a new dataset name whose parent is missing, or is not a layout
// dataset. Called with mu held. Datasets nest one level below the layout datasets and no
// deeper: on TrueNAS, pixels creates no children of container datasets, and keeping them
// childless spares delete, destroy and rename from carrying children along.
func (z *zfsCmd) checkParent(name, errbuf, missing string) int {
	parent := z.s.lookupDS(parentOf(name))
	switch parent.kind {
	case dsMissing:
		if missing == "" {
			return z.fail("%s: parent does not exist", errbuf)
		}
		z.openFailed(parent.name)
		return z.fail("%s: %s", errbuf, missing)
	case dsLayout:
		return 0
	}
	return z.fail("%s: the simulator keeps datasets only directly below %s", errbuf,
		strings.Join(z.s.layout(), ", "))
}

// rename runs zfs rename.
func (z *zfsCmd) rename(args []string) int {
	_, operands, ok := z.parseOpts(args, "pruf", "pr")
	if !ok {
		return 2
	}
	switch {
	case len(operands) < 1:
		z.errf("missing source dataset argument\n")
		return z.usage()
	case len(operands) < 2:
		z.errf("missing target dataset argument\n")
		return z.usage()
	case len(operands) > 2:
		z.errf("too many arguments\n")
		return z.usage()
	}
	from, to := operands[0], operands[1]
	defer z.lock()()
	if strings.Contains(from, "@") {
		if z.findSnapshot(from) == nil {
			return z.openFailed(from)
		}
		return z.fail("cannot rename '%s': the simulator does not rename snapshots", from)
	}
	d := z.s.lookupDS(from)
	if d.kind == dsMissing {
		return z.openFailed(from)
	}
	if from == to {
		return 0
	}
	toErr := fmt.Sprintf("cannot rename to '%s'", to)
	switch {
	case checkName(to) != "":
		return z.fail("%s: %s", toErr, checkName(to))
	case strings.SplitN(to, "/", 2)[0] != strings.SplitN(from, "/", 2)[0] ||
		!strings.Contains(to, "/"):
		return z.fail("%s: datasets must be within same pool", toErr)
	case strings.HasPrefix(to, from+"/"):
		return z.fail("%s: New dataset name cannot be a descendant of current dataset name",
			toErr)
	case d.kind == dsLayout:
		return z.fail("cannot rename '%s': the simulator keeps its pool layout", from)
	}
	if status := z.checkParent(to, fmt.Sprintf("cannot create '%s'", to), ""); status != 0 {
		return status
	}
	if z.s.lookupDS(to).kind != dsMissing {
		return z.fail("cannot rename '%s': dataset already exists", from)
	}
	if z.s.busy(d) {
		return z.fail("cannot unmount '%s': pool or dataset is busy", z.s.mountPath(d))
	}
	if err := z.s.renameDataset(d, to); err != nil {
		return z.fail("cannot rename '%s': %v", from, err)
	}
	return 0
}
