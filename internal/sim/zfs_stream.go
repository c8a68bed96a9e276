package sim

// The stream zfs send writes and zfs recv reads (zfs_cli_move.go). It carries the sent
// snapshot's whole tree, so a receive needs nothing but the stream, as with OpenZFS: the
// snapshot may be destroyed once send is done. Its layout:
//
//	zfsStreamMagic
//	header  one JSON line (zfsStream) naming the snapshot
//	body    a tar archive of the snapshot's tree: "./" first, then directories, regular
//	        files and symlinks with their modes
//	zfsStreamEnd
//	sum     one JSON line (zfsStreamSum): the length and SHA-256 of header and body
//
// Input that ends before the sum line is an incomplete stream; a body tar cannot read, or a
// sum that disagrees, is a checksum mismatch. Those are the two ways OpenZFS words a broken
// stream.

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"
)

// zfsStreamMagic starts every stream zfs send writes.
const zfsStreamMagic = "\x00\x00PIXELS-SIM-ZFS-STREAM\x00"

// zfsStreamEnd follows the body; the sum line comes after it.
const zfsStreamEnd = "\x00\x00PIXELS-SIM-ZFS-END\x00"

// zfsStream is the header of a send stream: the sent snapshot, whose creation time and
// size the received snapshot keeps.
type zfsStream struct {
	Snapshot string    `json:"snapshot"` // dataset@label
	Created  time.Time `json:"created"`
	Size     int64     `json:"size"`
}

// zfsStreamSum is the last line of a stream.
type zfsStreamSum struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Ways a stream is broken; zfs recv prints them after its "cannot receive ..." prefix.
var (
	errStreamIncomplete = errors.New("incomplete stream")
	errStreamChecksum   = errors.New("checksum mismatch")
)

// summer counts and hashes the bytes written to it.
type summer struct {
	n int64
	h hash.Hash
}

func newSummer() *summer { return &summer{h: sha256.New()} }

// Write implements io.Writer.
func (s *summer) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	return s.h.Write(p)
}

// sum is what the stream's last line must say about what passed so far.
func (s *summer) sum() zfsStreamSum {
	return zfsStreamSum{Bytes: s.n, SHA256: hex.EncodeToString(s.h.Sum(nil))}
}

// spoolStream writes the stream of snapshot sn to a new temporary file among the loose
// datasets' files, rewound, so that zfs send can copy it out without holding the lock. The
// caller closes and removes the file; a crash leaves it to sweepDatasets. Called with mu
// held.
// While the stream goes out, send holds the snapshot (holdSnapshot), so destroying it then
// fails as busy, as in OpenZFS.
func (s *Server) spoolStream(sn *snapshot) (*os.File, error) {
	tree := filepath.Join(s.dataDir(s.lookupDS(sn.Dataset)), "snapshots", sn.Name)
	dir := filepath.Join(s.opts.Dir, datasetsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "send-")
	if err != nil {
		return nil, err
	}

	header := zfsStream{Snapshot: sn.id(), Created: sn.Created, Size: sn.Size}
	w := bufio.NewWriter(f)
	err = writeStream(w, header, tree)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, errors.Join(err, os.Remove(f.Name()))
	}
	return f, nil
}

// writeStream writes a whole stream: header, the tree at dir, and the sum.
func writeStream(w io.Writer, header zfsStream, dir string) error {
	line, err := json.Marshal(header)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, zfsStreamMagic); err != nil {
		return err
	}

	sum := newSummer()
	body := io.MultiWriter(w, sum)
	if _, err := body.Write(append(line, '\n')); err != nil {
		return err
	}
	if err := tarTree(body, dir); err != nil {
		return err
	}

	end, err := json.Marshal(sum.sum())
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, zfsStreamEnd+string(end)+"\n")
	return err
}

