package repo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/cairnbackup/cairn/repo/backend"
)

// Repository is an open repository. It is safe for concurrent use.
type Repository struct {
	be    backend.Backend
	key   *crypto.Key
	cfg   Config
	opts  Options
	level compress.Level
	idx   *index.Index

	mu    sync.Mutex
	keyID ID

	idxMu      sync.Mutex       // serializes changes to idx and indexFiles
	indexFiles map[ID]indexMeta // the index files idx holds

	cache *cache // nil without OpenOptions.CacheDir
}

// Init creates a repository in an empty backend, protected by password, and
// returns it open. It fails with ErrExists if the backend holds one already.
func Init(ctx context.Context, be backend.Backend, password string, opts InitOptions) (*Repository, error) {
	o, err := opts.Options.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg := Config{Created: time.Now().UTC(), Chunking: opts.Chunking.WithDefaults()}
	rand.Read(cfg.ID[:])
	if from := opts.ChunkerFrom; from != nil {
		if opts.Chunking != (chunk.Params{}) && cfg.Chunking != from.cfg.Chunking {
			return nil, errors.New("init: Chunking and ChunkerFrom both given, and they differ")
		}
		cfg.Chunking = from.cfg.Chunking
	}
	if err := cfg.Chunking.Validate(); err != nil {
		return nil, err
	}
	if _, err := be.Stat(ctx, configHandle); err == nil {
		return nil, fmt.Errorf("init: a repository exists here: %w", ErrExists)
	} else if !errors.Is(err, backend.ErrNotFound) {
		return nil, &FileError{File: configHandle, Op: "stat", Err: err}
	}
	k, err := newMasterKey(opts.ChunkerFrom)
	if err != nil {
		return nil, err
	}
	// The key goes first and the config last: the config is what makes a
	// repository, so a crash in between leaves a backend Init can retry.
	keyID, err := saveKey(ctx, be, k, password, opts.Key)
	if err != nil {
		return nil, err
	}
	if err := saveConfig(ctx, be, k, cfg); err != nil {
		return nil, err
	}
	return newRepository(be, k, keyID, cfg, o)
}

// Open opens the repository in be with password and loads its index.
func Open(ctx context.Context, be backend.Backend, password string, opts OpenOptions) (*Repository, error) {
	o, err := opts.Options.withDefaults()
	if err != nil {
		return nil, err
	}
	cfgData, err := loadConfigHeader(ctx, be)
	if err != nil {
		return nil, err
	}
	k, keyID, cfg, err := openKey(ctx, be, password, cfgData)
	if err != nil {
		return nil, err
	}
	r, err := newRepository(be, k, keyID, cfg, o)
	if err != nil {
		return nil, err
	}
	if opts.CacheDir != "" {
		r.cache = openCache(opts.CacheDir, cfg.ID)
	}
	if opts.NoIndex {
		return r, nil
	}
	if err := r.loadIndex(ctx); err != nil {
		return nil, err
	}
	r.tidyCache(ctx)
	return r, nil
}

// newMasterKey makes a repository's key set: random, or sharing like's
// blob-ID key and polynomial.
func newMasterKey(like *Repository) (*crypto.Key, error) {
	if like == nil {
		return crypto.NewRandomKey()
	}
	return crypto.NewKeyLike(like.key)
}

func newRepository(be backend.Backend, k *crypto.Key, keyID ID, cfg Config, o Options) (*Repository, error) {
	level, err := o.Compression.level()
	if err != nil {
		return nil, err
	}
	return &Repository{be: be, key: k, keyID: keyID, cfg: cfg, opts: o, level: level, idx: index.New()}, nil
}

// Close releases the repository. Blobs saved through a Writer that was not
// flushed are not part of the repository.
func (r *Repository) Close() error {
	return nil
}

// Config returns the repository's fixed settings.
func (r *Repository) Config() Config { return r.cfg }

// Backend returns the backend the repository lives in.
func (r *Repository) Backend() backend.Backend { return r.be }

// Polynomial returns the secret chunker polynomial, for chunk.New.
func (r *Repository) Polynomial() uint64 { return r.key.Polynomial() }

// HasBlob reports whether the index knows the blob.
func (r *Repository) HasBlob(h BlobHandle) bool {
	return r.idx.Has(h)
}

// BlobCount returns the number of blobs in the index.
func (r *Repository) BlobCount() int {
	return r.idx.Len()
}
