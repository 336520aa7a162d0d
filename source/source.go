package source

import (
	"context"
	"encoding/json"
	"io"
)

// Source yields the entries of one backup.
type Source interface {
	// Info describes the source for the snapshot record.
	Info() Info
	// Walk calls fn for every entry, depth first, the root "." first. An
	// error from fn stops the walk and is returned. Problems with single
	// entries do not stop the walk: they come as entries with Err set.
	Walk(ctx context.Context, fn func(*Entry) error) error
}

// Info says what a source is, for the snapshot record.
type Info struct {
	Kind        string          // "dir", "tar", "dump", "docker-volume", …
	Description string          // for people
	Paths       []string        // what was backed up
	Details     json.RawMessage // for programs; may be nil
}

// Preparer is a Source that must do something before it is walked (stop a
// container, take a file system snapshot) and undo it afterwards. The
// consumer calls Prepare before Walk and, if Prepare succeeded, tidy on
// every way out: success, error, panic and cancellation. tidy gets a
// context that is not cancelled with the backup's.
type Preparer interface {
	Prepare(ctx context.Context) (tidy func(context.Context) error, err error)
}

// Counter is a Source that can count what a walk will yield, cheaply
// enough to run beside the walk for progress totals.
type Counter interface {
	Count(ctx context.Context) (files, bytes uint64, err error)
}

// Target receives the entries of a snapshot being restored, in walk order:
// the root "." first, a directory before its contents.
type Target interface {
	// Put creates e. For a regular file without Hardlink, content yields
	// exactly e.Size bytes; a target may skip reading it (the file is
	// there already) and the bytes are then not fetched.
	Put(ctx context.Context, e *Entry, content io.Reader) error
	// Close finishes the restore (directory times, tar trailer) after the
	// last Put. It is called only if every Put succeeded.
	Close(ctx context.Context) error
}

// ParallelTarget is a Target that accepts Put calls for regular files from
// several goroutines at once, once the Put of their directory has
// returned. Other entries still come one at a time, in order.
type ParallelTarget interface {
	Target
	Parallel() bool
}

// WriterAtTarget is a ParallelTarget that also takes a regular file's
// content in pieces, at any offset and in any order, from several
// goroutines: a restore then reads each stretch of stored data once and
// writes it wherever it belongs, instead of reading file after file.
type WriterAtTarget interface {
	ParallelTarget
	// Create starts regular file e, which has no Hardlink, in place of a
	// Put, once the Put of its directory has returned. It returns nil and
	// no error if the target leaves what is there (its content is then
	// not fetched). Create itself may be cheap and defer the work to the
	// first write; the file is complete only once Finish returned nil.
	Create(ctx context.Context, e *Entry) (FileWriter, error)
}

// FileWriter receives the content of one regular file of a restore.
// WriteAt may be called from several goroutines at once, for ranges that
// do not overlap; together they cover the file's size (a sparse file's
// all-zero ranges may be left out). Finish is called exactly once, after
// the last WriteAt has returned: with nil, the file gets its metadata and
// its name; with an error, what was written is removed. Finish returns
// the first error of the file's writes or its completion.
type FileWriter interface {
	io.WriterAt
	Finish(err error) error
}

// ReadBacker is a Target that can read back a regular file it wrote, so the
// restore can verify it.
type ReadBacker interface {
	ReadBack(ctx context.Context, path string) (io.ReadCloser, error)
}

// Sequential is a Source whose content can be read only in walk order,
// while the walk function runs for the entry (a tar stream, a pipe). The
// consumer reads each file before returning from the walk function.
type Sequential interface {
	Sequential()
}
