package fs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

var tgtTime = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

func tgtDir(p string, perm iofs.FileMode) source.Entry {
	return source.Entry{Path: p, Type: source.TypeDir, Perm: perm, ModTime: tgtTime}
}

func tgtFile(p, content string) source.Entry {
	return source.Entry{Path: p, Type: source.TypeFile, Perm: 0o644, Size: int64(len(content)), ModTime: tgtTime}
}

// tgtPut puts e, with content for a regular file.
func tgtPut(t *testing.T, tg *Target, e source.Entry, content string) {
	t.Helper()
	var r io.Reader
	if e.Type == source.TypeFile && e.Hardlink == "" {
		r = strings.NewReader(content)
	}
	require.NoError(t, tg.Put(t.Context(), &e, r), e.Path)
}

// tgtRestore puts the root and then entries with the content "content of
// <path>", and closes the target.
func tgtRestore(t *testing.T, dir string, opts TargetOptions, entries ...source.Entry) *Target {
	t.Helper()
	tg := Into(dir, opts)
	tgtPut(t, tg, tgtDir(".", 0o755), "")
	for _, e := range entries {
		tgtPut(t, tg, e, "content of "+e.Path)
	}
	require.NoError(t, tg.Close(t.Context()))
	return tg
}

func tgtEntry(p string, typ source.Type, perm iofs.FileMode) source.Entry {
	e := source.Entry{Path: p, Type: typ, Perm: perm, ModTime: tgtTime}
	if typ == source.TypeFile {
		e.Size = int64(len("content of " + p))
	}
	return e
}

func tgtLstat(t *testing.T, p string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(p, &st), p)
	return &st
}

// tgtNoTemp checks that no temporary file is left in dir.
func tgtNoTemp(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		require.False(t, strings.HasPrefix(d.Name(), ".cairn-"), p)
		return err
	}))
}

func TestTargetTypes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "restore") // created by the root's Put
	link := tgtEntry("d/link", source.TypeSymlink, 0o777)
	link.LinkTarget = "f"
	abs := tgtEntry("abs", source.TypeSymlink, 0o777)
	abs.LinkTarget = "/etc/passwd" // data, never followed
	null := tgtEntry("null", source.TypeCharDevice, 0o666)
	null.Rdev = unix.Mkdev(1, 3)
	var warned []string
	opts := TargetOptions{Warn: func(p string, err error) { warned = append(warned, p) }}
	tgtRestore(t, dir, opts,
		tgtEntry("d", source.TypeDir, 0o750),
		tgtEntry("d/f", source.TypeFile, 0o640),
		link,
		abs,
		tgtEntry("fifo", source.TypeFIFO, 0o620),
		null,
		tgtEntry("sock", source.TypeSocket, 0o755),
	)

	b, err := os.ReadFile(filepath.Join(dir, "d/f"))
	require.NoError(t, err)
	require.Equal(t, "content of d/f", string(b))
	target, err := os.Readlink(filepath.Join(dir, "d/link"))
	require.NoError(t, err)
	require.Equal(t, "f", target)
	target, err = os.Readlink(filepath.Join(dir, "abs"))
	require.NoError(t, err)
	require.Equal(t, "/etc/passwd", target)
	require.Equal(t, uint32(unix.S_IFDIR|0o750), tgtLstat(t, filepath.Join(dir, "d")).Mode)
	require.Equal(t, uint32(unix.S_IFIFO|0o620), tgtLstat(t, filepath.Join(dir, "fifo")).Mode)
	if os.Geteuid() == 0 {
		st := tgtLstat(t, filepath.Join(dir, "null"))
		require.Equal(t, uint32(unix.S_IFCHR|0o666), st.Mode)
		require.Equal(t, unix.Mkdev(1, 3), st.Rdev)
	} else {
		require.Equal(t, []string{"null"}, warned)
	}
	_, err = os.Lstat(filepath.Join(dir, "sock"))
	require.ErrorIs(t, err, iofs.ErrNotExist)
	tgtNoTemp(t, dir)
}

