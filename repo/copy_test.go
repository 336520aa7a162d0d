package repo

import (
	"context"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/stretchr/testify/require"
)

const otherPassword = "another password"

// changedSample is sampleSource with file "b" grown to 200 KiB: a second
// backup shares everything but that file and the root tree.
func changedSample() *testSource {
	s := sampleSource()
	for i := range s.entries {
		if e := &s.entries[i]; e.Path == "b" {
			s.data["b"] = randomBytes(2, 200<<10)
			e.Size, e.ModTime = int64(len(s.data["b"])), t0.Add(time.Hour)
		}
	}
	return s
}

// twoSnapshots backs up sampleSource and then changedSample into r.
func twoSnapshots(t *testing.T, r *Repository) (srcs []*testSource, snaps []*Snapshot) {
	t.Helper()
	for _, s := range []*testSource{sampleSource(), changedSample()} {
		sn, err := r.Backup(context.Background(), s, BackupOptions{Host: "h", Tags: []string{"nightly"}})
		require.NoError(t, err)
		srcs, snaps = append(srcs, s), append(snaps, sn)
	}
	return srcs, snaps
}

// requireCopies checks that each snapshot of r restores from its copy in
// dst exactly as src gave it, read back and verified.
func requireCopies(t *testing.T, dst *Repository, rep *CopyReport, srcs []*testSource) {
	t.Helper()
	require.Len(t, rep.Snapshots, len(srcs))
	for i, s := range srcs {
		m := newMemTarget()
		require.NoError(t, dst.Restore(context.Background(), rep.Snapshots[i].Copy, m, RestoreOptions{Verify: true}))
		requireRestored(t, s, m)
	}
}

func requireClean(t *testing.T, r *Repository) {
	t.Helper()
	rep, err := r.Check(context.Background(), CheckOptions{ReadData: true})
	require.NoError(t, err)
	require.Empty(t, rep.Problems)
}

func usedSet(t *testing.T, r *Repository, snaps ...*Snapshot) blobSet {
	t.Helper()
	used, err := r.usedBlobs(context.Background(), snaps)
	require.NoError(t, err)
	return used
}

func TestCopySameParams(t *testing.T) {
	ctx := context.Background()
	src := smallChunks(t)
	srcs, snaps := twoSnapshots(t, src)
	dbe := fault.New(mem.New())
	dst, err := Init(ctx, dbe, otherPassword, InitOptions{Key: cheapKey, ChunkerFrom: src})
	require.NoError(t, err)

	// The first snapshot only.
	rep, err := src.Copy(ctx, dst, []ID{snaps[0].ID}, CopyOptions{})
	require.NoError(t, err)
	used1, used2 := usedSet(t, src, snaps[0]), usedSet(t, src, snaps[1])
	require.Equal(t, 1, rep.Copied)
	require.False(t, rep.Rehashed)
	require.Equal(t, uint64(len(used1)), rep.BlobsCopied)
	require.Zero(t, rep.BlobsPresent)

	// Then all: the first is there, the second sends only what it adds.
	var added int
	for h := range used2 {
		if _, ok := used1[h]; !ok {
			added++
		}
	}
	var progress []CopiedSnapshot
	before := dbe.Counts()
	rep, err = src.Copy(ctx, dst, nil, CopyOptions{Progress: func(c CopiedSnapshot) { progress = append(progress, c) }})
	require.NoError(t, err)
	sent := dbe.Counts().BytesSaved - before.BytesSaved
	require.Equal(t, 1, rep.Skipped)
	require.Equal(t, 1, rep.Copied)
	require.Equal(t, rep.Snapshots, progress)
	require.True(t, progress[0].Skipped)
	require.Equal(t, uint64(added), rep.BlobsCopied)
	require.Equal(t, uint64(len(used2)-added), rep.BlobsPresent)
	require.Less(t, sent, int64(len(srcs[1].data["a/big"])), "the unchanged big file went again")
	require.Greater(t, sent, int64(len(srcs[1].data["b"]))/2, "the changed file was not sent")
	requireCopies(t, dst, rep, srcs)

	// The copies keep the metadata and name their original; the second's
	// parent is the first's copy.
	for i, sn := range snaps {
		cp, err := dst.LoadSnapshot(ctx, rep.Snapshots[i].Copy)
		require.NoError(t, err)
		require.Equal(t, sn.ID, *cp.Original)
		require.Equal(t, sn.Tree, cp.Tree)
		require.True(t, sn.Time.Equal(cp.Time))
		require.Equal(t, []any{sn.Host, sn.Username, sn.Paths, sn.Tags, sn.Source.Kind},
			[]any{cp.Host, cp.Username, cp.Paths, cp.Tags, cp.Source.Kind})
	}
	second, err := dst.LoadSnapshot(ctx, rep.Snapshots[1].Copy)
	require.NoError(t, err)
	require.Equal(t, rep.Snapshots[0].Copy, *second.Parent)

	// Again: nothing to do.
	packs := listFiles(t, dbe, backend.PackFile)
	rep, err = src.Copy(ctx, dst, nil, CopyOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, rep.Skipped)
	require.Zero(t, rep.Copied)
	require.Zero(t, rep.BlobsCopied)
	require.Equal(t, packs, listFiles(t, dbe, backend.PackFile))
	require.Len(t, listFiles(t, dbe, backend.SnapshotFile), 2)
	requireClean(t, dst)
}

