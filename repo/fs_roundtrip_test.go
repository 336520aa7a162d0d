package repo_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/source/fs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// trickyTree builds a tree with every kind of entry cairn handles.
func trickyTree(t *testing.T, dir string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	file := func(name string, data []byte, perm os.FileMode) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
		require.NoError(t, os.Chmod(p, perm))
	}
	file("empty", nil, 0o644)
	file("many chunks.bin", random(3<<20), 0o600)
	file("ünïcødé/名前.txt", []byte("unicode"), 0o644)
	file("spaces and\nnewline/ file \t name ", []byte("odd"), 0o644)
	file(strings.Repeat("L", 255), []byte("long name"), 0o644)
	file("modes/setuid", []byte("#!/bin/sh\n"), 0o4755|os.ModeSetuid)
	require.NoError(t, os.Chmod(filepath.Join(dir, "modes/setuid"), 0o755|os.ModeSetuid))
	file("modes/setgid", nil, 0o755)
	require.NoError(t, os.Chmod(filepath.Join(dir, "modes/setgid"), 0o755|os.ModeSetgid))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "modes/sticky"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(dir, "modes/sticky"), 0o777|os.ModeSticky))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "empty dir"), 0o700))
	deep := filepath.Join(dir, strings.Repeat("d/", 40))
	require.NoError(t, os.MkdirAll(deep, 0o755))
	file(strings.Repeat("d/", 40)+"bottom", []byte("deep"), 0o644)

	require.NoError(t, os.Symlink("many chunks.bin", filepath.Join(dir, "rel-link")))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "abs-link")))
	require.NoError(t, os.Symlink("nowhere", filepath.Join(dir, "dangling")))
	file("hard/a", random(100<<10), 0o640)
	require.NoError(t, os.Link(filepath.Join(dir, "hard/a"), filepath.Join(dir, "hard/b")))
	require.NoError(t, os.Link(filepath.Join(dir, "hard/a"), filepath.Join(dir, "other-link-to-a")))
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o620))

	sparse, err := os.Create(filepath.Join(dir, "sparse"))
	require.NoError(t, err)
	_, err = sparse.WriteAt([]byte("start"), 0)
	require.NoError(t, err)
	_, err = sparse.WriteAt([]byte("end"), 64<<20)
	require.NoError(t, err)
	require.NoError(t, sparse.Close())

	if os.Geteuid() == 0 {
		require.NoError(t, unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		require.NoError(t, os.Lchown(filepath.Join(dir, "ünïcødé/名前.txt"), 1234, 5678))
		require.NoError(t, os.Lchown(filepath.Join(dir, "rel-link"), 4321, 8765))
	}
	if err := unix.Setxattr(filepath.Join(dir, "empty"), "user.cairn", []byte("value\x00bin"), 0); err == nil {
		require.NoError(t, unix.Setxattr(filepath.Join(dir, "empty dir"), "user.dir", []byte("d"), 0))
	} else {
		t.Logf("no user xattrs on this file system (%v); xattrs not covered", err)
	}
	// Nanosecond times, set last, deepest first.
	var paths []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { paths = append(paths, p); return nil })
	for i := len(paths) - 1; i >= 0; i-- {
		ts := time.Date(2020, 1, 2, 3, 4, 5, 100+i, time.UTC)
		require.NoError(t, unix.UtimesNanoAt(unix.AT_FDCWD, paths[i],
			[]unix.Timespec{unix.NsecToTimespec(ts.UnixNano()), unix.NsecToTimespec(ts.UnixNano())}, unix.AT_SYMLINK_NOFOLLOW))
	}
}

