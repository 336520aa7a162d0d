package repo

import (
	"errors"
	"io"
	"io/fs"
	"sort"
	"sync"

	"github.com/cairnbackup/cairn/pack"
)

// snapFile is an open regular file (or other non-directory) of a
// SnapshotFS. Reads load one blob at a time and keep the last one.
type snapFile struct {
	fsys    *SnapshotFS
	info    nodeInfo
	content []ID
	starts  []int64 // offset of each blob; one more entry: the size

	mu     sync.Mutex
	off    int64
	cached int // index of the blob in buf, or -1
	buf    []byte
	closed bool
}

func (f *SnapshotFS) newFile(info nodeInfo, content []ID) (*snapFile, error) {
	starts := make([]int64, len(content)+1)
	for i, id := range content {
		loc, ok := f.r.idx.Lookup(pack.Handle{Type: pack.DataBlob, ID: id})
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: info.name, Err: &BlobError{Blob: pack.Handle{Type: pack.DataBlob, ID: id}, Err: ErrNotFound}}
		}
		starts[i+1] = starts[i] + int64(loc.RawLength)
	}
	return &snapFile{fsys: f, info: info, content: content, starts: starts, cached: -1}, nil
}

func (sf *snapFile) Stat() (fs.FileInfo, error) { return sf.info, nil }

func (sf *snapFile) Close() error {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if sf.closed {
		return fs.ErrClosed
	}
	sf.closed, sf.buf = true, nil
	return nil
}

func (sf *snapFile) Read(p []byte) (int, error) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	n, err := sf.readAt(p, sf.off)
	sf.off += int64(n)
	return n, err
}

func (sf *snapFile) ReadAt(p []byte, off int64) (int, error) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if off < 0 {
		return 0, &fs.PathError{Op: "readat", Path: sf.info.name, Err: fs.ErrInvalid}
	}
	n, err := sf.readAt(p, off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// readAt reads from off until p is full or the file ends (io.EOF only if
// nothing was read); the caller holds mu.
func (sf *snapFile) readAt(p []byte, off int64) (int, error) {
	if sf.closed {
		return 0, fs.ErrClosed
	}
	size := sf.starts[len(sf.starts)-1]
	n := 0
	for n < len(p) && off < size {
		i := sort.Search(len(sf.content), func(i int) bool { return sf.starts[i+1] > off })
		if err := sf.load(i); err != nil {
			return n, err
		}
		c := copy(p[n:], sf.buf[off-sf.starts[i]:])
		n += c
		off += int64(c)
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (sf *snapFile) load(i int) error {
	if sf.cached == i {
		return nil
	}
	sf.cached = -1
	buf, err := sf.fsys.r.LoadBlob(sf.fsys.ctx, pack.DataBlob, sf.content[i], sf.buf)
	if err != nil {
		return &fs.PathError{Op: "read", Path: sf.info.name, Err: err}
	}
	sf.buf, sf.cached = buf, i
	return nil
}

func (sf *snapFile) Seek(offset int64, whence int) (int64, error) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	switch whence {
	case io.SeekCurrent:
		offset += sf.off
	case io.SeekEnd:
		offset += sf.starts[len(sf.starts)-1]
	}
	if offset < 0 {
		return 0, &fs.PathError{Op: "seek", Path: sf.info.name, Err: fs.ErrInvalid}
	}
	sf.off = offset
	return offset, nil
}

// snapDir is an open directory of a SnapshotFS.
type snapDir struct {
	fsys *SnapshotFS
	info nodeInfo
	path string
	list []fs.DirEntry
	read bool // list loaded
	pos  int
}

func (d *snapDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *snapDir) Close() error               { return nil }
func (d *snapDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}

// ReadDir returns the next n entries, or all remaining ones if n <= 0.
func (d *snapDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		list, err := d.fsys.ReadDir(d.path)
		if err != nil {
			return nil, err
		}
		d.list, d.read = list, true
	}
	rest := d.list[d.pos:]
	if n <= 0 {
		d.pos = len(d.list)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(n, len(rest))]
	d.pos += len(rest)
	return rest, nil
}
