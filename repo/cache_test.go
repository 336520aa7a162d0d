package repo

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

func openCached(t testing.TB, be backend.Backend, dir string) *Repository {
	t.Helper()
	r, err := Open(t.Context(), be, testPassword, OpenOptions{CacheDir: dir})
	require.NoError(t, err)
	return r
}

// cachedNames returns the names of the entries of type ft in r's cache.
func cachedNames(t testing.TB, r *Repository, ft backend.FileType) []string {
	t.Helper()
	entries, err := os.ReadDir(r.cache.typeDir(ft))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		require.NotContains(t, e.Name(), cacheTmpPrefix, "no temporary file left")
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func sortedFiles(t testing.TB, be backend.Backend, ft backend.FileType) []string {
	names := listFiles(t, be, ft)
	slices.Sort(names)
	return names
}

// flipByte damages byte off of the cached file.
func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[off] ^= 0x40
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// loadsOf counts the remote loads of each file type.
type loadsOf struct {
	mu sync.Mutex
	n  map[backend.FileType]int
}

func countLoads(f *fault.Backend) *loadsOf { return slowLoads(f, 0) }

// slowLoads is countLoads with loads of packs that take a while.
func slowLoads(f *fault.Backend, d time.Duration) *loadsOf {
	l := &loadsOf{n: map[backend.FileType]int{}}
	f.FailOn(func(op fault.Op, h backend.Handle) error {
		if op == fault.OpLoad {
			l.mu.Lock()
			l.n[h.Type]++
			l.mu.Unlock()
			if h.Type == backend.PackFile {
				time.Sleep(d)
			}
		}
		return nil
	})
	return l
}

func (l *loadsOf) clone() *loadsOf {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &loadsOf{n: maps.Clone(l.n)}
}

func (l *loadsOf) get(ft backend.FileType) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[ft]
}

// twoBackups makes a repository with two snapshots of sampleSource, the
// second with one file changed.
func twoBackups(t *testing.T) (*mem.Backend, *testSource, []*Snapshot) {
	r, be := newMemRepo(t)
	src := sampleSource()
	first, err := r.Backup(t.Context(), src, BackupOptions{Host: "h"})
	require.NoError(t, err)
	src.data["b"] = []byte("changed\n")
	src.entries[6].Size = int64(len(src.data["b"]))
	src.entries[6].ModTime = t0.Add(1)
	second, err := r.Backup(t.Context(), src, BackupOptions{Host: "h"})
	require.NoError(t, err)
	require.NotEqual(t, first.Tree, second.Tree)
	return be, src, []*Snapshot{first, second}
}

func TestCacheOpenEqualsUncached(t *testing.T) {
	ctx := t.Context()
	be, src, _ := twoBackups(t)
	plain := reopen(t, be)
	want, err := plain.Snapshots(ctx)
	require.NoError(t, err)
	dir := t.TempDir()
	for _, state := range []string{"cold", "warm"} {
		t.Run(state, func(t *testing.T) {
			r := openCached(t, be, dir)
			require.Equal(t, plain.BlobCount(), r.BlobCount())
			got, err := r.Snapshots(ctx)
			require.NoError(t, err)
			require.Equal(t, want, got)
			m := newMemTarget()
			require.NoError(t, r.Restore(ctx, got[1].ID, m, RestoreOptions{Verify: true}))
			requireRestored(t, src, m)
			require.Equal(t, sortedFiles(t, be, backend.IndexFile), cachedNames(t, r, backend.IndexFile))
			require.Equal(t, sortedFiles(t, be, backend.SnapshotFile), cachedNames(t, r, backend.SnapshotFile))
			require.Len(t, cachedNames(t, r, backend.PackFile), 2, "the two tree packs, no data pack")
			require.Zero(t, r.cache.failures.Load())
		})
	}
	_, err = os.Stat(filepath.Join(dir, cacheTagName))
	require.NoError(t, err)
}

func TestCacheDamagedEntryRefetched(t *testing.T) {
	for _, ft := range []backend.FileType{backend.IndexFile, backend.SnapshotFile, backend.PackFile} {
		t.Run(ft.String(), func(t *testing.T) {
			ctx := t.Context()
			be, _, snaps := twoBackups(t)
			dir := t.TempDir()
			warm := openCached(t, be, dir)
			_, err := warm.Snapshots(ctx)
			require.NoError(t, err)
			_, err = warm.LoadTree(ctx, snaps[1].Tree)
			require.NoError(t, err)

			// Damage the entry that the step below reads.
			var name string
			var off int64
			if ft == backend.PackFile {
				loc, ok := warm.idx.Lookup(blobHandle(TreeBlob, snaps[1].Tree))
				require.True(t, ok)
				name, off = loc.Pack.String(), int64(loc.Offset)+30
			} else {
				name = cachedNames(t, warm, ft)[0]
			}
			path := filepath.Join(warm.cache.typeDir(ft), name)
			flipByte(t, path, off)

			f := fault.New(be)
			loads := countLoads(f)
			r := openCached(t, f, dir)
			_, err = r.Snapshots(ctx)
			require.NoError(t, err)
			_, err = r.LoadTree(ctx, snaps[1].Tree)
			require.NoError(t, err)
			require.Equal(t, 1, loads.get(ft), "the damaged entry, and only it, is fetched again")

			data, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, name, crypto.Hash(data).String(), "the entry is whole again")
		})
	}
}

