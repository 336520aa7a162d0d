package backend

import (
	"context"
	"io"
	"os"
)

// Spooler is a Backend that can store an object already written to a file
// of its own, without copying it. Package local gives a file with no name
// on the repository's file system and, to store it, gives it its name;
// packs written that way are never held in memory.
type Spooler interface {
	Backend
	// Spool returns a new empty file, open for reading and writing, for an
	// object of type t. Until SaveSpool it has no name: closing it, or the
	// process ending, frees it. Spool fails where the file system cannot
	// make such a file; the caller then builds the object in memory.
	Spool(t FileType) (*os.File, error)
	// SaveSpool makes the file the object h, durably, as Save would, and
	// closes it whatever happens. Like Save it fails with ErrExists if h
	// exists, leaving that object untouched.
	SaveSpool(ctx context.Context, h Handle, f *os.File) error
}

// Nearby is a Backend whose reads cost no round trip, such as a local
// disk: a blob read alone costs no more than read with its neighbours. A
// restore from it reads blobs one by one instead of holding whole packs.
type Nearby interface {
	Backend
	// Nearby reports whether reads are cheap; wrappers pass on what the
	// backend they wrap says.
	Nearby() bool
}

// IsNearby reports whether be is a Nearby backend that says so.
func IsNearby(be Backend) bool {
	n, ok := be.(Nearby)
	return ok && n.Nearby()
}

// SectionReader is a RewindReader over the first Length bytes of an
// io.ReaderAt, such as an *os.File.
type SectionReader struct {
	*io.SectionReader
}

// NewSectionReader returns a RewindReader over ra's first n bytes, which
// must not change while it is in use.
func NewSectionReader(ra io.ReaderAt, n int64) SectionReader {
	return SectionReader{io.NewSectionReader(ra, 0, n)}
}

// Length returns the section's size.
func (s SectionReader) Length() int64 { return s.Size() }

// Rewind starts again from the first byte.
func (s SectionReader) Rewind() error {
	_, err := s.Seek(0, io.SeekStart)
	return err
}
