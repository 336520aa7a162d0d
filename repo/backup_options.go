package repo

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/cairnbackup/cairn/repo/backend/limit"
	"golang.org/x/time/rate"
)

// ErrPartialSnapshot is wrapped by the error Backup returns when it saved a
// snapshot but could not read some files. The snapshot is returned too; its
// Summary.Errors names the files.
var ErrPartialSnapshot = errors.New("snapshot saved, but some files could not be read")

// DefaultMaxInFlight is how many bytes of file content a backup holds in
// memory at most, read but not yet stored.
const DefaultMaxInFlight = 64 << 20

// BackupOptions tune Backup. The zero value backs up incrementally from the
// latest snapshot of the same source and host.
type BackupOptions struct {
	Host string   // default: os.Hostname
	Tags []string // stored sorted
	Time time.Time

	// Parent is the snapshot to compare with. Nil means the latest one
	// with the same host, source kind and paths, unless NoParent is set.
	Parent   *ID
	NoParent bool
	// A file whose size, mtime, ctime and inode match the parent's is not
	// read. These relax the test, for file systems whose ctime or inode
	// numbers are not stable (network mounts, some FUSE and overlay setups).
	IgnoreCtime bool
	IgnoreInode bool

	// Readers is how many files are read at once; default 2 × GOMAXPROCS,
	// at least 4. Blobs are hashed, compressed and sealed on GOMAXPROCS
	// goroutines.
	Readers int
	// MaxInFlight caps the bytes read but not yet stored, counted as the
	// capacity of the chunk buffers that hold them; default
	// DefaultMaxInFlight, raised to what one chunk's buffer may take (see
	// minInFlight), 17 MiB with the default chunk size.
	MaxInFlight int64
	// ReadLimit caps the bytes of file content read from the source per
	// second, over all readers; 0 means no limit. Bursts of up to a
	// second's worth (at least 64 KiB) pass at once.
	ReadLimit int64
	readLimit *rate.Limiter // from ReadLimit, one per backup, shared by the readers

	// Progress, if set, is called every ProgressInterval (default 1 s)
	// and once at the end, from one goroutine at a time.
	Progress         func(Progress)
	ProgressInterval time.Duration
	// Warn, if set, is called for every file that could not be read or
	// changed while it was read, from one goroutine at a time.
	Warn func(path string, err error)

	ProgramVersion string
}

// Progress is a backup's state, as reported to BackupOptions.Progress.
type Progress struct {
	Files      uint64 // regular files done, read or not
	Dirs       uint64
	Bytes      uint64 // content bytes of the files done
	BytesRead  uint64 // content bytes read from the source
	BytesNew   uint64 // blob bytes new to the repository, before compression
	Errors     uint64
	Current    string // a path being worked on
	TotalFiles uint64 // 0 when not (yet) known
	TotalBytes uint64
	Elapsed    time.Duration
	Done       bool // the last call
}

func (o BackupOptions) withDefaults(chunkMax uint32) (BackupOptions, error) {
	if o.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return o, fmt.Errorf("backup: host name: %w", err)
		}
		o.Host = h
	}
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	if o.Readers <= 0 {
		o.Readers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	o.MaxInFlight = max(o.MaxInFlight, minInFlight(chunkMax))
	if o.ReadLimit < 0 {
		return o, fmt.Errorf("backup: negative ReadLimit %d", o.ReadLimit)
	}
	o.readLimit = limit.NewLimiter(o.ReadLimit)
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = time.Second
	}
	if o.Parent != nil && o.NoParent {
		return o, errors.New("backup: both Parent and NoParent set")
	}
	return o, nil
}

// minInFlight is the least MaxInFlight for chunks of up to chunkMax bytes.
// A reader waits until the capacity of a chunk's buffer fits, so a smaller
// cap would make a backup wait forever for the first buffer larger than it.
// Buffers are pooled and grown by append: one may hold twice the largest
// chunk, and the pool keeps any of up to 1 MiB whatever it last held.
func minInFlight(chunkMax uint32) int64 { return 2*int64(chunkMax) + 1<<20 }