func TestCacheStaleEntriesRemoved(t *testing.T) {
	ctx := t.Context()
	be, _, snaps := twoBackups(t)
	dir := t.TempDir()
	c := openCached(t, be, dir)
	for _, sn := range snaps {
		_, err := c.LoadTree(ctx, sn.Tree)
		require.NoError(t, err)
	}
	cachedPacks := cachedNames(t, c, backend.PackFile)
	require.Len(t, cachedPacks, 2)

	_, err := c.Snapshots(ctx)
	require.NoError(t, err)

	// Forgotten here: the entry goes at once.
	require.NoError(t, c.DeleteSnapshot(ctx, snaps[0].ID))
	require.Equal(t, []string{snaps[1].ID.String()}, cachedNames(t, c, backend.SnapshotFile))

	// Forgotten and pruned by another process: the entries go at the next open.
	other := reopen(t, be)
	_, err = other.Backup(ctx, filesSource([]byte("x")), BackupOptions{Host: "other"})
	require.NoError(t, err)
	c = openCached(t, be, dir)
	_, err = c.Snapshots(ctx)
	require.NoError(t, err)
	require.Len(t, cachedNames(t, c, backend.SnapshotFile), 2)
	require.NoError(t, other.DeleteSnapshot(ctx, snaps[1].ID))
	_, err = other.Prune(ctx, PruneOptions{})
	require.NoError(t, err)
	stored := sortedFiles(t, be, backend.PackFile)
	var gone []string
	for _, p := range cachedPacks {
		if !slices.Contains(stored, p) {
			gone = append(gone, p)
		}
	}
	require.NotEmpty(t, gone, "prune deleted a cached tree pack")

	c = openCached(t, be, dir)
	require.Equal(t, sortedFiles(t, be, backend.SnapshotFile), cachedNames(t, c, backend.SnapshotFile))
	require.Equal(t, sortedFiles(t, be, backend.IndexFile), cachedNames(t, c, backend.IndexFile))
	for _, p := range gone {
		require.NotContains(t, cachedNames(t, c, backend.PackFile), p)
	}
}

func TestCacheSharedConcurrently(t *testing.T) {
	ctx := t.Context()
	be, src, snaps := twoBackups(t)
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			r, err := Open(ctx, be, testPassword, OpenOptions{CacheDir: dir})
			if err != nil {
				errs <- err
				return
			}
			if i%2 == 0 { // half of them also read every snapshot
				_, err = r.Snapshots(ctx)
			}
			m := newMemTarget()
			if err == nil {
				err = r.Restore(ctx, snaps[1].ID, m, RestoreOptions{Verify: true})
			}
			if err == nil && len(m.entries) != len(src.entries) {
				err = fmt.Errorf("restored %d entries, want %d", len(m.entries), len(src.entries))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	r := openCached(t, be, dir)
	require.Zero(t, r.cache.failures.Load())
	require.Equal(t, sortedFiles(t, be, backend.SnapshotFile), cachedNames(t, r, backend.SnapshotFile))
}

func TestCacheTreePack(t *testing.T) {
	ctx := t.Context()
	be, _, snaps := twoBackups(t)
	dir := t.TempDir()
	root := snaps[0].Tree
	f := fault.New(be)
	r := openCached(t, f, dir)
	loads := countLoads(f)
	before := f.Counts()
	tree, err := r.LoadTree(ctx, root)
	require.NoError(t, err)
	require.Equal(t, 1, loads.get(backend.PackFile), "the whole pack in one request")
	loc, _ := r.idx.Lookup(blobHandle(TreeBlob, root))
	fi, err := be.Stat(ctx, backend.Handle{Type: backend.PackFile, Name: loc.Pack.String()})
	require.NoError(t, err)
	require.Equal(t, fi.Size, f.Counts().BytesLoaded-before.BytesLoaded)

	// Another tree of the same pack, twice, and from another Repository.
	sub := tree.Find("a").Subtree
	subLoc, _ := r.idx.Lookup(blobHandle(TreeBlob, sub))
	require.Equal(t, loc.Pack, subLoc.Pack)
	_, err = r.LoadTree(ctx, sub)
	require.NoError(t, err)
	_, err = r.LoadTree(ctx, root)
	require.NoError(t, err)
	_, err = openCached(t, f, dir).LoadTree(ctx, sub)
	require.NoError(t, err)
	require.Equal(t, 1, loads.get(backend.PackFile), "no more remote loads")

	// Data blobs are read from the backend as ever.
	_, err = r.LoadBlob(ctx, DataBlob, tree.Find("b").Content[0], nil)
	require.NoError(t, err)
	require.Equal(t, 2, loads.get(backend.PackFile))
	require.Len(t, cachedNames(t, r, backend.PackFile), 1)
}

func TestCacheTreePackFetchedOnce(t *testing.T) {
	ctx := t.Context()
	be, _, snaps := twoBackups(t)
	f := fault.New(be)
	r := openCached(t, f, t.TempDir())
	loads := slowLoads(f, 50*time.Millisecond)
	tree, err := reopen(t, be).LoadTree(ctx, snaps[0].Tree)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			id := snaps[0].Tree
			if i%2 == 1 {
				id = tree.Find("a").Subtree
			}
			_, err := r.LoadTree(ctx, id)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, loads.get(backend.PackFile), "concurrent readers share one download")
}

