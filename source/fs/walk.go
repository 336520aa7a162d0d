package fs

import (
	"context"
	"errors"
	iofs "io/fs"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// walker is the state of one walk. Its memory is the hardlink map, the
// name caches and the scratch buffer; the listings live on the stack of
// children, one per level.
type walker struct {
	ctx     context.Context
	fn      func(*source.Entry) error
	exclude source.Patterns
	markers []string
	oneFS   bool
	rootDev uint64
	full    bool

	links  map[fileID]string // first path of each file with several links
	users  map[uint32]string
	groups map[uint32]string
	xbuf   []byte // scratch for xattr calls
}

// fileID identifies a file on the running system.
type fileID struct{ dev, ino uint64 }

func newWalker(ctx context.Context, s *Source, full bool, fn func(*source.Entry) error) *walker {
	return &walker{
		ctx:     ctx,
		fn:      fn,
		exclude: s.exclude,
		markers: s.opts.ExcludeIfPresent,
		oneFS:   s.opts.OneFileSystem,
		full:    full,
		links:   make(map[fileID]string),
		users:   make(map[uint32]string),
		groups:  make(map[uint32]string),
	}
}

// children walks the entries of the directory rel, found at abs, whose
// sorted names are given.
func (w *walker) children(rel, abs string, names []string) error {
	dir := strings.TrimSuffix(abs, "/") // the root may be "/"
	for _, name := range names {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		crel := name
		if rel != "." {
			crel = rel + "/" + name
		}
		if err := w.child(crel, dir+"/"+name); err != nil {
			return err
		}
	}
	return nil
}

// child emits the entry at rel and, for a directory, what is in it. Only an
// error from fn or the context is returned; the others become entries.
func (w *walker) child(rel, abs string) error {
	if !w.exclude.Empty() && w.exclude.Match(rel) {
		return nil
	}
	var st unix.Stat_t
	if err := lstat(abs, &st); err != nil {
		return w.fail(rel, &iofs.PathError{Op: "lstat", Path: abs, Err: err})
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if isDir && w.marked(abs) {
		return nil
	}
	e, err := w.entry(rel, abs, &st)
	if err != nil {
		return w.fail(rel, err)
	}
	if err := w.fn(e); err != nil {
		return err
	}
	if !isDir || (w.oneFS && e.Device != w.rootDev) {
		return nil
	}
	names, err := readNames(abs)
	if err != nil {
		return w.fail(rel, err)
	}
	return w.children(rel, abs, names)
}

// fail emits an entry that could not be read.
func (w *walker) fail(rel string, err error) error {
	return w.fn(&source.Entry{Path: rel, Err: err})
}

// marked reports whether the directory at abs holds one of the
// ExcludeIfPresent names. A marker that cannot be looked at does not count:
// the walk then reports the directory's problem itself.
func (w *walker) marked(abs string) bool {
	for _, m := range w.markers {
		var st unix.Stat_t
		if lstat(abs+"/"+m, &st) == nil {
			return true
		}
	}
	return false
}

// readNames lists the directory at abs, sorted by name. It holds the
// directory open only while it reads, so a deep tree does not use up file
// descriptors.
func readNames(abs string) ([]string, error) {
	f, err := openDir(abs)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// openDir opens a directory to read it, refusing a symbolic link that took
// its place since it was lstat'ed.
func openDir(abs string) (*os.File, error) {
	fd, err := openNoatime(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if err != nil {
		return nil, &iofs.PathError{Op: "open", Path: abs, Err: err}
	}
	return os.NewFile(uintptr(fd), abs), nil
}

// openNoatime opens abs without updating its access time where the kernel
// permits that (the caller owns the file or has CAP_FOWNER), and as usual
// otherwise.
func openNoatime(abs string, flags int) (int, error) {
	fd, err := openRetry(abs, flags|unix.O_NOATIME)
	if errors.Is(err, unix.EPERM) {
		fd, err = openRetry(abs, flags)
	}
	return fd, err
}

// openRetry and lstat retry on EINTR, which the runtime's preemption
// signals can cause on network and FUSE file systems; the os package does
// the same.
func openRetry(abs string, flags int) (int, error) {
	for {
		fd, err := unix.Open(abs, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func lstat(abs string, st *unix.Stat_t) error {
	for {
		err := unix.Lstat(abs, st)
		if err != unix.EINTR {
			return err
		}
	}
}