// tarTree writes the tree at dir as a tar archive, parents before children, never
// following a symlink.
func tarTree(w io.Writer, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()

	tw := tar.NewWriter(w)
	err = walkRoot(root, ".", true, func(p string, info fs.FileInfo) error {
		return tarTreeEntry(tw, root, p, info)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// tarTreeEntry writes one entry of tarTree.
func tarTreeEntry(tw *tar.Writer, root *os.Root, p string, info fs.FileInfo) error {
	link := ""
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		var err error
		if link, err = root.Readlink(p); err != nil {
			return err
		}
	case !info.IsDir() && !info.Mode().IsRegular():
		return nil // devices, sockets and fifos have no place in a simulated tree
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = p
	if info.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}

	f, err := root.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// streamIn reads a stream: after the magic, everything up to the end marker passes
// through sum, and a failure of the input itself is kept apart from a broken stream.
type streamIn struct {
	in      *bufio.Reader
	sum     *summer
	readErr error // the input failed, not the stream's contents
}

// Read implements io.Reader for the hashed part of the stream.
func (s *streamIn) Read(p []byte) (int, error) {
	n, err := s.in.Read(p)
	s.sum.Write(p[:n])
	if err != nil && err != io.EOF {
		s.readErr = err
	}
	return n, err
}

// broken names how err, met while reading the body or sum, breaks the stream: an
// input failure as itself, the input ending early as incomplete, anything else as a
// checksum mismatch.
func (s *streamIn) broken(err error) error {
	switch {
	case s.readErr != nil:
		return s.readErr
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return errStreamIncomplete
	}
	return errStreamChecksum
}

// extract writes the body's tree to a new directory rootfs and checks the sum. A broken
// stream returns errStreamIncomplete or errStreamChecksum; the caller removes rootfs on
// any error.
func (s *streamIn) extract(rootfs string) error {
	if err := os.Mkdir(rootfs, 0o700); err != nil {
		return err
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()

	type dirMode struct {
		name string
		mode fs.FileMode
	}
	var dirs []dirMode // modes applied last, so a read-only directory still gets filled
	tr := tar.NewReader(s)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.broken(err)
		}
		// Cleaned from "/", no name climbs out; os.Root keeps symlinks from leading out.
		name := path.Clean("/" + hdr.Name)[1:]
		if name == "" {
			name = "."
		}
		mode := hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSticky | fs.ModeSetuid |
			fs.ModeSetgid)
		if hdr.Typeflag == tar.TypeDir {
			if err := root.MkdirAll(name, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirMode{name, mode})
			continue
		}
		link := path.Clean("/" + hdr.Linkname)[1:]
		if err := extractEntry(root, tr, hdr, name, link); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || s.readErr != nil {
				return s.broken(err)
			}
			return fmt.Errorf("%s: %w", hdr.Name, unwrapPath(err))
		}
		if hdr.Typeflag == tar.TypeReg && mode&^fs.ModePerm != 0 {
			if err := root.Chmod(name, mode); err != nil {
				return err
			}
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := root.Chmod(dirs[i].name, dirs[i].mode); err != nil {
			return err
		}
	}

	return s.checkSum()
}

// checkSum reads the end marker and sum line and compares them with what was read.
func (s *streamIn) checkSum() error {
	got := s.sum.sum()
	end := make([]byte, len(zfsStreamEnd))
	if _, err := io.ReadFull(s.in, end); err != nil {
		s.noteReadErr(err)
		return s.broken(err)
	}
	if string(end) != zfsStreamEnd {
		return errStreamChecksum
	}
	line, err := s.in.ReadString('\n')
	if err != nil {
		s.noteReadErr(err)
		return s.broken(err)
	}
	var want zfsStreamSum
	if json.Unmarshal([]byte(line), &want) != nil || want != got {
		return errStreamChecksum
	}
	return nil
}

// noteReadErr keeps a failure of the input met outside Read.
func (s *streamIn) noteReadErr(err error) {
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		s.readErr = err
	}
}

// stageReceive makes a new directory among the loose datasets' files for a stream to be
// received into, away from any dataset until installReceived moves it; a crash leaves it to
// sweepDatasets. It needs no lock.
func (s *Server) stageReceive() (string, error) {
	dir := filepath.Join(s.opts.Dir, datasetsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return os.MkdirTemp(dir, "recv-")
}

// installReceived makes dataset to from a staged directory holding rootfs/ and
// snapshots/<label>: on a container's missing dataset when to names one, else as a new
// loose dataset. The staged directory is gone afterwards. The caller has
// checked that to is free and its parent exists. Called with mu held.
func (s *Server) installReceived(staged, to, label string, header zfsStream,
	props map[string]string, mount bool) error {
	var err error
	if target := s.slotOf(to); target != nil {
		s.closeBox(target.Name)
		if err = moveData(staged, s.containerDir(target.Name)); err == nil {
			target.NoDataset = false
		}
	} else {
		l := s.newLoose(time.Now(), mount)
		dir := filepath.Join(s.opts.Dir, datasetsDir, l.Dir)
		err = os.RemoveAll(dir) // no dataset owns a directory of a number not yet given
		if err == nil {
			err = os.Rename(staged, dir)
		}
		if err == nil {
			s.st.Datasets[to] = l
		}
	}
	if err != nil {
		return errors.Join(err, os.RemoveAll(staged))
	}
	if err := os.RemoveAll(staged); err != nil { // only an empty shell is left
		s.log.Warn("removing a received stream's directory", "dir", staged, "err", err)
	}

	s.st.TXG++
	s.st.Snapshots = append(s.st.Snapshots, &snapshot{Dataset: to, Name: label, TXG: s.st.TXG,
		Created: header.Created, Size: header.Size})
	s.setProps(to, props)
	return s.st.save(s.opts.Dir)
}
