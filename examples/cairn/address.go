package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/repo/backend/retry"
	"github.com/cairnbackup/cairn/repo/backend/s3"
)

// location is a parsed repository address: a directory, or an S3 bucket
// written s3:https://HOST/BUCKET[/PREFIX] (s3:http://… for local servers).
type location struct {
	addr string
	s3   *s3.Config // nil for a directory
}

func parseLocation(addr string) (location, error) {
	if !strings.HasPrefix(addr, "s3:") {
		return location{addr: addr}, nil
	}
	cfg, err := s3.ParseURL(addr)
	if err != nil {
		return location{}, usageError(err)
	}
	return location{addr: addr, s3: &cfg}, nil
}

// openMode is how a command opens its repository.
type openMode struct {
	uncached bool // read the store, not the cache: check and repair
	noIndex  bool // do not read the index: repair index
}

// cacheFlags choose the local cache of remote repositories.
type cacheFlags struct {
	dir string
	off bool
}

func (c *cacheFlags) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.dir, "cache-dir", c.dir, "cache remote repositories' index, snapshots and trees in `DIR` (default: the user's cache directory)")
	fs.BoolVar(&c.off, "no-cache", c.off, "do not cache remote repositories locally")
}

// backendAt opens the store at l; with create, a missing directory or
// bucket is made. Remote stores retry transient failures. The IO limits
// apply to every store.
func (a *app) backendAt(ctx context.Context, l location, create bool) (backend.Backend, error) {
	if l.s3 == nil {
		be := local.New(l.addr)
		if create {
			// First, so that a directory we cannot write to fails before
			// the key is derived.
			if err := be.Create(ctx); err != nil {
				return nil, err
			}
		}
		return a.limitBackend(be), nil
	}
	cfg := *l.s3
	cfg.CreateBucket = create
	be, err := s3.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return a.limitBackend(retry.New(be, retry.Options{Notify: a.retrying})), nil
}

// retrying tells, unless --quiet, that a remote call failed and is tried
// again.
func (a *app) retrying(op string, h backend.Handle, attempt int, err error, wait time.Duration) {
	a.warn(h.String(), fmt.Errorf("%s %v failed (attempt %d), trying again in %v: %w", op, h, attempt, wait.Round(time.Millisecond), err))
}

// openOptions caches remote repositories locally, unless --no-cache or
// the command must see what the store itself holds (check, repair).
func (a *app) openOptions(l location) (repo.OpenOptions, error) {
	o := repo.OpenOptions{NoIndex: a.mode.noIndex}
	if l.s3 == nil || a.cache.off || a.mode.uncached {
		return o, nil
	}
	o.CacheDir = a.cache.dir
	if o.CacheDir == "" {
		dir, err := repo.DefaultCacheDir()
		if err != nil {
			return o, fmt.Errorf("cache: %w (use --cache-dir DIR or --no-cache)", err)
		}
		o.CacheDir = dir
	}
	return o, nil
}

// noSuchRepository reports whether err from opening l means no repository
// is there.
func noSuchRepository(l location, err error) bool {
	if !errors.Is(err, repo.ErrNotFound) {
		return false
	}
	if l.s3 != nil {
		return true // the config object, or the bucket, is missing
	}
	return !hasConfig(l.addr)
}
