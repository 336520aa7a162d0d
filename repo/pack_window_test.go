package repo

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
)

// TestRestoreReadsPacksWhole: restoring many small files reads each pack
// in a few whole reads rather than one read per file, while restoring one
// file reads just its blob.
func TestRestoreReadsPacksWhole(t *testing.T) {
	fb := fault.New(mem.New())
	r := initRepo(t, fb, Options{})
	src := &testSource{}
	src.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
	const files = 300
	for i := range files {
		src.add(source.Entry{Path: fmt.Sprintf("f%03d", i), Type: source.TypeFile, Perm: 0o644, Inode: uint64(i + 1)},
			randomBytes(uint64(i), 4096))
	}
	sn, err := r.Backup(t.Context(), src, BackupOptions{})
	require.NoError(t, err)
	packs := len(listFiles(t, fb, backend.PackFile))

	before := fb.Counts()
	tgt := newMemTarget()
	require.NoError(t, r.Restore(t.Context(), sn.ID, tgt, RestoreOptions{}))
	requireRestored(t, src, tgt)
	loads := fb.Counts().Load - before.Load
	t.Logf("%d files in %d packs restored with %d loads", files, packs, loads)
	require.LessOrEqual(t, loads, 3*packs, "about two reads per pack, not one per file")

	before = fb.Counts()
	one := newMemTarget()
	require.NoError(t, r.Restore(t.Context(), sn.ID, one, RestoreOptions{Include: []string{"/f123"}}))
	require.Equal(t, src.data["f123"], one.data["f123"])
	after := fb.Counts()
	require.Equal(t, 3, after.Load-before.Load, "the snapshot, the root tree and the file's blob")
	require.Less(t, after.BytesLoaded-before.BytesLoaded, int64(64<<10), "no whole pack for one file")
}
