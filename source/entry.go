package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// Type is the kind of a file system entry.
type Type uint8

// The entry types. The zero Type is invalid.
const (
	TypeFile Type = iota + 1
	TypeDir
	TypeSymlink
	TypeFIFO
	TypeCharDevice
	TypeBlockDevice
	TypeSocket
)

var typeNames = [...]string{"invalid", "file", "dir", "symlink", "fifo", "chardev", "blockdev", "socket"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", t)
}

// Valid reports whether t is one of the defined types.
func (t Type) Valid() bool { return t >= TypeFile && t <= TypeSocket }

// FileMode returns the io/fs type bits for t.
func (t Type) FileMode() fs.FileMode {
	switch t {
	case TypeDir:
		return fs.ModeDir
	case TypeSymlink:
		return fs.ModeSymlink
	case TypeFIFO:
		return fs.ModeNamedPipe
	case TypeCharDevice:
		return fs.ModeDevice | fs.ModeCharDevice
	case TypeBlockDevice:
		return fs.ModeDevice
	case TypeSocket:
		return fs.ModeSocket
	}
	return 0
}

// Xattr is one extended attribute.
type Xattr struct {
	Name  string
	Value []byte
}

// Entry is one file system object and its metadata.
type Entry struct {
	// Path is slash-separated and relative to the source root; the root is
	// ".". See ValidPath.
	Path string
	Type Type
	// Perm holds the permission bits and fs.ModeSetuid, fs.ModeSetgid and
	// fs.ModeSticky; no type bits.
	Perm fs.FileMode

	UID, GID    uint32
	User, Group string // names, when known

	// Size is the content length of a regular file; -1 when it is not
	// known before the content is read (a stream), in which case the
	// consumer records the length it read.
	Size       int64
	ModTime    time.Time
	ChangeTime time.Time // inode change time; for change detection only

	// Inode, Device and Links identify the object on its file system, for
	// change detection and hardlinks. Zero when the source has none.
	Inode  uint64
	Device uint64
	Links  uint64

	// Hardlink, on a regular file, is the Path of an earlier entry of the
	// same walk that this one is a hard link to; the entry has no content
	// of its own.
	Hardlink string

	LinkTarget string // symlink target, as stored
	Rdev       uint64 // device number of a device node
	Xattrs     []Xattr
	// Sparse marks a regular file that has holes; a target that can
	// should restore it sparse.
	Sparse bool

	// Open opens a regular file's content. The reader yields the content
	// as it is now; its Close reports an error wrapping ErrChanged if the
	// file changed while it was read. A source whose content can only be
	// read in walk order (a stream) allows Open only until the walk
	// function returns; others allow it until Walk returns.
	Open func() (io.ReadCloser, error) `json:"-"`

	// Err, when set, says the entry could not be read (permission denied,
	// vanished). The walk goes on; the consumer records the error and
	// skips the entry. Only Path is meaningful then.
	Err error `json:"-"`
}

// Mode returns the io/fs mode of e: type bits and Perm.
func (e *Entry) Mode() fs.FileMode { return e.Type.FileMode() | e.Perm }

// Name returns the last element of e.Path.
func (e *Entry) Name() string {
	if i := strings.LastIndexByte(e.Path, '/'); i >= 0 {
		return e.Path[i+1:]
	}
	return e.Path
}

// ErrChanged is wrapped by the Close error of a content reader whose file
// changed while it was read. The content read is kept, and the change
// reported.
var ErrChanged = errors.New("file changed while it was read")

// ErrAbort is wrapped by errors from a file's content (from Open, Read or
// Close) that must fail the whole backup rather than leave the file out: a
// dump command that failed half-way must never be stored as a good dump.
var ErrAbort = errors.New("backup aborted")

// ErrUnsafePath is wrapped by errors about paths that would escape the root
// they belong to.
var ErrUnsafePath = errors.New("unsafe path")

// ValidName reports whether name can be one element of a path: not empty,
// not "." or "..", without '/' or NUL.
func ValidName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// ValidPath checks that p is "." or a relative slash-separated path of
// valid names, so that joined to a root it stays inside it. The error wraps
// ErrUnsafePath.
func ValidPath(p string) error {
	if p == "." {
		return nil
	}
	for name := range strings.SplitSeq(p, "/") {
		if !ValidName(name) {
			return fmt.Errorf("%q: %w", p, ErrUnsafePath)
		}
	}
	return nil
}
