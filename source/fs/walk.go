package fs

import (
	"errors"
	iofs "io/fs"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// walker reads entries for one goroutine of a walk: the walk's settings,
// shared, and this goroutine's name caches and xattr scratch buffer.
type walker struct {
	exclude source.Patterns
	markers []string
	oneFS   bool
	rootDev uint64
	full    bool

	users  map[uint32]string
	groups map[uint32]string
	xbuf   []byte // scratch for xattr calls
}

// newWalker returns the walker of the goroutine that calls Walk, for s
// whose root is on device rootDev; full as for Source.walk.
func newWalker(s *Source, full bool, rootDev uint64) *walker {
	return &walker{
		exclude: s.exclude,
		markers: s.opts.ExcludeIfPresent,
		oneFS:   s.opts.OneFileSystem,
		rootDev: rootDev,
		full:    full,
		users:   make(map[uint32]string),
		groups:  make(map[uint32]string),
	}
}

// clone returns a walker with w's settings and caches of its own, for
// another goroutine.
func (w *walker) clone() *walker {
	c := *w
	c.users = make(map[uint32]string)
	c.groups = make(map[uint32]string)
	c.xbuf = nil
	return &c
}

// child reads the entry at rel, found at abs. It is nil if the entry is
// excluded, and has only Path and Err if it cannot be read. For a
// directory the walk goes into, dir is its first job.
func (w *walker) child(rel, abs string) (e *source.Entry, dir *job) {
	if !w.exclude.Empty() && w.exclude.Match(rel) {
		return nil, nil
	}
	var st unix.Stat_t
	if err := lstat(abs, &st); err != nil {
		return failed(rel, &iofs.PathError{Op: "lstat", Path: abs, Err: err}), nil
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if isDir && w.marked(abs) {
		return nil, nil
	}
	e, err := w.entry(rel, abs, &st)
	if err != nil {
		return failed(rel, err), nil
	}
	if isDir && (!w.oneFS || e.Device == w.rootDev) {
		dir = newDirJob(rel, abs)
	}
	return e, dir
}

// failed is the entry for rel that could not be read.
func failed(rel string, err error) *source.Entry {
	return &source.Entry{Path: rel, Err: err}
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
