package fs

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// putDir makes a directory, or keeps the one that is there, 0700 so it can
// be filled, and leaves its metadata to Close.
func (t *Target) putDir(e *source.Entry) error {
	a, err := t.openParent(e.Path)
	if err != nil {
		return err
	}
	defer a.close()
	st, err := a.lstat()
	switch {
	case err != nil:
		return err
	case st != nil && t.opts.Overwrite == OverwriteNever && (e.Path != "." || t.existed):
		t.skipped.Add(1)
		return nil
	case st == nil:
		err = a.mkdir()
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		if st.Mode&0o700 != 0o700 {
			err = restoreChmodAt(a.fd, a.name, st.Mode&0o7777|0o700)
		}
	default:
		if err = unix.Unlinkat(a.fd, a.name, 0); err == nil {
			err = a.mkdir()
		}
	}
	if err != nil {
		return a.err("mkdir", err)
	}
	t.mu.Lock()
	t.dirs = append(t.dirs, pendingDir{path: e.Path, restoreMeta: restoreMetaOf(e)})
	t.mu.Unlock()
	return nil
}

func (a *restoreAt) mkdir() error { return unix.Mkdirat(a.fd, a.name, 0o700) }

// finishDir applies a directory's metadata, through a descriptor of the
// directory itself, so its permissions may deny what the calls need.
func (t *Target) finishDir(d *pendingDir) error {
	a, err := t.openParent(d.path)
	if err != nil {
		return err
	}
	defer a.close()
	fd, err := unix.Openat(a.fd, a.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return a.err("openat", err)
	}
	defer unix.Close(fd)
	return t.setMeta(restoreObj{dirfd: fd, name: ".", fd: fd, path: d.path}, &d.restoreMeta)
}

// putNode restores a non-directory other than a regular file: create makes
// it under a temporary name, which gets the metadata and is then renamed
// over the entry's name.
func (t *Target) putNode(e *source.Entry, op string, create func(dirfd int, tmp string) error) error {
	a, err := t.openParent(e.Path)
	if err != nil {
		return err
	}
	defer a.close()
	leave, err := t.prepare(a, func(st *unix.Stat_t) bool { return a.same(st, e) })
	if leave || err != nil {
		return err
	}
	tmp, err := a.temp(op, create)
	if err != nil {
		return err
	}
	o := restoreObj{dirfd: a.fd, name: tmp, fd: -1, path: e.Path, link: e.Type == source.TypeSymlink}
	m := restoreMetaOf(e)
	if err := t.setMeta(o, &m); err != nil {
		a.discard(tmp)
		return err
	}
	return a.place(tmp)
}

// putDevice makes a device node, which only a privileged process can.
func (t *Target) putDevice(e *source.Entry) error {
	mode := uint32(unix.S_IFCHR)
	if e.Type == source.TypeBlockDevice {
		mode = unix.S_IFBLK
	}
	err := t.putNode(e, "mknodat", func(dirfd int, tmp string) error {
		return unix.Mknodat(dirfd, tmp, mode|0o600, int(e.Rdev))
	})
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Op == "mknodat" && pe.Err == unix.EPERM {
		return t.warn(e.Path, err)
	}
	return err
}
