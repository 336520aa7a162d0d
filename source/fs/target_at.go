package fs

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"math/rand/v2"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// restoreAt is the directory an entry goes in, opened through the Root, and
// the entry's name in it. Everything done to the entry is a *at call on
// that directory with that single name (or a temporary one), so no
// symbolic link on the way is followed again after os.Root checked it.
type restoreAt struct {
	dir     *os.File
	fd      int
	name    string
	path    string // of the entry, for errors
	release func() // done with dir
	vacant  bool   // prepare found nothing at name
}

var errTargetDirInTheWay = errors.New("a directory that is not empty is in the way")

// openParent opens the directory p goes in. For the root, p is ".", and so
// is the name: the root is its own parent.
func (t *Target) openParent(p string) (*restoreAt, error) {
	root, err := t.openRoot()
	if err != nil {
		return nil, err
	}
	dir, name := ".", p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		dir, name = p[:i], p[i+1:]
	}
	f, release := t.open.get(dir)
	if f == nil {
		if f, err = root.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY, 0); err != nil {
			return nil, restoreClassify(root, dir, err)
		}
		release = t.open.add(dir, f)
	}
	return &restoreAt{dir: f, fd: int(f.Fd()), name: name, path: p, release: release}, nil
}

// restoreClassify tells a path that goes through a symbolic link os.Root
// refused (it does not export its error for that) from other failures.
func restoreClassify(root *os.Root, dir string, err error) error {
	if errors.Is(err, iofs.ErrNotExist) || errors.Is(err, iofs.ErrPermission) {
		return err
	}
	for end := 0; end <= len(dir); end++ {
		if end < len(dir) && dir[end] != '/' {
			continue
		}
		fi, lerr := root.Lstat(dir[:end])
		if lerr != nil {
			break
		}
		if fi.Mode()&iofs.ModeSymlink != 0 {
			return fmt.Errorf("%w: %s is a symbolic link: %w", source.ErrUnsafePath, dir[:end], err)
		}
	}
	return err
}

func (a *restoreAt) close() { a.release() }

func (a *restoreAt) err(op string, err error) error {
	return &os.PathError{Op: op, Path: a.path, Err: err}
}

// lstat returns what is at the entry's name, or nil if nothing is.
func (a *restoreAt) lstat() (*unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(a.fd, a.name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return nil, nil
	}
	if err != nil {
		return nil, a.err("fstatat", err)
	}
	return &st, nil
}

// temp makes an object with create under a fresh temporary name in the
// directory and returns the name. The name does not depend on the entry's,
// which may already be as long as a name can be.
func (a *restoreAt) temp(op string, create func(dirfd int, name string) error) (string, error) {
	for range 16 {
		name := fmt.Sprintf(".cairn-%016x.tmp", rand.Uint64())
		err := create(a.fd, name)
		if err == nil {
			return name, nil
		}
		if err != unix.EEXIST {
			return "", a.err(op, err)
		}
	}
	return "", a.err(op, unix.EEXIST)
}

// fresh makes the object with create under the entry's own name when
// prepare found nothing there, which spares a rename, and otherwise (or
// if something appeared meanwhile) under a temporary name, as temp does.
// It returns the name; place then has nothing to do for the entry's own.
func (a *restoreAt) fresh(op string, create func(dirfd int, name string) error) (string, error) {
	if a.vacant {
		err := create(a.fd, a.name)
		if err == nil {
			return a.name, nil
		}
		if err != unix.EEXIST {
			return "", a.err(op, err)
		}
	}
	return a.temp(op, create)
}

// place renames tmp to the entry's name, replacing what is there.
func (a *restoreAt) place(tmp string) error {
	if tmp == a.name {
		return nil
	}
	if err := unix.Renameat(a.fd, tmp, a.fd, a.name); err != nil {
		a.discard(tmp)
		return a.err("renameat", err)
	}
	return nil
}

func (a *restoreAt) discard(tmp string) { _ = unix.Unlinkat(a.fd, tmp, 0) }

// prepare looks at what is where the entry goes. It reports whether the
// overwrite policy leaves it, counting it as skipped; same says whether it
// is what the entry would make. Otherwise an empty directory in the way is
// removed; a directory with something in it is not the snapshot's to
// remove.
func (t *Target) prepare(a *restoreAt, same func(*unix.Stat_t) bool) (leave bool, err error) {
	st, err := a.lstat()
	if err != nil || st == nil {
		a.vacant = st == nil && err == nil
		return false, err
	}
	switch t.opts.Overwrite {
	case OverwriteNever:
		leave = true
	case OverwriteIfChanged:
		leave = same(st)
	}
	if leave {
		t.skipped.Add(1)
		return true, nil
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false, nil
	}
	err = unix.Unlinkat(a.fd, a.name, unix.AT_REMOVEDIR)
	if err == unix.ENOTEMPTY || err == unix.EEXIST {
		return false, a.err("replace", errTargetDirInTheWay)
	}
	if err != nil {
		return false, a.err("unlinkat", err)
	}
	return false, nil
}

var restoreFmts = [...]uint32{
	source.TypeFile:        unix.S_IFREG,
	source.TypeDir:         unix.S_IFDIR,
	source.TypeSymlink:     unix.S_IFLNK,
	source.TypeFIFO:        unix.S_IFIFO,
	source.TypeCharDevice:  unix.S_IFCHR,
	source.TypeBlockDevice: unix.S_IFBLK,
	source.TypeSocket:      unix.S_IFSOCK,
}

// same reports whether st, at the entry's name, has e's type, size (target
// for a link, device number for a device) and modification time.
func (a *restoreAt) same(st *unix.Stat_t, e *source.Entry) bool {
	ts, err := unix.TimeToTimespec(e.ModTime)
	if err != nil || st.Mtim != ts || st.Mode&unix.S_IFMT != restoreFmts[e.Type] {
		return false
	}
	switch e.Type {
	case source.TypeFile:
		return st.Size == e.Size
	case source.TypeSymlink:
		buf := make([]byte, st.Size+1)
		n, err := unix.Readlinkat(a.fd, a.name, buf)
		return err == nil && string(buf[:n]) == e.LinkTarget
	case source.TypeCharDevice, source.TypeBlockDevice:
		return st.Rdev == e.Rdev
	}
	return true
}
