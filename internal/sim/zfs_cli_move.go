package sim

// zfs send, receive and rename: the commands that move a tree to another dataset name.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// zfsStreamMagic starts every stream zfs send writes; what follows is one JSON line naming
// the sent snapshot. The stream carries no data: zfs recv copies the snapshot's tree.
// TODO(#3): so recv fails once the sent snapshot is gone; cheap, and enough while scripts can
// only pipe a stream straight into recv (redirections reach /dev/null only).
const zfsStreamMagic = "\x00\x00PIXELS-SIM-ZFS-STREAM\x00"

// zfsStream is the header of a send stream.
type zfsStream struct {
	Snapshot string `json:"snapshot"`
	TXG      int64  `json:"txg"`
}

// send runs zfs send: it writes a stream naming the snapshot, which zfs recv copies from.
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
	var header zfsStream
	if sn != nil {
		header = zfsStream{Snapshot: sn.id(), TXG: sn.TXG}
	}
	_, _, isSnap := strings.Cut(id, "@")
	exists := z.s.lookupDS(id).kind != dsMissing
	unlock()
	switch {
	case !isSnap && exists:
		return z.fail("cannot send '%s': the simulator sends snapshots only (zfs send %s@<snap>)",
			id, id)
	case sn == nil:
		return z.openFailed(id)
	}
	data, err := json.Marshal(header)
	if err != nil {
		return z.fail("cannot send '%s': %v", id, err)
	}
	if _, err := io.WriteString(stdout, zfsStreamMagic+string(data)+"\n"); err != nil {
		return z.fail("warning: cannot send '%s': %v", id, err)
	}
	return 0
}

// receive runs zfs receive.
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
			return z.fail("cannot receive new filesystem stream: %s", msg)
		}
		props[canonProp(key)] = value
	}

	header, status := z.readStream()
	if status != 0 {
		return status
	}
	defer z.lock()()
	src := z.findSnapshot(header.Snapshot)
	if src == nil || src.TXG != header.TXG {
		return z.fail("cannot receive: invalid stream (the snapshot it was sent from is gone " +
			"from the simulator)")
	}
	ds, label, named := strings.Cut(operands[0], "@")
	if !named {
		label = src.Name
	}
	const errbuf = "cannot receive new filesystem stream"
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
	if status := z.checkParent(ds, errbuf, "unable to restore to destination"); status != 0 {
		return status
	}
	if opts.has('v') {
		z.printf("receiving full stream of %s into %s@%s\n", src.id(), ds, label)
	}
	if err := z.s.receiveDataset(src, ds, label, props, !opts.has('u')); err != nil {
		return z.fail("%s: %v", errbuf, err)
	}
	return 0
}

// readStream reads the header of a send stream from stdin; status is non-zero after an
// error was printed.
func (z *zfsCmd) readStream() (zfsStream, int) {
	var header zfsStream
	in := bufio.NewReader(z.stdin)
	magic := make([]byte, len(zfsStreamMagic))
	n, err := io.ReadFull(in, magic)
	if err != nil && strings.HasPrefix(zfsStreamMagic, string(magic[:n])) {
		return header, z.fail("cannot receive: failed to read from stream")
	}
	if string(magic) != zfsStreamMagic {
		return header, z.fail("cannot receive: invalid stream (bad magic number)")
	}
	line, err := in.ReadString('\n')
	if err != nil || json.Unmarshal([]byte(line), &header) != nil {
		return header, z.fail("cannot receive: invalid stream (checksum mismatch)")
	}
	return header, 0
}

// checkParent refuses a new dataset name whose parent is missing, or is not a layout
// dataset. Called with mu held.
// TODO(#3): nest datasets deeper; flat is all pixels needs, and it keeps container datasets
// free of children, which delete, destroy and rename would otherwise have to carry along.
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
