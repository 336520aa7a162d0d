package drill

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
	cairnfs "github.com/cairnbackup/cairn/source/fs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

const sampleFiles = 40 // files/f00 … files/f39

// drillTree builds a tree with what a restore can get wrong and reports
// whether the file system took user xattrs.
func drillTree(t *testing.T, dir string) (xattrs bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	at := func(i int) time.Time { return time.Unix(1_600_000_000+int64(i), 123_456_789+int64(i)) }
	file := func(name string, data []byte, perm os.FileMode) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o600))
		require.NoError(t, os.Chmod(p, perm))
		require.NoError(t, os.Chtimes(p, at(len(name)), at(len(name))))
	}
	file("big.bin", random(200<<10), 0o644)
	file("empty", nil, 0o644)
	file("small.txt", []byte("small\n"), 0o644)
	file("setuid", []byte("#!/bin/sh\n"), 0o755|os.ModeSetuid)
	file("odd names/sp ace, *?[x] \\ \n ünïcødé -", []byte("odd"), 0o640)
	file("locked/inner.txt", []byte("inner"), 0o400)
	for i := range sampleFiles {
		file(fmt.Sprintf("files/f%02d", i), random(100+i*50), 0o644)
	}
	file("hard1", random(5000), 0o640)
	require.NoError(t, os.Link(filepath.Join(dir, "hard1"), filepath.Join(dir, "hard2")))
	require.NoError(t, os.Link(filepath.Join(dir, "hard1"), filepath.Join(dir, "files/zz-hard3")))
	require.NoError(t, os.Symlink("small.txt", filepath.Join(dir, "link")))
	require.NoError(t, os.Symlink("/nowhere/at/all", filepath.Join(dir, "dangling")))
	ts := unix.NsecToTimespec(at(99).UnixNano())
	require.NoError(t, unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(dir, "link"), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o620))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sticky"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(dir, "sticky"), 0o777|os.ModeSticky|os.ModeSetgid))
	if os.Geteuid() == 0 {
		require.NoError(t, os.Lchown(filepath.Join(dir, "small.txt"), 1234, 5678))
		require.NoError(t, os.Lchown(filepath.Join(dir, "link"), 4321, 8765))
	}
	err := unix.Setxattr(filepath.Join(dir, "small.txt"), "user.comment", []byte("hello\x00bin"), 0)
	if err == nil {
		require.NoError(t, unix.Setxattr(filepath.Join(dir, "sticky"), "user.dir", []byte("d"), 0))
	} else {
		t.Logf("the temporary file system refuses user xattrs (%v): xattrs not covered", err)
	}
	for i, d := range []string{"files", "odd names", "sticky", "locked"} {
		require.NoError(t, os.Chtimes(filepath.Join(dir, d), at(i), at(i)))
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "locked"), 0o500))
	// Not even its owner can list it; a backup not run as root finds it
	// empty, and so must the drill.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "closed"), 0o000))
	t.Cleanup(func() {
		os.Chmod(filepath.Join(dir, "locked"), 0o700)
		os.Chmod(filepath.Join(dir, "closed"), 0o700)
	})
	return err == nil
}

// backedUp makes a repository with a backup of a drillTree.
func backedUp(t *testing.T) (*repo.Repository, backend.Backend, repo.ID, bool) {
	t.Helper()
	ctx := context.Background()
	be := mem.New()
	r, err := repo.Init(ctx, be, "drill", repo.InitOptions{
		Key:      repo.KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}},
		Chunking: chunk.Params{Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10},
	})
	require.NoError(t, err)
	dir := t.TempDir()
	xattrs := drillTree(t, dir)
	sn, err := r.Backup(ctx, cairnfs.Dir(dir, cairnfs.Options{}), repo.BackupOptions{})
	if os.Geteuid() != 0 {
		require.ErrorIs(t, err, repo.ErrPartialSnapshot, "closed cannot be listed")
	} else {
		require.NoError(t, err)
	}
	return r, be, sn.ID, xattrs
}

func requireOK(t *testing.T, rep *Report) {
	t.Helper()
	for _, m := range rep.Mismatches {
		t.Errorf("mismatch: %s", m)
	}
	require.True(t, rep.OK())
}