// Different blob-ID keys and chunk sizes: every blob is hashed anew and the
// trees are rewritten, and the files still come back byte for byte.
func TestCopyDifferentKeys(t *testing.T) {
	ctx := context.Background()
	src := smallChunks(t)
	srcs, snaps := twoSnapshots(t, src)
	dst, _ := newMemRepo(t)

	rep, err := src.Copy(ctx, dst, nil, CopyOptions{})
	require.NoError(t, err)
	require.True(t, rep.Rehashed)
	require.Equal(t, 2, rep.Copied)
	require.Equal(t, uint64(len(usedSet(t, src, snaps...))), rep.BlobsCopied)
	requireCopies(t, dst, rep, srcs)
	for i, sn := range snaps {
		cp, err := dst.LoadSnapshot(ctx, rep.Snapshots[i].Copy)
		require.NoError(t, err)
		require.NotEqual(t, sn.Tree, cp.Tree)
		require.Equal(t, sn.ID, *cp.Original)
	}
	requireClean(t, dst)

	rep, err = src.Copy(ctx, dst, nil, CopyOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, rep.Skipped)
	require.Zero(t, rep.BlobsCopied)

	// Back into a repository with src's keys: the same trees as in src,
	// and the copies of copies still name the first snapshots.
	back, err := Init(ctx, mem.New(), testPassword, InitOptions{Key: cheapKey, ChunkerFrom: src})
	require.NoError(t, err)
	rep, err = dst.Copy(ctx, back, nil, CopyOptions{})
	require.NoError(t, err)
	for i, sn := range snaps {
		cp, err := back.LoadSnapshot(ctx, rep.Snapshots[i].Copy)
		require.NoError(t, err)
		require.Equal(t, sn.Tree, cp.Tree)
		require.Equal(t, sn.ID, *cp.Original)
	}
	// And src knows it has them.
	rep, err = back.Copy(ctx, src, nil, CopyOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, rep.Skipped)
}

func TestCopyCorruptBlob(t *testing.T) {
	ctx := context.Background()
	sbe := mem.New()
	src, err := Init(ctx, sbe, testPassword, InitOptions{Key: cheapKey,
		Chunking: chunk.Params{Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10}})
	require.NoError(t, err)
	_, snaps := twoSnapshots(t, src)
	root, err := src.LoadTree(ctx, snaps[0].Tree)
	require.NoError(t, err)
	a, err := src.LoadTree(ctx, root.Find("a").Subtree)
	require.NoError(t, err)
	bad := blobHandle(DataBlob, a.Find("big").Content[1])
	loc, ok := src.idx.Lookup(bad)
	require.True(t, ok)
	rewrite(t, sbe, backend.Handle{Type: backend.PackFile, Name: loc.Pack.String()}, flipBit(int(loc.Offset)+50))

	for name, opts := range map[string]InitOptions{
		"same keys":  {Key: cheapKey, ChunkerFrom: src},
		"other keys": {Key: cheapKey},
	} {
		t.Run(name, func(t *testing.T) {
			dbe := mem.New()
			dst, err := Init(ctx, dbe, otherPassword, opts)
			require.NoError(t, err)
			rep, err := src.Copy(ctx, dst, nil, CopyOptions{})
			var be *BlobError
			require.ErrorAs(t, err, &be)
			require.Equal(t, bad, be.Blob)
			require.ErrorIs(t, err, ErrCorrupt)
			require.Contains(t, err.Error(), bad.ID.String())
			require.Contains(t, err.Error(), "/a/big")
			require.Zero(t, rep.Copied)
			require.Empty(t, listFiles(t, dbe, backend.SnapshotFile))
			require.Empty(t, listFiles(t, dbe, backend.LockFile))
		})
	}
}

func TestCopyRefuses(t *testing.T) {
	ctx := context.Background()
	src, be := newMemRepo(t)
	dst, _ := newMemRepo(t)
	_, err := src.Copy(ctx, dst, []ID{{1}}, CopyOptions{})
	require.ErrorIs(t, err, ErrNotFound)
	_, err = src.Copy(ctx, reopen(t, be), nil, CopyOptions{})
	require.ErrorContains(t, err, "same repository")
}

func TestCopyInitChunkerFrom(t *testing.T) {
	ctx := context.Background()
	src := smallChunks(t)
	dbe := mem.New()
	dst, err := Init(ctx, dbe, otherPassword, InitOptions{Key: cheapKey, ChunkerFrom: src})
	require.NoError(t, err)
	require.Equal(t, src.Config().Chunking, dst.Config().Chunking)
	require.Equal(t, src.Polynomial(), dst.Polynomial())
	require.NotEqual(t, src.Config().ID, dst.Config().ID)
	require.Equal(t, src.key.BlobID([]byte("x")), dst.key.BlobID([]byte("x")))
	_, err = dst.key.Open(nil, src.key.Seal(nil, []byte("x"), nil), nil)
	require.ErrorIs(t, err, ErrCorrupt, "the encryption keys must differ")
	_, err = Open(ctx, dbe, testPassword, OpenOptions{})
	require.ErrorIs(t, err, ErrWrongPassword)
	_, err = Open(ctx, dbe, otherPassword, OpenOptions{})
	require.NoError(t, err)

	_, err = Init(ctx, mem.New(), otherPassword, InitOptions{Key: cheapKey, ChunkerFrom: src,
		Chunking: chunk.Params{Min: 8 << 10, Avg: 16 << 10, Max: 64 << 10}})
	require.Error(t, err)
	_, err = Init(ctx, mem.New(), otherPassword, InitOptions{Key: cheapKey, ChunkerFrom: src,
		Chunking: src.Config().Chunking})
	require.NoError(t, err)
}