func TestTargetPerms(t *testing.T) {
	dir := t.TempDir()
	tgtRestore(t, dir, TargetOptions{},
		tgtEntry("setuid", source.TypeFile, 0o755|iofs.ModeSetuid),
		tgtEntry("setgid", source.TypeFile, 0o750|iofs.ModeSetgid),
		tgtEntry("private", source.TypeFile, 0o600),
		tgtEntry("tmp", source.TypeDir, 0o777|iofs.ModeSticky),
		tgtEntry("ro", source.TypeDir, 0o555),
		tgtEntry("ro/f", source.TypeFile, 0o444),
		tgtEntry("ro/sub", source.TypeDir, 0o500),
		tgtEntry("ro/sub/g", source.TypeFile, 0o400),
	)
	for p, mode := range map[string]uint32{
		"setuid":   unix.S_IFREG | unix.S_ISUID | 0o755,
		"setgid":   unix.S_IFREG | unix.S_ISGID | 0o750,
		"private":  unix.S_IFREG | 0o600,
		"tmp":      unix.S_IFDIR | unix.S_ISVTX | 0o777,
		"ro":       unix.S_IFDIR | 0o555,
		"ro/f":     unix.S_IFREG | 0o444,
		"ro/sub":   unix.S_IFDIR | 0o500,
		"ro/sub/g": unix.S_IFREG | 0o400,
		".":        unix.S_IFDIR | 0o755,
	} {
		require.Equal(t, fmt.Sprintf("%o", mode), fmt.Sprintf("%o", tgtLstat(t, filepath.Join(dir, p)).Mode), p)
	}
	// The test directory must be removable by t.TempDir's cleanup.
	require.NoError(t, os.Chmod(filepath.Join(dir, "ro/sub"), 0o700))
	require.NoError(t, os.Chmod(filepath.Join(dir, "ro"), 0o700))
}

func TestTargetOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("restoring ownership needs root")
	}
	for _, noOwner := range []bool{false, true} {
		t.Run(fmt.Sprint("NoOwner=", noOwner), func(t *testing.T) {
			dir := t.TempDir()
			var entries []source.Entry
			for _, typ := range []source.Type{source.TypeDir, source.TypeFile, source.TypeSymlink, source.TypeFIFO} {
				e := tgtEntry(typ.String(), typ, 0o750|iofs.ModeSetgid)
				e.UID, e.GID, e.LinkTarget = 1234, 5678, "x"
				entries = append(entries, e)
			}
			tgtRestore(t, dir, TargetOptions{NoOwner: noOwner}, entries...)
			for _, e := range entries {
				st := tgtLstat(t, filepath.Join(dir, e.Path))
				if noOwner {
					require.Equal(t, [2]uint32{0, 0}, [2]uint32{st.Uid, st.Gid}, e.Path)
					continue
				}
				require.Equal(t, [2]uint32{1234, 5678}, [2]uint32{st.Uid, st.Gid}, e.Path)
				if e.Type != source.TypeSymlink {
					require.NotZero(t, st.Mode&unix.S_ISGID, "chmod after chown keeps setgid on %s", e.Path)
				}
			}
		})
	}
}

func TestTargetTimes(t *testing.T) {
	dir := t.TempDir()
	times := map[string]time.Time{}
	var entries []source.Entry
	for i, typ := range []source.Type{source.TypeDir, source.TypeFile, source.TypeSymlink, source.TypeFIFO} {
		e := tgtEntry(typ.String(), typ, 0o755)
		e.ModTime = time.Unix(1_600_000_000+int64(i)*1000, int64(i)*111_111_111+7)
		e.LinkTarget = "dangling"
		times[e.Path] = e.ModTime
		entries = append(entries, e)
	}
	// Filled after its own Put: its time is set in Close.
	entries = append(entries, tgtEntry("dir/inside", source.TypeFile, 0o644))
	tgtRestore(t, dir, TargetOptions{}, entries...)
	times["."] = tgtTime
	for p, want := range times {
		fi, err := os.Lstat(filepath.Join(dir, p))
		require.NoError(t, err)
		require.True(t, want.Equal(fi.ModTime()), "%s: %v, want %v", p, fi.ModTime(), want)
	}
}

func TestTargetXattrs(t *testing.T) {
	probe := filepath.Join(t.TempDir(), "probe")
	require.NoError(t, os.WriteFile(probe, nil, 0o600))
	if err := unix.Setxattr(probe, "user.probe", []byte("1"), 0); err != nil {
		t.Skipf("file system without user xattrs: %v", err)
	}
	dir := t.TempDir()
	x := []source.Xattr{{Name: "user.a", Value: []byte("one")}, {Name: "user.b", Value: []byte{0, 1, 2}}}
	f, d, l := tgtEntry("f", source.TypeFile, 0o400), tgtEntry("d", source.TypeDir, 0o500), tgtEntry("l", source.TypeSymlink, 0)
	f.Xattrs, d.Xattrs, l.Xattrs, l.LinkTarget = x, x, x, "f"
	var warned []string
	tgtRestore(t, dir, TargetOptions{Warn: func(p string, err error) { warned = append(warned, p) }}, f, d, l)
	for _, p := range []string{"f", "d"} {
		for _, a := range x {
			buf := make([]byte, 16)
			n, err := unix.Lgetxattr(filepath.Join(dir, p), a.Name, buf)
			require.NoError(t, err, p)
			require.Equal(t, a.Value, buf[:n], p)
		}
	}
	// Linux allows user.* attributes only on files and directories.
	require.Equal(t, []string{"l", "l"}, warned)
	require.NoError(t, os.Chmod(filepath.Join(dir, "d"), 0o700))

	err := Into(t.TempDir(), TargetOptions{}).Put(t.Context(), &l, nil)
	require.Error(t, err, "without Warn, an unsupported xattr is an error")
}