func TestDrillFull(t *testing.T) {
	ctx := context.Background()
	r, _, id, _ := backedUp(t)
	scratch := filepath.Join(t.TempDir(), "scratch")
	rep, err := Run(ctx, r, id, Options{Dir: scratch})
	require.NoError(t, err)
	requireOK(t, rep)
	require.Equal(t, id, rep.Snapshot)
	require.Equal(t, os.Geteuid() == 0, rep.OwnersChecked)
	// big, empty, small, setuid, odd, inner, 40 files, 3 hard links
	require.Equal(t, 6+sampleFiles+3, rep.Files)
	require.Equal(t, 6+sampleFiles+1, rep.Verified, "a hard link has no content of its own")
	require.Equal(t, 6, rep.Dirs) // ., files, odd names, locked, closed, sticky
	require.Equal(t, 3, rep.Other)
	require.Equal(t, uint64(200<<10+6+10+3+5+5000+sampleFiles*100+50*sampleFiles*(sampleFiles-1)/2), rep.Bytes)
	require.Zero(t, rep.Seed)
	require.Empty(t, rep.Dir)
	require.NoDirExists(t, scratch)

	rep, err = Run(ctx, r, id, Options{}) // into a temporary directory
	require.NoError(t, err)
	requireOK(t, rep)
}

func TestDrillPath(t *testing.T) {
	r, _, id, _ := backedUp(t)
	rep, err := Run(context.Background(), r, id, Options{Path: "/files/"})
	require.NoError(t, err)
	requireOK(t, rep)
	require.Equal(t, sampleFiles+1, rep.Files)
	require.Equal(t, sampleFiles+1, rep.Verified, "the link to ../hard1 is restored as a copy")
	require.Equal(t, 1, rep.Dirs)

	_, err = Run(context.Background(), r, id, Options{Path: "small.txt"})
	require.ErrorIs(t, err, repo.ErrNotFound)
}

// restoredFiles lists the regular files under dir.
func restoredFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return err
	}))
	return files
}

func TestDrillSample(t *testing.T) {
	ctx := context.Background()
	r, _, id, _ := backedUp(t)
	run := func(opts Options) (*Report, []string) {
		t.Helper()
		opts.Keep = true
		opts.Dir = filepath.Join(t.TempDir(), "scratch")
		rep, err := Run(ctx, r, id, opts)
		require.NoError(t, err)
		requireOK(t, rep)
		require.Equal(t, opts.Dir, rep.Dir)
		t.Cleanup(func() { removeScratch(rep.Dir) })
		return rep, restoredFiles(t, rep.Dir)
	}
	for _, n := range []int{1, 5, 20} {
		t.Run(fmt.Sprintf("files=%d", n), func(t *testing.T) {
			rep, files := run(Options{Files: n, Seed: 42})
			require.Equal(t, n, rep.Verified, "files with content of their own")
			require.Len(t, files, rep.Files)
			require.Equal(t, int64(42), rep.Seed)
			_, again := run(Options{Files: n, Seed: 42})
			require.Equal(t, files, again, "same seed, same sample")
			_, other := run(Options{Files: n, Seed: 43})
			require.NotEqual(t, files, other)
		})
	}
	t.Run("fraction", func(t *testing.T) {
		rep, files := run(Options{Sample: 0.5, Seed: 7})
		total := 6 + sampleFiles + 1
		require.Greater(t, rep.Verified, total/4)
		require.Less(t, rep.Verified, total*3/4)
		_, again := run(Options{Sample: 0.5, Seed: 7})
		require.Equal(t, files, again)
		rep, _ = run(Options{Sample: 0.5, Files: 3})
		require.Equal(t, 3, rep.Verified)
		require.NotZero(t, rep.Seed, "a random seed is reported")
	})
	t.Run("never empty", func(t *testing.T) {
		// A chance so small it picks nothing still drills one file.
		for seed := range int64(5) {
			rep, files := run(Options{Sample: 1e-9, Seed: seed + 1})
			require.Equal(t, 1, rep.Verified)
			require.Len(t, files, 1)
		}
	})
	t.Run("more than there are", func(t *testing.T) {
		rep, _ := run(Options{Files: 1000, Seed: 1})
		require.Equal(t, 6+sampleFiles+1, rep.Verified)
		require.Equal(t, 6+sampleFiles+3, rep.Files)
		require.Zero(t, rep.Other, "a sample holds regular files only")
	})
}

