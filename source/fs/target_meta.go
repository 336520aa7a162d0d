package fs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// restoreMeta is the metadata a Target applies, in the form the system
// calls take. Directories wait for Close with theirs, so it is kept small:
// with the path, about 80 bytes per directory plus the path's bytes and
// any extended attributes.
type restoreMeta struct {
	mtime    unix.Timespec
	mode     uint32 // permission, setuid, setgid and sticky bits
	uid, gid uint32
	hasTime  bool
	xattrs   []source.Xattr
}

// pendingDir is a directory whose metadata Close applies.
type pendingDir struct {
	path string
	restoreMeta
}

func restoreMetaOf(e *source.Entry) restoreMeta {
	m := restoreMeta{mode: source.UnixPerm(e.Perm), uid: e.UID, gid: e.GID, xattrs: e.Xattrs}
	if !e.ModTime.IsZero() {
		ts, err := unix.TimeToTimespec(e.ModTime)
		m.mtime, m.hasTime = ts, err == nil
	}
	return m
}

// restoreObj is an object whose metadata is set: name in dirfd, never
// followed if it is a symbolic link, and fd when the object is open (-1
// otherwise).
type restoreObj struct {
	dirfd int
	name  string
	fd    int
	path  string
	link  bool
}

// setMeta applies m to o. Ownership goes first, as chown clears the setuid
// and setgid bits, and permissions last, as they may take away the write
// and search permission the other calls need.
func (t *Target) setMeta(o restoreObj, m *restoreMeta) error {
	if err := t.chown(o, m); err != nil {
		return err
	}
	if err := t.setXattrs(o, m); err != nil {
		return err
	}
	if m.hasTime {
		ts := []unix.Timespec{m.mtime, m.mtime}
		if err := unix.UtimesNanoAt(o.dirfd, o.name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "utimensat", Path: o.path, Err: err}
		}
	}
	if o.link {
		return nil // a symbolic link's permissions are not used
	}
	var err error
	if o.fd >= 0 {
		err = unix.Fchmod(o.fd, m.mode)
	} else {
		err = restoreChmodAt(o.dirfd, o.name, m.mode)
	}
	if err != nil {
		return &os.PathError{Op: "chmod", Path: o.path, Err: err}
	}
	return nil
}

// restoreChmodAt changes the mode of name in dirfd without following it.
// Kernels before fchmodat2 (Linux 6.6) cannot; there name is a FIFO or
// device node just created under a temporary name.
func restoreChmodAt(dirfd int, name string, mode uint32) error {
	err := unix.Fchmodat(dirfd, name, mode, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
		err = unix.Fchmodat(dirfd, name, mode, 0)
	}
	return err
}

func (t *Target) chown(o restoreObj, m *restoreMeta) error {
	if !t.owner {
		return nil
	}
	var err error
	if o.fd >= 0 {
		err = unix.Fchown(o.fd, int(m.uid), int(m.gid))
	} else {
		err = unix.Fchownat(o.dirfd, o.name, int(m.uid), int(m.gid), unix.AT_SYMLINK_NOFOLLOW)
	}
	switch err {
	case nil:
		return nil
	case unix.EPERM, unix.EINVAL: // EINVAL: an ID not mapped in this user namespace
		return t.warn(o.path, &os.PathError{Op: "chown", Path: o.path, Err: err})
	}
	return &os.PathError{Op: "chown", Path: o.path, Err: err}
}

func (t *Target) setXattrs(o restoreObj, m *restoreMeta) error {
	for _, x := range m.xattrs {
		var err error
		if o.fd >= 0 {
			err = unix.Fsetxattr(o.fd, x.Name, x.Value, 0)
		} else {
			// Through the directory's descriptor, so nothing on the way
			// is resolved again; /proc may be missing (ENOENT).
			p := fmt.Sprintf("/proc/self/fd/%d/%s", o.dirfd, o.name)
			err = unix.Lsetxattr(p, x.Name, x.Value, 0)
		}
		switch err {
		case nil:
		case unix.ENOTSUP, unix.EPERM, unix.EACCES, unix.ENOENT:
			if err := t.warn(o.path, &os.PathError{Op: "setxattr " + x.Name, Path: o.path, Err: err}); err != nil {
				return err
			}
		default:
			return &os.PathError{Op: "setxattr " + x.Name, Path: o.path, Err: err}
		}
	}
	return nil
}