func TestTargetHardlink(t *testing.T) {
	dir := t.TempDir()
	link := tgtEntry("d/link", source.TypeFile, 0o644)
	link.Hardlink, link.Size = "orig", 0
	tgtRestore(t, dir, TargetOptions{}, tgtEntry("orig", source.TypeFile, 0o644), tgtEntry("d", source.TypeDir, 0o755), link)
	a, b := tgtLstat(t, filepath.Join(dir, "orig")), tgtLstat(t, filepath.Join(dir, "d/link"))
	require.Equal(t, a.Ino, b.Ino)
	require.Equal(t, uint64(2), uint64(a.Nlink))
	tgtNoTemp(t, dir)
}

func TestTargetSparse(t *testing.T) {
	dir := t.TempDir()
	const size = 8<<20 + 100
	content := make([]byte, size)
	copy(content, "head")
	copy(content[3<<20+5:], "middle, unaligned")
	copy(content[size-3:], "end")
	e := source.Entry{Path: "sparse", Type: source.TypeFile, Perm: 0o644, Size: size, Sparse: true, ModTime: tgtTime}
	tg := Into(dir, TargetOptions{})
	require.NoError(t, tg.Put(t.Context(), &e, bytes.NewReader(content)))
	require.NoError(t, tg.Close(t.Context()))

	st := tgtLstat(t, filepath.Join(dir, "sparse"))
	require.Equal(t, int64(size), st.Size)
	require.Less(t, st.Blocks*512, int64(size)/4, "holes")
	b, err := os.ReadFile(filepath.Join(dir, "sparse"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(content, b))

	e.Path, e.Size, content = "zeros", 1<<20, make([]byte, 1<<20)
	tg = Into(dir, TargetOptions{})
	require.NoError(t, tg.Put(t.Context(), &e, bytes.NewReader(content)))
	st = tgtLstat(t, filepath.Join(dir, "zeros"))
	require.Equal(t, int64(1<<20), st.Size)
	require.Zero(t, st.Blocks)
}

func TestTargetConcurrent(t *testing.T) {
	dir := t.TempDir()
	tg := Into(dir, TargetOptions{})
	tgtPut(t, tg, tgtDir(".", 0o755), "")
	tgtPut(t, tg, tgtDir("d", 0o555), "")
	files := make(chan source.Entry)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for e := range files {
				content := strings.Repeat(e.Path, int(e.Size)/len(e.Path))
				require.NoError(t, tg.Put(t.Context(), &e, strings.NewReader(content)))
			}
		})
	}
	for i := range 100 {
		p := fmt.Sprintf("d/f%03d", i)
		e := tgtFile(p, strings.Repeat(p, i))
		files <- e
	}
	close(files)
	wg.Wait()
	for i := range 100 {
		p := fmt.Sprintf("d/f%03d", i)
		rc, err := tg.ReadBack(t.Context(), p)
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.Equal(t, strings.Repeat(p, i), string(b))
	}
	require.Zero(t, tg.Skipped())
	require.NoError(t, tg.Close(t.Context()))
	require.NoError(t, os.Chmod(filepath.Join(dir, "d"), 0o700))
}

// brokenReader yields n bytes, then fails.
func brokenReader(n int) io.Reader {
	return io.MultiReader(bytes.NewReader(make([]byte, n)), iotest.ErrReader(errors.New("source broke")))
}

// A file that fails half-way leaves nothing under its name, whether it
// was being written there directly (nothing in the way) or under a
// temporary name (replacing a file, which then stays as it was).
func TestTargetFailedFileLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	tg := Into(dir, TargetOptions{})
	tgtPut(t, tg, tgtDir(".", 0o755), "")
	e := tgtEntry("new", source.TypeFile, 0o644)
	e.Size = 1 << 20
	err := tg.Put(t.Context(), &e, brokenReader(4096))
	require.ErrorContains(t, err, "source broke")
	require.NoFileExists(t, filepath.Join(dir, "new"))

	require.NoError(t, os.WriteFile(filepath.Join(dir, "old"), []byte("kept"), 0o644))
	e.Path = "old"
	err = tg.Put(t.Context(), &e, brokenReader(4096))
	require.ErrorContains(t, err, "source broke")
	got, err := os.ReadFile(filepath.Join(dir, "old"))
	require.NoError(t, err)
	require.Equal(t, "kept", string(got))
	tgtNoTemp(t, dir)
}
