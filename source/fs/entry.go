package fs

import (
	"fmt"
	iofs "io/fs"
	"os"
	"os/user"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// entry turns the lstat result of abs into the Entry for rel. With w.full
// it also reads the link target, the owner names and the xattrs, and sets
// Open; any failure there fails the whole entry.
func (w *walker) entry(rel, abs string, st *unix.Stat_t) (*source.Entry, error) {
	typ, ok := fileType(st.Mode)
	if !ok {
		err := fmt.Errorf("unknown file type %#o", st.Mode&unix.S_IFMT)
		return nil, &iofs.PathError{Op: "lstat", Path: abs, Err: err}
	}
	e := &source.Entry{
		Path:       rel,
		Type:       typ,
		Perm:       source.PermFromUnix(st.Mode),
		UID:        st.Uid,
		GID:        st.Gid,
		ModTime:    timeOf(st.Mtim),
		ChangeTime: timeOf(st.Ctim),
		Inode:      st.Ino,
		Device:     uint64(st.Dev),
		Links:      uint64(st.Nlink),
	}
	switch typ {
	case source.TypeFile:
		e.Size = st.Size
		// Blocks counts 512-byte units whatever the file system's
		// block size. Fewer than the size needs means holes (or, on a
		// compressing file system, compression: a sparse restore of a
		// file without zero runs loses nothing).
		e.Sparse = st.Blocks*512 < st.Size
	case source.TypeCharDevice, source.TypeBlockDevice:
		e.Rdev = uint64(st.Rdev)
	}
	if w.full {
		if err := w.details(e, abs); err != nil {
			return nil, err
		}
	}
	if typ == source.TypeFile && w.full {
		// Whether the file is a hard link to an earlier entry, which then
		// needs no Open, is decided in walk order (traversal.link).
		e.Open = opener(abs, st)
	}
	return e, nil
}

// details fills what Count does not need.
func (w *walker) details(e *source.Entry, abs string) error {
	if e.Type == source.TypeSymlink {
		target, err := os.Readlink(abs)
		if err != nil {
			return err
		}
		e.LinkTarget = target
	}
	e.User = cachedName(w.users, e.UID, func(id string) (string, error) {
		u, err := user.LookupId(id)
		if err != nil {
			return "", err
		}
		return u.Username, nil
	})
	e.Group = cachedName(w.groups, e.GID, func(id string) (string, error) {
		g, err := user.LookupGroupId(id)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
	xattrs, err := w.xattrs(abs)
	if err != nil {
		return err
	}
	e.Xattrs = xattrs
	return nil
}

// cachedName looks id up once per walker (each goroutine of a walk has its
// own cache); an unknown id has the empty name.
func cachedName(cache map[uint32]string, id uint32, lookup func(string) (string, error)) string {
	name, ok := cache[id]
	if !ok {
		name, _ = lookup(strconv.FormatUint(uint64(id), 10))
		cache[id] = name
	}
	return name
}

func fileType(mode uint32) (source.Type, bool) {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return source.TypeFile, true
	case unix.S_IFDIR:
		return source.TypeDir, true
	case unix.S_IFLNK:
		return source.TypeSymlink, true
	case unix.S_IFIFO:
		return source.TypeFIFO, true
	case unix.S_IFCHR:
		return source.TypeCharDevice, true
	case unix.S_IFBLK:
		return source.TypeBlockDevice, true
	case unix.S_IFSOCK:
		return source.TypeSocket, true
	}
	return 0, false
}

func timeOf(ts unix.Timespec) time.Time { return time.Unix(ts.Unix()) }
