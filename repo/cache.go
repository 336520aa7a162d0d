package repo

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo/backend"
)

// The local cache (OpenOptions.CacheDir) keeps copies of what every
// operation reads and few change: index files, snapshots and the packs that
// hold tree blobs. Its layout is
//
//	<CacheDir>/<repository ID>/{index,snapshots,data}/<name>
//
// so repositories never share entries. Objects are immutable and named by
// the hash of their bytes, which makes the cache simple:
//
//   - An entry is never trusted. Index files and snapshots are hashed on
//     every read; tree blobs from a cached pack are authenticated one by
//     one, as any blob is. A damaged entry is removed and fetched again.
//   - A file appears under its name only whole: it is written under a
//     temporary name in the same folder and renamed. Processes that share
//     the cache may race to write one name; they write the same bytes.
//   - The cache is never needed. A failure to write or remove an entry is
//     counted and the operation goes on with the backend.
//   - Entries of objects the repository no longer holds are removed when
//     it is opened (and index files also whenever the index is re-read).

const (
	// cacheTmpPrefix starts the names of files being written.
	cacheTmpPrefix = ".tmp-"
	// cacheTmpAge is how old a temporary file must be before tidying
	// removes it: one that young may belong to a running process.
	cacheTmpAge = 24 * time.Hour
	// cacheTag marks the cache for backup programs that skip caches
	// (https://bford.info/cachedir/).
	cacheTagName = "CACHEDIR.TAG"
	cacheTag     = "Signature: 8a477f597d28d172789f06886806bc55\n" +
		"# This file is a cache directory tag created by cairn.\n" +
		"# For information about cache directory tags, see https://bford.info/cachedir/\n"
)

// cachedTypes are the kinds of object the cache holds; of packs, only
// those of tree blobs.
var cachedTypes = []backend.FileType{backend.IndexFile, backend.SnapshotFile, backend.PackFile}

// cache is one repository's part of a cache directory. A nil *cache is a
// valid, disabled cache: every method does nothing.
type cache struct {
	dir string // <CacheDir>/<repository ID>

	// failures counts writes and removals that failed; the operations went
	// on without the cache.
	failures atomic.Int64
	// noPacks is set once a pack could not be written: tree blobs are then
	// read from the backend, rather than fetching whole packs in vain.
	noPacks atomic.Bool

	mu          sync.Mutex
	fetching    map[ID]*packFetch // packs being downloaded
	unfetchable map[ID]error      // packs whose download failed
}

// openCache sets up the cache of the repository id under base. It does not
// fail: a folder that cannot be made turns into failed writes later.
func openCache(base string, id ID) *cache {
	c := &cache{dir: filepath.Join(base, id.String()),
		fetching: make(map[ID]*packFetch), unfetchable: make(map[ID]error)}
	for _, t := range cachedTypes {
		if err := os.MkdirAll(c.typeDir(t), 0o700); err != nil {
			c.failures.Add(1)
		}
	}
	tag := filepath.Join(base, cacheTagName)
	if _, err := os.Stat(tag); errors.Is(err, fs.ErrNotExist) {
		c.create(tag, func(f *os.File) error {
			_, err := io.WriteString(f, cacheTag)
			return err
		}) // best effort: a cache without a tag works all the same
	}
	return c
}

func (c *cache) typeDir(t backend.FileType) string { return filepath.Join(c.dir, t.String()) }

func (c *cache) path(t backend.FileType, id ID) string {
	return filepath.Join(c.typeDir(t), id.String())
}

// load returns the cached file id if it is there and whole. A damaged
// copy is removed.
func (c *cache) load(t backend.FileType, id ID) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	data, err := os.ReadFile(c.path(t, id))
	if err != nil {
		return nil, false
	}
	if crypto.Hash(data) != id {
		c.remove(t, id)
		return nil, false
	}
	return data, true
}

// store keeps a copy of data, which has been verified to be the file id.
func (c *cache) store(t backend.FileType, id ID, data []byte) {
	if c == nil {
		return
	}
	err := c.create(c.path(t, id), func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
	if err != nil {
		c.failures.Add(1)
	}
}

// create makes the file path atomically with what fill writes into it:
// under a temporary name in the same folder, then renamed. Nothing is left
// behind on failure. No fsync: a copy a crash damaged fails its check.
func (c *cache) create(path string, fill func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), cacheTmpPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// remove drops the entry id; one already gone is no failure.
func (c *cache) remove(t backend.FileType, id ID) {
	if c == nil {
		return
	}
	if err := os.Remove(c.path(t, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.failures.Add(1)
	}
}

// retain removes the entries of type t that are not in ids, and temporary
// files old enough to be left over from a crash.
func (c *cache) retain(t backend.FileType, ids []ID) {
	if c == nil {
		return
	}
	keep := make(map[ID]bool, len(ids))
	for _, id := range ids {
		keep[id] = true
	}
	c.retainFunc(t, func(id ID) bool { return keep[id] })
}

// retainFunc is retain with a test for the entries to keep; keep is called
// only if there are entries.
func (c *cache) retainFunc(t backend.FileType, keep func(ID) bool) {
	if c == nil {
		return
	}
	entries, err := os.ReadDir(c.typeDir(t))
	if err != nil {
		return // nothing cached, or nothing we may look at
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, cacheTmpPrefix) {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > cacheTmpAge {
				os.Remove(filepath.Join(c.typeDir(t), name))
			}
			continue
		}
		id, err := crypto.ParseID(name)
		if err != nil || id.String() != name {
			continue // not ours
		}
		if !keep(id) {
			c.remove(t, id)
		}
	}
}

// loadCachedFile is loadFile through the cache: a whole cached copy if
// there is one, else the backend's, which is then cached.
func (r *Repository) loadCachedFile(ctx context.Context, t backend.FileType, id ID) ([]byte, error) {
	if data, ok := r.cache.load(t, id); ok {
		return data, nil
	}
	data, err := loadFile(ctx, r.be, t, id)
	if err != nil {
		return nil, err
	}
	r.cache.store(t, id, data)
	return data, nil
}

// tidyCache removes the cached snapshots the repository no longer has
// (one listing) and the cached packs that the index just loaded no longer
// names: prune deletes a pack only after the index files that name it are
// superseded, so this needs no listing of the packs, which may be long.
func (r *Repository) tidyCache(ctx context.Context) {
	if r.cache == nil {
		return
	}
	if ids, err := listIDs(ctx, r.be, backend.SnapshotFile); err == nil {
		r.cache.retain(backend.SnapshotFile, ids)
	}
	var packs []ID
	r.cache.retainFunc(backend.PackFile, func(id ID) bool {
		if packs == nil {
			packs = r.idx.PackIDs() // sorted
		}
		_, ok := slices.BinarySearchFunc(packs, id, compareIDs)
		return ok
	})
}