func TestCacheUnwritable(t *testing.T) {
	for _, tt := range []struct {
		name  string
		spoil func(t *testing.T, dir string, id ID)
	}{
		{"cache dir is a file", func(t *testing.T, dir string, _ ID) {
			require.NoError(t, os.Remove(dir))
			require.NoError(t, os.WriteFile(dir, nil, 0o600))
		}},
		{"folders are files", func(t *testing.T, dir string, id ID) {
			for _, ft := range cachedTypes {
				p := filepath.Join(dir, id.String(), ft.String())
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
				require.NoError(t, os.WriteFile(p, nil, 0o600))
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			be, src, snaps := twoBackups(t)
			dir := t.TempDir()
			tt.spoil(t, dir, reopen(t, be).Config().ID)
			r := openCached(t, be, dir)
			list, err := r.Snapshots(ctx)
			require.NoError(t, err)
			require.Len(t, list, 2)
			m := newMemTarget()
			require.NoError(t, r.Restore(ctx, snaps[1].ID, m, RestoreOptions{Verify: true}))
			requireRestored(t, src, m)
			_, err = r.Backup(ctx, src, BackupOptions{Host: "h"})
			require.NoError(t, err)
			require.NotZero(t, r.cache.failures.Load())
			require.True(t, r.cache.noPacks.Load(), "tree blobs are read from the backend")
		})
	}
}

// smallTreeSource is 10 folders of 20 small files.
func smallTreeSource() *testSource {
	s := &testSource{}
	s.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
	for d := range 10 {
		dir := fmt.Sprintf("d%02d", d)
		s.add(source.Entry{Path: dir, Type: source.TypeDir, Perm: 0o755}, nil)
		for i := range 20 {
			s.add(source.Entry{Path: fmt.Sprintf("%s/f%02d", dir, i), Type: source.TypeFile,
				Inode: uint64(100*d + i + 1)}, randomBytes(uint64(100*d+i), 2<<10))
		}
	}
	return s
}

// TestCacheRemoteCost measures what opening a remote repository and an
// unchanged backup cost with and without a warm cache.
func TestCacheRemoteCost(t *testing.T) {
	ctx := t.Context()
	disk := mem.New()
	src := smallTreeSource()
	_, err := initRepo(t, disk, Options{}).Backup(ctx, src, BackupOptions{Host: "h"})
	require.NoError(t, err)
	dir := t.TempDir()

	run := func(cacheDir string) (open, total fault.Counts, opened *loadsOf) {
		f := fault.New(disk)
		loads := countLoads(f)
		r, err := Open(ctx, f, testPassword, OpenOptions{CacheDir: cacheDir})
		require.NoError(t, err)
		open = f.Counts()
		opened = loads.clone()
		sn, err := r.Backup(ctx, src, BackupOptions{Host: "h"})
		require.NoError(t, err)
		require.Zero(t, sn.Summary.BytesRead, "unchanged")
		return open, f.Counts(), opened
	}
	_, cold, _ := run("")
	run(dir) // warms the cache
	warmOpen, warm, openLoads := run(dir)

	requests := func(c fault.Counts) int { return c.Load + c.Stat + c.List + c.Save + c.Remove }
	t.Logf("open + unchanged backup of %d files: no cache: %d requests (load %d, stat %d, list %d, save %d, remove %d), %d bytes down; "+
		"warm cache: %d requests (load %d, stat %d, list %d, save %d, remove %d), %d bytes down (open alone: %d requests, %d bytes)",
		len(src.data), requests(cold), cold.Load, cold.Stat, cold.List, cold.Save, cold.Remove, cold.BytesLoaded,
		requests(warm), warm.Load, warm.Stat, warm.List, warm.Save, warm.Remove, warm.BytesLoaded,
		requests(warmOpen), warmOpen.BytesLoaded)

	require.Zero(t, openLoads.get(backend.IndexFile), "open loads no index file remotely")
	require.Zero(t, openLoads.get(backend.SnapshotFile), "open loads no snapshot remotely")
	require.Less(t, warm.BytesLoaded*5, cold.BytesLoaded, "a warm cache downloads far less")
	require.Less(t, warm.Load, cold.Load)
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir, err := DefaultCacheDir()
	if err != nil {
		t.Skip(err)
	}
	base, err := os.UserCacheDir()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(base, "cairn"), dir)
}
