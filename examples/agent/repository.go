package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/limit"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/repo/backend/retry"
	"github.com/cairnbackup/cairn/repo/backend/s3"
)

// RepoConfig says where the repository is and how to reach it.
type RepoConfig struct {
	Addr     string // a directory, or s3:https://HOST/BUCKET[/PREFIX]
	Password string
	Init     bool // create it when it does not exist
	// Upload and Download cap the backend's rates in bytes per second; 0
	// is no limit.
	Upload, Download int64
	CacheDir         string // for remote repositories; "" is the default
}

// ErrNoRepository says the repository does not exist and --init is off.
var ErrNoRepository = errors.New("no repository there (start the agent with --init to create one)")

// opener opens the repository on first use and keeps it open; a failed
// open is tried again on the next use.
type opener struct {
	cfg RepoConfig
	log *slog.Logger

	mu sync.Mutex
	r  *repo.Repository
	be backend.Backend
}

// get returns the open repository, opening (or creating) it if need be.
func (o *opener) get(ctx context.Context) (*repo.Repository, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.r != nil {
		return o.r, nil
	}
	r, err := o.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", o.cfg.Addr, err)
	}
	o.r = r
	return r, nil
}

func (o *opener) open(ctx context.Context) (*repo.Repository, error) {
	be, s3cfg, err := o.backend(ctx)
	if err != nil {
		return nil, err
	}
	opts := repo.OpenOptions{}
	if s3cfg {
		opts.CacheDir = o.cacheDir()
	}
	r, err := repo.Open(ctx, be, o.cfg.Password, opts)
	if err == nil || !errors.Is(err, repo.ErrNotFound) || !o.missing(ctx, be) {
		return r, err
	}
	if !o.cfg.Init {
		return nil, ErrNoRepository
	}
	if l, ok := be.(*local.Backend); ok {
		if err := l.Create(ctx); err != nil {
			return nil, err
		}
	}
	o.log.Info("creating the repository", "repo", o.cfg.Addr)
	return repo.Init(ctx, be, o.cfg.Password, repo.InitOptions{Options: opts.Options})
}

// missing reports whether be holds no repository config.
func (o *opener) missing(ctx context.Context, be backend.Backend) bool {
	_, err := be.Stat(ctx, backend.Handle{Type: backend.ConfigFile})
	return errors.Is(err, backend.ErrNotFound)
}

// backend returns the repository's store, made once; remote stores retry
// passing failures. s3 says whether it is remote.
func (o *opener) backend(ctx context.Context) (be backend.Backend, remote bool, err error) {
	if o.be != nil {
		return o.be, strings.HasPrefix(o.cfg.Addr, "s3:"), nil
	}
	if strings.HasPrefix(o.cfg.Addr, "s3:") {
		cfg, err := s3.ParseURL(o.cfg.Addr)
		if err != nil {
			return nil, true, err
		}
		cfg.CreateBucket = o.cfg.Init
		s, err := s3.Open(ctx, cfg)
		if err != nil {
			return nil, true, err
		}
		be, remote = retry.New(s, retry.Options{Notify: o.retrying}), true
	} else {
		be = local.New(o.cfg.Addr)
	}
	if o.cfg.Upload > 0 || o.cfg.Download > 0 {
		// Only the wrapper is kept, so every use shares its budget.
		be = limit.New(be, limit.Options{Upload: o.cfg.Upload, Download: o.cfg.Download})
	}
	o.be = be
	return be, remote, nil
}

// retrying logs a remote call that failed and is tried again.
func (o *opener) retrying(op string, h backend.Handle, attempt int, err error, wait time.Duration) {
	o.log.Warn("repository call failed, retrying", "op", op, "object", h.String(), "attempt", attempt,
		"wait_seconds", wait.Seconds(), "error", err.Error())
}

func (o *opener) cacheDir() string {
	if o.cfg.CacheDir != "" {
		return o.cfg.CacheDir
	}
	dir, err := repo.DefaultCacheDir()
	if err != nil {
		o.log.Warn("no cache for the remote repository", "error", err.Error())
		return ""
	}
	return dir
}

// ping reaches the repository: opens it, or reads its config's size.
func (o *opener) ping(ctx context.Context) error {
	r, err := o.get(ctx)
	if err != nil {
		return err
	}
	if _, err := r.Backend().Stat(ctx, backend.Handle{Type: backend.ConfigFile}); err != nil {
		return fmt.Errorf("repository %s: %w", o.cfg.Addr, err)
	}
	return nil
}

// close closes the repository if it is open.
func (o *opener) close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.r == nil {
		return nil
	}
	err := o.r.Close()
	o.r = nil
	return err
}