// requireSameTree compares two trees entry by entry: type, mode, owner,
// size, mtime, content, link target, device number, xattrs, hard links
// and holes.
func requireSameTree(t *testing.T, want, got string) {
	t.Helper()
	inodes := map[uint64]uint64{} // want inode → got inode
	n := 0
	err := filepath.Walk(want, func(p string, _ os.FileInfo, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(want, p)
		var ws, gs unix.Stat_t
		require.NoError(t, unix.Lstat(p, &ws))
		require.NoError(t, unix.Lstat(filepath.Join(got, rel), &gs), rel)
		require.Equal(t, ws.Mode, gs.Mode, "%s: mode", rel)
		require.Equal(t, ws.Uid, gs.Uid, "%s: uid", rel)
		require.Equal(t, ws.Gid, gs.Gid, "%s: gid", rel)
		require.Equal(t, ws.Mtim, gs.Mtim, "%s: mtime", rel)
		require.Equal(t, ws.Rdev, gs.Rdev, "%s: rdev", rel)
		require.Equal(t, listXattrs(t, p), listXattrs(t, filepath.Join(got, rel)), "%s: xattrs", rel)
		switch ws.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			require.Equal(t, ws.Size, gs.Size, rel)
			require.Equal(t, ws.Nlink, gs.Nlink, "%s: links", rel)
			if prev, ok := inodes[ws.Ino]; ok {
				require.Equal(t, prev, gs.Ino, "%s: hard link", rel)
			}
			inodes[ws.Ino] = gs.Ino
			if ws.Blocks*512 < ws.Size {
				require.Less(t, gs.Blocks*512, gs.Size, "%s: restored sparse", rel)
			}
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(filepath.Join(got, rel))
			require.True(t, bytes.Equal(a, b), "%s: content", rel)
		case unix.S_IFLNK:
			a, _ := os.Readlink(p)
			b, _ := os.Readlink(filepath.Join(got, rel))
			require.Equal(t, a, b, rel)
		}
		n++
		return nil
	})
	require.NoError(t, err)
	gotN := 0
	filepath.Walk(got, func(string, os.FileInfo, error) error { gotN++; return nil })
	require.Equal(t, n, gotN, "entries restored")
}

func listXattrs(t *testing.T, p string) map[string]string {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for name := range strings.SplitSeq(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		v := make([]byte, 4096)
		vn, err := unix.Lgetxattr(p, name, v)
		require.NoError(t, err)
		m[name] = string(v[:vn])
	}
	return m
}

func TestFSRoundTripTrickyTree(t *testing.T) {
	ctx := context.Background()
	src, dst := t.TempDir(), t.TempDir()
	trickyTree(t, src)
	r, err := repo.Init(ctx, local.New(t.TempDir()), "pw", repo.InitOptions{
		Chunking: chunk.Params{Min: 16 << 10, Avg: 64 << 10, Max: 256 << 10},
		Key:      repo.KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}}})
	require.NoError(t, err)

	sn, err := r.Backup(ctx, fs.Dir(src, fs.Options{}), repo.BackupOptions{})
	require.NoError(t, err)
	require.Empty(t, sn.Summary.Errors)
	restored := filepath.Join(dst, "first")
	require.NoError(t, r.Restore(ctx, sn.ID, fs.Into(restored, fs.TargetOptions{}), repo.RestoreOptions{Verify: true}))
	requireSameTree(t, src, restored)

	// Unchanged: no content read, nothing added.
	again, err := r.Backup(ctx, fs.Dir(src, fs.Options{}), repo.BackupOptions{})
	require.NoError(t, err)
	require.Zero(t, again.Summary.BytesRead)
	require.Zero(t, again.Summary.BytesAdded)
	require.Equal(t, sn.Tree, again.Tree)

	// Rename the big file and edit 10 bytes in the middle of another:
	// only a chunk or two of data is new.
	require.NoError(t, os.Rename(filepath.Join(src, "many chunks.bin"), filepath.Join(src, "renamed.bin")))
	f, err := os.OpenFile(filepath.Join(src, "hard/a"), os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("0123456789"), 50<<10)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	st0, _ := r.Stats(ctx)
	third, err := r.Backup(ctx, fs.Dir(src, fs.Options{}), repo.BackupOptions{})
	require.NoError(t, err)
	st1, _ := r.Stats(ctx)
	s := third.Summary
	t.Logf("after rename and edit: read %d, added %d, stored %d bytes", s.BytesRead, s.BytesAdded, s.BytesStored)
	require.EqualValues(t, 3<<20+100<<10, s.BytesRead, "the renamed file is read again, the edited one too")
	require.LessOrEqual(t, st1.DataBlobs-st0.DataBlobs, 2, "one or two chunks of the edited file")
	require.Equal(t, 2, st1.TreeBlobs-st0.TreeBlobs, "the trees of the root and of hard/")

	restored = filepath.Join(dst, "third")
	require.NoError(t, r.Restore(ctx, third.ID, fs.Into(restored, fs.TargetOptions{}), repo.RestoreOptions{Verify: true}))
	requireSameTree(t, src, restored)
}
