package repo

import (
	"fmt"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
)

// Sentinel errors to branch on with errors.Is. They are the same values the
// lower layers use, so an error from any of them matches.
var (
	// ErrWrongPassword: no key file of the repository opens with the password.
	ErrWrongPassword = crypto.ErrWrongPassword
	// ErrCorrupt: an object failed authentication, its name hash, or parsing.
	ErrCorrupt = crypto.ErrCorrupt
	// ErrUnsupportedVersion: the repository or an object has a format
	// version this code does not know.
	ErrUnsupportedVersion = crypto.ErrUnsupportedVersion
	// ErrNotFound: a snapshot, blob, key or object does not exist.
	ErrNotFound = backend.ErrNotFound
	// ErrExists: Init found a repository already there.
	ErrExists = backend.ErrExists
)

// FileError is a problem with one repository file (config, key, index file,
// snapshot, pack). It names the file and wraps the cause.
type FileError struct {
	File backend.Handle
	Op   string // "load", "save", "decode", …
	Err  error
}

func (e *FileError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.File, e.Op, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// BlobError is a problem with one blob. It names the blob and, when known,
// the pack that holds it.
type BlobError struct {
	Blob pack.Handle
	Pack crypto.ID // zero when the blob is not in the index
	Err  error
}

func (e *BlobError) Error() string {
	if e.Pack.IsZero() {
		return fmt.Sprintf("%s: %v", e.Blob, e.Err)
	}
	return fmt.Sprintf("%s in pack %s: %v", e.Blob, e.Pack, e.Err)
}

func (e *BlobError) Unwrap() error { return e.Err }