func TestDrillSampleKeepsHardLinksTogether(t *testing.T) {
	ctx := context.Background()
	r, _, id, _ := backedUp(t)
	b, err := loadBase(ctx, r, id, "")
	require.NoError(t, err)
	chosen := 0
	for seed := range int64(200) {
		keep, err := choose(ctx, r, b, Options{Files: 3}, seed+1)
		require.NoError(t, err)
		n := 0
		for _, p := range []string{"hard1", "hard2", "files/zz-hard3"} {
			if keep[p] {
				n++
			}
		}
		require.Contains(t, []int{0, 3}, n, "seed %d", seed+1)
		if n == 3 {
			chosen++
			require.True(t, keep["files"])
		}
		for p := range keep {
			require.True(t, p == "." || keep[filepath.Dir(p)], "%s without its directory", p)
		}
	}
	require.NotZero(t, chosen)
}

// corruptBlob flips a bit in the stored data blob id.
func corruptBlob(t *testing.T, r *repo.Repository, be backend.Backend, id repo.ID) {
	t.Helper()
	ctx := context.Background()
	var packs []string
	require.NoError(t, be.List(ctx, backend.PackFile, func(fi backend.FileInfo) error {
		packs = append(packs, fi.Name)
		return nil
	}))
	for _, name := range packs {
		pid, err := crypto.ParseID(name)
		require.NoError(t, err)
		hdr, err := r.ReadPackHeader(ctx, pid)
		require.NoError(t, err)
		i := slices.IndexFunc(hdr.Blobs, func(b pack.Blob) bool { return b.ID == id })
		if hdr.Type != pack.DataBlob || i < 0 {
			continue
		}
		h := backend.Handle{Type: backend.PackFile, Name: name}
		data, err := backend.LoadAll(ctx, be, h)
		require.NoError(t, err)
		data[hdr.Blobs[i].Offset+hdr.Blobs[i].Length/2] ^= 0x10
		require.NoError(t, be.Remove(ctx, h))
		require.NoError(t, be.Save(ctx, h, backend.NewByteReader(data)))
		return
	}
	t.Fatalf("blob %s not found", id.Short())
}

func TestDrillFindsDamagedData(t *testing.T) {
	ctx := context.Background()
	r, be, id, _ := backedUp(t)
	fsys, err := r.FS(ctx, id)
	require.NoError(t, err)
	fi, err := fsys.Lstat("big.bin")
	require.NoError(t, err)
	content := fi.Sys().(*repo.Node).Content
	require.Greater(t, len(content), 2, "big.bin must span several chunks")
	corruptBlob(t, r, be, content[len(content)/2])

	_, err = Run(ctx, r, id, Options{})
	require.ErrorIs(t, err, repo.ErrCorrupt)
	require.ErrorContains(t, err, "big.bin")

	// A sample without big.bin does not even fetch it.
	rep, err := Run(ctx, r, id, Options{Path: "files", Files: 10})
	require.NoError(t, err)
	requireOK(t, rep)
}

