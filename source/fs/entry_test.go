package fs

import (
	"errors"
	iofs "io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

func TestEntryTypes(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "dir/", "file")
	require.NoError(t, os.Symlink("../no/where", filepath.Join(root, "link")))
	require.NoError(t, unix.Mkfifo(filepath.Join(root, "fifo"), 0o600))
	l, err := net.Listen("unix", filepath.Join(root, "sock"))
	require.NoError(t, err)
	defer l.Close()

	es := walkEntries(t, Dir(root, Options{}))
	want := map[string]source.Type{
		".": source.TypeDir, "dir": source.TypeDir, "file": source.TypeFile,
		"link": source.TypeSymlink, "fifo": source.TypeFIFO, "sock": source.TypeSocket,
	}
	require.Len(t, es, len(want))
	for _, e := range es {
		require.NoError(t, e.Err)
		require.Equal(t, want[e.Path], e.Type, e.Path)
		require.Equal(t, e.Type == source.TypeFile, e.Open != nil, e.Path)
	}
	require.Equal(t, "../no/where", entryAt(t, es, "link").LinkTarget)
	require.EqualValues(t, len("file"), entryAt(t, es, "file").Size)
}

func TestEntryDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating a device node needs root")
	}
	var null unix.Stat_t
	require.NoError(t, unix.Stat("/dev/null", &null))
	root := t.TempDir()
	err := unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o640, int(null.Rdev))
	if errors.Is(err, unix.EPERM) {
		t.Skip("mknod not permitted here (container without CAP_MKNOD)")
	}
	require.NoError(t, err)

	e := entryAt(t, walkEntries(t, Dir(root, Options{})), "null")
	require.Equal(t, source.TypeCharDevice, e.Type)
	require.Equal(t, uint64(null.Rdev), e.Rdev)
	require.Equal(t, iofs.FileMode(0o640), e.Perm)
	require.Nil(t, e.Open)
}

func TestEntryPerm(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "suid", "sgid", "sticky/", "plain")
	chmod := map[string]iofs.FileMode{
		"suid":   0o755 | iofs.ModeSetuid,
		"sgid":   0o710 | iofs.ModeSetgid,
		"sticky": 0o777 | iofs.ModeSticky,
		"plain":  0o604,
	}
	for name, mode := range chmod {
		require.NoError(t, os.Chmod(filepath.Join(root, name), mode))
	}
	es := walkEntries(t, Dir(root, Options{}))
	for name, mode := range chmod {
		require.Equal(t, mode, entryAt(t, es, name).Perm, name)
	}
	require.Equal(t, iofs.ModeDir|iofs.ModeSticky|0o777, entryAt(t, es, "sticky").Mode())
}

func TestEntryTimes(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "file", "dir/")
	link := filepath.Join(root, "link")
	require.NoError(t, os.Symlink("file", link))
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)
	for _, name := range []string{"file", "dir"} {
		require.NoError(t, os.Chtimes(filepath.Join(root, name), mtime, mtime.Add(time.Nanosecond)))
	}
	ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano() + 1)}
	require.NoError(t, unix.UtimesNanoAt(unix.AT_FDCWD, link, ts, unix.AT_SYMLINK_NOFOLLOW))

	es := walkEntries(t, Dir(root, Options{}))
	for _, name := range []string{"file", "dir", "link"} {
		e := entryAt(t, es, name)
		require.True(t, mtime.Add(time.Nanosecond).Equal(e.ModTime), "%s: %v", name, e.ModTime)
		require.WithinDuration(t, time.Now(), e.ChangeTime, time.Minute, name)
	}
}

