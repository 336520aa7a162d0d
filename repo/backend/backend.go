// Package backend defines where a repository's objects live: the small
// Backend interface every store implements, the conformance suite they all
// pass (package backendtest) and the implementations that ship with cairn
// (local, mem, and wrappers such as fault injection).
//
// A backend stores opaque, immutable objects by (type, name). It knows nothing
// about encryption or the meaning of the bytes. Saves are atomic: an object is
// either absent or complete, never partly written, even after a crash. An
// object is never overwritten in place.
package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// FileType is the kind of a stored object; it selects the object's folder.
type FileType uint8

// The object kinds of a repository. See FORMAT.md for their layout.
const (
	ConfigFile   FileType = iota + 1 // "config", the one repository configuration
	KeyFile                          // "keys/<name>"
	PackFile                         // "data/<first two hex digits>/<name>"
	IndexFile                        // "index/<name>"
	SnapshotFile                     // "snapshots/<name>"
	LockFile                         // "locks/<name>"
)

// FileTypes lists every FileType, in folder order.
var FileTypes = []FileType{ConfigFile, KeyFile, PackFile, IndexFile, SnapshotFile, LockFile}

// String returns the type's folder name ("config" for ConfigFile).
func (t FileType) String() string {
	switch t {
	case ConfigFile:
		return "config"
	case KeyFile:
		return "keys"
	case PackFile:
		return "data"
	case IndexFile:
		return "index"
	case SnapshotFile:
		return "snapshots"
	case LockFile:
		return "locks"
	}
	return fmt.Sprintf("FileType(%d)", uint8(t))
}

// Handle names one object. The config object has an empty Name.
type Handle struct {
	Type FileType
	Name string
}

func (h Handle) String() string {
	if h.Type == ConfigFile {
		return "config"
	}
	return h.Type.String() + "/" + h.Name
}

// Valid reports whether the handle can name an object: a known type, and a
// name of lower-case hex digits (at least two) for everything but config.
func (h Handle) Valid() error {
	switch {
	case h.Type == ConfigFile && h.Name == "":
		return nil
	case h.Type < ConfigFile || h.Type > LockFile:
		return fmt.Errorf("invalid handle %v: unknown type", h)
	case h.Type == ConfigFile || len(h.Name) < 2:
		return fmt.Errorf("invalid handle %v: bad name", h)
	}
	for _, c := range h.Name {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("invalid handle %v: name is not lower-case hex", h)
		}
	}
	return nil
}

// FileInfo describes a stored object.
type FileInfo struct {
	Name string
	Size int64
}

// Sentinel errors that callers branch on.
var (
	// ErrNotFound means the object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means Save was asked to create an object that already exists.
	ErrExists = errors.New("already exists")
)

// Permanent marks err as an error that no retry can get past, such as a
// refused credential or a missing permission, so that a retrying wrapper
// (package retry) returns it at once instead of trying again. The result
// wraps err, keeping its message and errors.Is and errors.As matches.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked by
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Backend stores a repository's objects. Implementations are safe for
// concurrent use. Every error that means "no such object" wraps ErrNotFound.
type Backend interface {
	// Save stores the object atomically from rd. It fails with ErrExists if
	// the object is already there and leaves the existing object untouched.
	Save(ctx context.Context, h Handle, rd RewindReader) error

	// Load calls fn with a reader of length bytes of the object from offset
	// (length 0: to the end). A short object is an error wrapping
	// io.ErrUnexpectedEOF. fn may be called again after a retry, so it must
	// not keep state from an earlier call.
	Load(ctx context.Context, h Handle, length int, offset int64, fn func(rd io.Reader) error) error

	// Stat returns the object's size.
	Stat(ctx context.Context, h Handle) (FileInfo, error)

	// List calls fn for every object of type t, in no particular order. For
	// ConfigFile it lists the config object if it exists.
	List(ctx context.Context, t FileType, fn func(FileInfo) error) error

	// Remove deletes the object.
	Remove(ctx context.Context, h Handle) error
}

// RewindReader is what Save reads from: it knows its length and can start
// again, so a save can be retried.
type RewindReader interface {
	io.Reader
	// Length is the total number of bytes the reader yields.
	Length() int64
	// Rewind starts the reader again from its first byte.
	Rewind() error
}

// ByteReader is a RewindReader over a byte slice.
type ByteReader struct {
	*bytes.Reader
	data []byte
}

// NewByteReader returns a RewindReader over data, which must not change while
// it is in use.
func NewByteReader(data []byte) *ByteReader {
	return &ByteReader{Reader: bytes.NewReader(data), data: data}
}

// Length returns len(data).
func (b *ByteReader) Length() int64 { return int64(len(b.data)) }

// Rewind starts again from the first byte.
func (b *ByteReader) Rewind() error {
	_, err := b.Seek(0, io.SeekStart)
	return err
}

// Bytes returns the whole slice; Save implementations may use it to avoid a copy.
func (b *ByteReader) Bytes() []byte { return b.data }

// LoadAll reads a whole object into memory.
func LoadAll(ctx context.Context, be Backend, h Handle) ([]byte, error) {
	var data []byte
	err := be.Load(ctx, h, 0, 0, func(rd io.Reader) error {
		var err error
		data, err = io.ReadAll(rd)
		return err
	})
	return data, err
}