func TestDrillFindsMetadataMismatches(t *testing.T) {
	ctx := context.Background()
	r, _, id, xattrs := backedUp(t)
	scratch := filepath.Join(t.TempDir(), "scratch")
	rep, err := Run(ctx, r, id, Options{Dir: scratch, Keep: true})
	require.NoError(t, err)
	requireOK(t, rep)
	t.Cleanup(func() { removeScratch(scratch) })

	in := func(p string) string { return filepath.Join(scratch, p) }
	want := []Mismatch{
		{Path: "small.txt", What: "mode"},
		{Path: "empty", What: "mtime"},
		{Path: "link", What: "symlink target"},
		{Path: "files/f07", What: "missing"},
		{Path: "extra.txt", What: "unexpected"},
		{Path: "extra", What: "unexpected"},
		{Path: "hard2", What: "hardlink"},
		{Path: "big.bin", What: "size"},
		{Path: "fifo", What: "type"},
		{Path: "setuid", What: "mode"},
		{Path: "odd names", What: "missing"},
	}
	require.NoError(t, os.Chmod(in("small.txt"), 0o600))
	require.NoError(t, os.Chtimes(in("empty"), time.Now(), time.Now()))
	require.NoError(t, os.Remove(in("link")))
	require.NoError(t, os.Symlink("elsewhere", in("link")))
	require.NoError(t, os.Remove(in("files/f07")))
	require.NoError(t, os.WriteFile(in("extra.txt"), nil, 0o644))
	require.NoError(t, os.MkdirAll(in("extra/inside"), 0o755))
	data, err := os.ReadFile(in("hard2"))
	require.NoError(t, err)
	require.NoError(t, os.Remove(in("hard2")))
	require.NoError(t, os.WriteFile(in("hard2"), data, 0o640))
	require.NoError(t, os.Truncate(in("big.bin"), 1000))
	require.NoError(t, os.Remove(in("fifo")))
	require.NoError(t, os.WriteFile(in("fifo"), nil, 0o620))
	require.NoError(t, os.Chmod(in("setuid"), 0o755)) // drops the setuid bit
	require.NoError(t, os.RemoveAll(in("odd names")))
	if xattrs {
		require.NoError(t, unix.Setxattr(in("small.txt"), "user.comment", []byte("changed"), 0))
		want = append(want, Mismatch{Path: "small.txt", What: "xattrs"})
	}
	if os.Geteuid() == 0 {
		require.NoError(t, os.Lchown(in("files/f01"), 99, 99))
		want = append(want, Mismatch{Path: "files/f01", What: "owner"})
	}

	b, err := loadBase(ctx, r, id, "")
	require.NoError(t, err)
	rep = &Report{OwnersChecked: os.Geteuid() == 0}
	require.NoError(t, newChecker(rep, b, nil, time.Nanosecond).compare(ctx, r, scratch))
	got := map[Mismatch]bool{}
	for _, m := range rep.Mismatches {
		t.Logf("%s", m)
		got[Mismatch{Path: m.Path, What: m.What}] = true
		require.NotEqual(t, "extra/inside", m.Path, "inside an unexpected directory")
		require.False(t, strings.HasPrefix(m.Path, "odd names/"), "inside a missing directory")
	}
	for _, w := range want {
		require.True(t, got[w], "want a mismatch %s: %s", w.Path, w.What)
	}
	for _, p := range []string{"files/f00", "hard1", "files/zz-hard3", "locked/inner.txt", "closed", "sticky", "dangling"} {
		require.False(t, slices.ContainsFunc(rep.Mismatches, func(m Mismatch) bool { return m.Path == p }), "%s is untouched", p)
	}
	require.False(t, rep.OK())
}

func TestDrillOptions(t *testing.T) {
	ctx := context.Background()
	r, _, id, _ := backedUp(t)
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o600))
	for _, opts := range []Options{{Sample: -0.1}, {Sample: 1.5}, {Sample: math.NaN()}, {Files: -1}, {Dir: full}, {Path: "../x"}} {
		_, err := Run(ctx, r, id, opts)
		require.Error(t, err, "%+v", opts)
	}
	require.FileExists(t, filepath.Join(full, "x"), "a directory that is not empty is left alone")

	rep, err := Run(ctx, r, id, Options{Sample: 1})
	require.NoError(t, err)
	require.Zero(t, rep.Seed, "a sample of 1 is everything")
	require.Equal(t, 3, rep.Other)
}

func TestDrillComparePaths(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{".", ".", 0},
		{".", "a", -1},
		{"a", ".", 1},
		{"a", "a/b", -1},
		{"a/b", "a", 1},
		{"a/b", "a b", -1}, // "a" < "a b", though '/' > ' '
		{"a b", "a/b", 1},
		{"a/z", "b", -1},
		{"a/b/c", "a/b/d", -1},
		{"a/b", "a/b", 0},
	} {
		require.Equal(t, tc.want, comparePaths(tc.a, tc.b), "%q vs %q", tc.a, tc.b)
	}
}

func TestDrillUserXattrsOnly(t *testing.T) {
	x := func(kv ...string) []source.Xattr {
		var xs []source.Xattr
		for i := 0; i < len(kv); i += 2 {
			xs = append(xs, source.Xattr{Name: kv[i], Value: []byte(kv[i+1])})
		}
		return xs
	}
	require.Empty(t, xattrDiff(userXattrs(x("security.selinux", "a", "user.b", "1")), userXattrs(x("user.b", "1"))))
	require.Equal(t, "user.a missing, user.b differs, user.c not in the snapshot",
		xattrDiff(userXattrs(x("user.c", "", "user.b", "2")), userXattrs(x("user.b", "1", "user.a", ""))))
}
