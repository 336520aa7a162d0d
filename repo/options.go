package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/cairnbackup/cairn/pack"
)

// Defaults for zero-valued options.
const (
	DefaultPackSize    = 16 << 20
	MinPackSize        = 1 << 20
	MaxPackSize        = 1 << 30
	DefaultPackWriters = 4
	MaxPackWriters     = 16
	DefaultUploads     = 4
)

// Compression selects the zstd level blobs and files are written with.
// Whatever is chosen, data that does not get smaller is stored raw.
type Compression uint8

// Compression levels. The zero value is CompressionAuto.
const (
	CompressionAuto    Compression = iota // zstd's default level
	CompressionOff                        // store everything raw
	CompressionFastest                    // fastest zstd level
	CompressionBetter                     // smaller, slower
	CompressionMax                        // smallest, much slower
)

func (c Compression) level() (compress.Level, error) {
	switch c {
	case CompressionAuto:
		return compress.Default, nil
	case CompressionOff:
		return compress.Off, nil
	case CompressionFastest:
		return compress.Fastest, nil
	case CompressionBetter:
		return compress.Better, nil
	case CompressionMax:
		return compress.Best, nil
	}
	return 0, fmt.Errorf("unknown compression %d", c)
}

// Options tune how a Repository writes. The zero value is good for local
// repositories; object stores prefer larger packs.
type Options struct {
	// PackSize is the size at which a pack is finished and stored
	// (DefaultPackSize; MinPackSize..MaxPackSize). A pack is larger only
	// when a single blob is.
	PackSize int
	// Compression is the zstd level for blobs and repository files.
	Compression Compression
	// PackWriters is how many data packs are open at once
	// (DefaultPackWriters, at most MaxPackWriters). Each blob goes to one of
	// them at random, so a pack's size says nothing about the sizes or
	// order of the chunks in it. Tree blobs go to one open pack.
	PackWriters int
	// Uploads bounds how many finished packs are stored at once
	// (DefaultUploads). Where packs are built in memory (backends that
	// give no spool files; see the package documentation), memory for
	// writing is about (PackWriters + 1 + Uploads) × PackSize.
	Uploads int
	// LockStale is how long after its last refresh this process's locks
	// count as stale for others (DefaultLockStale; at least a second). A
	// lock is refreshed six times in that span, and the operation holding
	// it stops when it could not refresh for half of it. Other processes
	// go by the time each lock file records, not by their own setting.
	LockStale time.Duration
	// NoLock runs backups, restores and maintenance without lock files,
	// for a repository that cannot be written (a read-only copy). Prune
	// running meanwhile elsewhere can then remove data a backup uses.
	NoLock bool
}

func (o Options) withDefaults() (Options, error) {
	if o.PackSize == 0 {
		o.PackSize = DefaultPackSize
	}
	if o.PackWriters == 0 {
		o.PackWriters = DefaultPackWriters
	}
	if o.Uploads == 0 {
		o.Uploads = DefaultUploads
	}
	if o.LockStale == 0 {
		o.LockStale = DefaultLockStale
	}
	switch {
	case o.PackSize < MinPackSize || o.PackSize > MaxPackSize:
		return o, fmt.Errorf("pack size %d out of range %d..%d", o.PackSize, MinPackSize, MaxPackSize)
	case o.PackWriters < 1 || o.PackWriters > MaxPackWriters:
		return o, fmt.Errorf("pack writers %d out of range 1..%d", o.PackWriters, MaxPackWriters)
	case o.Uploads < 1:
		return o, fmt.Errorf("uploads %d must be at least 1", o.Uploads)
	case o.LockStale < time.Second:
		return o, fmt.Errorf("lock stale time %v must be at least a second", o.LockStale)
	}
	_, err := o.Compression.level()
	return o, err
}

// OpenOptions configure Open.
type OpenOptions struct {
	Options
	// NoIndex skips reading the index files, for RebuildIndex when one of
	// them is damaged. Nothing else works on such a Repository.
	NoIndex bool
	// CacheDir is a local folder for copies of the index files, snapshots
	// and tree packs, so that opening a remote repository and backing up
	// again download little; "" means no cache. Each repository has its own
	// folder in it, named by its ID, and processes may share it. A damaged
	// copy is never used, and a cache that cannot be written is done
	// without. DefaultCacheDir is the usual place. Check and the repairs
	// read what is cached from the cache too: to check what the backend
	// holds, open without one.
	CacheDir string
}

// DefaultCacheDir returns the user's cache folder for cairn:
// os.UserCacheDir()/cairn.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "cairn"), nil
}

// InitOptions configure Init. Chunking and KDF are fixed for the repository
// (KDF: for the first key) at creation.
type InitOptions struct {
	Options
	// Chunking sets the content-defined chunk sizes; zero means
	// 512 KiB / 1 MiB / 8 MiB.
	Chunking chunk.Params
	// Key describes the first key file.
	Key KeyOptions
	// ChunkerFrom, if set, gives the new repository the chunk sizes,
	// chunker polynomial and blob-ID key of this open one (its own
	// encryption key and password all the same; Chunking must then be
	// zero or the same). The same data then gives the same chunks and
	// blob IDs in both, so Copy between them skips the blobs the
	// destination has and backups of the same files into either
	// deduplicate alike. The price: the two repositories' blob IDs are
	// comparable by whoever holds the keys of both (see
	// crypto.NewKeyLike).
	ChunkerFrom *Repository
}

// KeyOptions describe a new key file.
type KeyOptions struct {
	// KDF sets the argon2id cost; zero means crypto.DefaultKDFParams.
	KDF crypto.KDFParams
	// Host and Username label the key in listings; empty means this
	// machine's host name and the current user.
	Host, Username string
}

// Type aliases so that users of repo need not import the lower layers.
type (
	// ID names a blob, snapshot or file.
	ID = crypto.ID
	// BlobType is DataBlob or TreeBlob.
	BlobType = pack.BlobType
	// BlobHandle is a blob type and ID.
	BlobHandle = pack.Handle
)

// Blob types.
const (
	DataBlob = pack.DataBlob
	TreeBlob = pack.TreeBlob
)

// ParseID parses the hex form of an ID.
func ParseID(s string) (ID, error) { return crypto.ParseID(s) }
