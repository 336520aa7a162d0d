package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// Overwrite says what a Target does with something that is already where an
// entry goes.
type Overwrite int

// The overwrite policies.
const (
	// OverwriteAlways replaces what is there. It is the default. A
	// directory in the way of a non-directory is removed only if it is
	// empty, as what is in it is not the snapshot's to remove.
	OverwriteAlways Overwrite = iota
	// OverwriteIfChanged leaves what is there if type, size and
	// modification time match the entry (for a symbolic link also the
	// target, for a hard link: if it is the same inode already); the
	// content is then not read.
	OverwriteIfChanged
	// OverwriteNever leaves anything that exists, directories included:
	// their contents are restored, their metadata is left.
	OverwriteNever
)

// TargetOptions for Into; the zero value overwrites and restores ownership
// when running as root.
type TargetOptions struct {
	Overwrite Overwrite
	// NoOwner keeps the restoring user as owner even when running as
	// root. Ownership is restored only by root, by numeric ID.
	NoOwner bool
	// Warn receives problems that need not stop a restore: extended
	// attributes the file system does not support, ownership or device
	// nodes the process may not create. Calls are serialised. If Warn is
	// nil, these problems are errors.
	Warn func(path string, err error)
}

// Target restores a snapshot into a directory of the local file system.
//
// Every access goes through an os.Root opened on the directory, or through
// *at system calls on a directory opened through it, with a single name
// that is never followed if it is a symbolic link. Neither links already in
// the directory nor links the snapshot creates can make a write land
// outside it; an attempt is an error wrapping source.ErrUnsafePath where
// it can be told apart from other failures.
//
// Non-directories that replace something are created under a temporary
// name in their directory, get their metadata and are then renamed over
// the final name, so a replaced file that has other hard links elsewhere
// keeps its content. Regular files where nothing is in the way are
// created under their own name (exclusively), which spares the rename; a
// file that fails half-way is removed either way.
// Directories are created 0700 so they can be filled; their metadata is
// applied by Close, deepest first. A directory already where a directory
// goes is kept, made writable for its owner if needed, and gets the
// entry's metadata in Close, unless the policy is OverwriteNever.
//
// If a Put fails, Close is not called (see source.Target) and the
// directories keep mode 0700; the descriptor of the target directory is
// released when the Target is garbage collected.
type Target struct {
	dir   string
	opts  TargetOptions
	owner bool

	mu      sync.Mutex // guards the fields below
	root    *os.Root
	rootErr error
	existed bool         // dir existed before the restore
	dirs    []pendingDir // in walk order
	open    dirCache     // directories in use, open

	warnMu  sync.Mutex
	skipped atomic.Uint64
}

var (
	_ source.WriterAtTarget = (*Target)(nil)
	_ source.ReadBacker     = (*Target)(nil)
)

// Into returns a Target that restores into dir, creating it when the root
// entry is put. It does no I/O.
func Into(dir string, opts TargetOptions) *Target {
	return &Target{dir: dir, opts: opts, owner: os.Geteuid() == 0 && !opts.NoOwner}
}

// Parallel reports that regular files may be put concurrently.
func (t *Target) Parallel() bool { return true }

// Skipped returns how many entries the overwrite policy left alone.
func (t *Target) Skipped() uint64 { return t.skipped.Load() }

// Put creates e under the target directory. See source.Target.
func (t *Target) Put(ctx context.Context, e *source.Entry, content io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := source.ValidPath(e.Path); err != nil {
		return err
	}
	if e.Path == "." && e.Type != source.TypeDir {
		return fmt.Errorf("root entry is a %v, not a directory", e.Type)
	}
	// Whatever is at e.Path may be replaced: a descriptor of it must not
	// be used for what goes inside the new one.
	t.open.forget(e.Path)
	switch e.Type {
	case source.TypeFile:
		return t.putFile(ctx, e, content)
	case source.TypeDir:
		return t.putDir(e)
	case source.TypeSymlink:
		return t.putNode(e, "symlinkat", func(dirfd int, tmp string) error {
			return unix.Symlinkat(e.LinkTarget, dirfd, tmp)
		})
	case source.TypeFIFO:
		return t.putNode(e, "mkfifoat", func(dirfd int, tmp string) error {
			return unix.Mkfifoat(dirfd, tmp, 0o600)
		})
	case source.TypeCharDevice, source.TypeBlockDevice:
		return t.putDevice(e)
	case source.TypeSocket:
		return nil // a socket is made by the program that listens on it
	}
	return fmt.Errorf("%s: invalid type %v", e.Path, e.Type)
}

// openRoot creates and opens the target directory on first use.
func (t *Target) openRoot() (*os.Root, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.root != nil || t.rootErr != nil {
		return t.root, t.rootErr
	}
	if t.opts.Overwrite < OverwriteAlways || t.opts.Overwrite > OverwriteNever {
		t.rootErr = fmt.Errorf("restore into %s: invalid overwrite policy %d", t.dir, t.opts.Overwrite)
		return nil, t.rootErr
	}
	_, err := os.Stat(t.dir)
	t.existed = err == nil
	if err := os.MkdirAll(t.dir, 0o700); err != nil {
		t.rootErr = fmt.Errorf("restore into %s: %w", t.dir, err)
		return nil, t.rootErr
	}
	t.root, t.rootErr = os.OpenRoot(t.dir)
	return t.root, t.rootErr
}

// Close applies the metadata of the directories, deepest first, and
// releases the target directory.
func (t *Target) Close(ctx context.Context) error {
	t.mu.Lock()
	root, dirs := t.root, t.dirs
	t.dirs = nil
	t.mu.Unlock()
	if root == nil {
		return nil
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := t.finishDir(&dirs[i]); err != nil {
			return err
		}
	}
	t.open.closeAll()
	return root.Close()
}

// ReadBack opens the restored regular file at path.
func (t *Target) ReadBack(ctx context.Context, path string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := source.ValidPath(path); err != nil {
		return nil, err
	}
	a, err := t.openParent(path)
	if err != nil {
		return nil, err
	}
	defer a.close()
	fd, err := unix.Openat(a.fd, a.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: path, Err: err}
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		err = errTargetNotRegular
	}
	if err == nil {
		err = unix.SetNonblock(fd, false) // O_NONBLOCK only kept a FIFO from blocking the open
	}
	if err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "read back", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

var errTargetNotRegular = errors.New("not a regular file")

// warn reports a problem that need not stop the restore, or returns it if
// there is nowhere to report it.
func (t *Target) warn(path string, err error) error {
	if t.opts.Warn == nil {
		return err
	}
	t.warnMu.Lock()
	defer t.warnMu.Unlock()
	t.opts.Warn(path, err)
	return nil
}