func TestEntryIdentityAndOwner(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "file", "stranger")
	es := walkEntries(t, Dir(root, Options{}))
	e := entryAt(t, es, "file")
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(filepath.Join(root, "file"), &st))
	require.Equal(t, st.Ino, e.Inode)
	require.Equal(t, uint64(st.Dev), e.Device)
	require.EqualValues(t, 1, e.Links)
	require.Equal(t, uint32(os.Getuid()), e.UID)
	require.Equal(t, uint32(os.Getgid()), e.GID)
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		require.Equal(t, u.Username, e.User)
	}
	if g, err := user.LookupGroupId(strconv.Itoa(os.Getgid())); err == nil {
		require.Equal(t, g.Name, e.Group)
	}

	if os.Geteuid() != 0 {
		return
	}
	const unknown = 54321 // no name on a sane test machine
	require.NoError(t, os.Lchown(filepath.Join(root, "stranger"), unknown, unknown))
	e = entryAt(t, walkEntries(t, Dir(root, Options{})), "stranger")
	require.Equal(t, uint32(unknown), e.UID)
	require.Equal(t, uint32(unknown), e.GID)
	require.Empty(t, e.User)
	require.Empty(t, e.Group)
}

func TestEntryXattrs(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "file", "dir/", "none")
	set := func(name, attr, value string) {
		err := unix.Lsetxattr(filepath.Join(root, name), attr, []byte(value), 0)
		if errors.Is(err, unix.ENOTSUP) {
			t.Skipf("this test needs a file system with user xattrs for %s: %v", root, err)
		}
		require.NoError(t, err)
	}
	set("file", "user.zeta", "last")
	set("file", "user.alpha", "first")
	set("file", "user.empty", "")
	set("dir", "user.big", string(make([]byte, 3000))) // beyond the first buffer

	es := walkEntries(t, Dir(root, Options{}))
	require.Equal(t, []source.Xattr{
		{Name: "user.alpha", Value: []byte("first")},
		{Name: "user.empty", Value: []byte{}},
		{Name: "user.zeta", Value: []byte("last")},
	}, userXattrs(entryAt(t, es, "file").Xattrs))
	require.Equal(t, []source.Xattr{{Name: "user.big", Value: make([]byte, 3000)}},
		userXattrs(entryAt(t, es, "dir").Xattrs))
	require.Empty(t, userXattrs(entryAt(t, es, "none").Xattrs))
}

// userXattrs drops the security.* attributes a system may add on its own.
func userXattrs(xs []source.Xattr) []source.Xattr {
	var out []source.Xattr
	for _, x := range xs {
		if len(x.Name) > 5 && x.Name[:5] == "user." {
			out = append(out, x)
		}
	}
	return out
}

func TestEntryHardlinks(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "b/first", "c/")
	for _, link := range []string{"a2", "c/third"} {
		require.NoError(t, os.Link(filepath.Join(root, "b/first"), filepath.Join(root, link)))
	}
	es := walkEntries(t, Dir(root, Options{}))
	// "a2" comes first in walk order, so it holds the content.
	first := entryAt(t, es, "a2")
	require.Empty(t, first.Hardlink)
	require.NotNil(t, first.Open)
	for _, p := range []string{"b/first", "c/third"} {
		e := entryAt(t, es, p)
		require.Equal(t, "a2", e.Hardlink, p)
		require.Nil(t, e.Open, p)
		require.EqualValues(t, 3, e.Links, p)
		require.Equal(t, first.Size, e.Size, p)
		require.Equal(t, first.Inode, e.Inode, p)
	}
}

func TestEntrySparse(t *testing.T) {
	root := t.TempDir()
	sparse, err := os.Create(filepath.Join(root, "sparse"))
	require.NoError(t, err)
	require.NoError(t, sparse.Truncate(8<<20))
	_, err = sparse.WriteAt([]byte("island"), 4<<20)
	require.NoError(t, err)
	require.NoError(t, sparse.Close())
	require.NoError(t, os.WriteFile(filepath.Join(root, "dense"), make([]byte, 64<<10), 0o644))
	makeTree(t, root, "empty/")
	require.NoError(t, os.WriteFile(filepath.Join(root, "zero"), nil, 0o644))

	es := walkEntries(t, Dir(root, Options{}))
	require.True(t, entryAt(t, es, "sparse").Sparse)
	require.EqualValues(t, 8<<20, entryAt(t, es, "sparse").Size)
	require.False(t, entryAt(t, es, "dense").Sparse)
	require.False(t, entryAt(t, es, "zero").Sparse)
}
