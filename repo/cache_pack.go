package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
)

// Tree blobs are small and read over and over (every backup walks the
// parent's trees), and they share packs: one download of a tree pack
// serves every later read of any tree in it. Data packs are never cached.

// errNoPackCache is why a tree blob is not read from the cache once a pack
// could not be written there.
var errNoPackCache = errors.New("cache: packs cannot be written")

// packFetch is one download of a pack that other readers of the same pack
// wait for.
type packFetch struct {
	done chan struct{}
	err  error
}

// loadCachedBlob reads the tree blob h at loc from the cached copy of its
// pack, fetching the pack whole if the cache lacks it. A copy in which the
// blob does not open is damaged (or gone): it is dropped and fetched once
// more. An error means the caller must read the blob from the backend.
func (r *Repository) loadCachedBlob(ctx context.Context, h pack.Handle, loc index.Location, buf *blobBuffer, dst []byte) ([]byte, error) {
	var err error
	for range 2 {
		if err = r.cache.ensurePack(ctx, r.be, loc.Pack); err != nil {
			return nil, err
		}
		var sealed []byte
		if sealed, err = r.cache.readBlob(loc, buf.sealed[:0]); err == nil {
			buf.sealed = sealed
			var out []byte
			if out, err = r.openBlob(h, loc, buf, dst); err == nil {
				return out, nil
			}
		}
		r.cache.remove(backend.PackFile, loc.Pack)
	}
	return nil, err
}

// readBlob reads the sealed blob at loc from the cached pack.
func (c *cache) readBlob(loc index.Location, dst []byte) ([]byte, error) {
	f, err := os.Open(c.path(backend.PackFile, loc.Pack))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dst = grow(dst, int(loc.Length))
	if _, err := f.ReadAt(dst, int64(loc.Offset)); err != nil {
		return nil, fmt.Errorf("cached pack %s: %w", loc.Pack.Short(), err)
	}
	return dst, nil
}

// ensurePack makes sure the cache holds pack id, downloading it if not.
// Concurrent callers for one pack share one download.
func (c *cache) ensurePack(ctx context.Context, be backend.Backend, id ID) error {
	if c.noPacks.Load() {
		return errNoPackCache
	}
	if _, err := os.Stat(c.path(backend.PackFile, id)); err == nil {
		return nil
	}
	c.mu.Lock()
	if err := c.unfetchable[id]; err != nil {
		c.mu.Unlock()
		return err
	}
	f, ok := c.fetching[id]
	if !ok {
		f = &packFetch{done: make(chan struct{})}
		c.fetching[id] = f
	}
	c.mu.Unlock()
	if ok {
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.err = c.fetchPack(ctx, be, id)
	c.mu.Lock()
	delete(c.fetching, id)
	if f.err != nil && ctx.Err() == nil {
		c.unfetchable[id] = f.err // damaged or unreachable: read its blobs one by one
	}
	c.mu.Unlock()
	close(f.done)
	return f.err
}

// fetchPack downloads pack id in one request into a temporary file, checks
// that it hashes to its name and only then gives it its name. If the cache
// cannot take the pack, no more packs are fetched: reading tree blobs from
// the backend is cheaper than downloading whole packs in vain.
func (c *cache) fetchPack(ctx context.Context, be backend.Backend, id ID) error {
	h := backend.Handle{Type: backend.PackFile, Name: id.String()}
	var loadErr, writeErr error
	err := c.create(c.path(backend.PackFile, id), func(f *os.File) error {
		loadErr = be.Load(ctx, h, 0, 0, func(rd io.Reader) error {
			// Load may call again after a retry: start the file over.
			if writeErr = f.Truncate(0); writeErr != nil {
				return writeErr
			}
			if _, writeErr = f.Seek(0, io.SeekStart); writeErr != nil {
				return writeErr
			}
			return pack.CheckName(io.TeeReader(rd, &errWriter{w: f, err: &writeErr}), id)
		})
		return loadErr
	})
	if err != nil && (writeErr != nil || loadErr == nil) {
		c.failures.Add(1)
		c.noPacks.Store(true)
		return fmt.Errorf("%w: %w", errNoPackCache, err)
	}
	return err
}

// errWriter is a Writer that records its first error in *err, so that a
// failure to write the cache is told apart from a failure to read the
// backend.
type errWriter struct {
	w   io.Writer
	err *error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && *e.err == nil {
		*e.err = err
	}
	return n, err
}
