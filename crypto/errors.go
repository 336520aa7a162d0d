package crypto

import "errors"

// Sentinel errors. Every layer of cairn wraps these values, so
// errors.Is(err, crypto.ErrCorrupt) and errors.Is(err, repo.ErrCorrupt) agree.
var (
	// ErrCorrupt means data failed authentication or is malformed: a flipped
	// bit, a truncated object, or data that was never written by cairn.
	ErrCorrupt = errors.New("corrupt or tampered data")

	// ErrWrongPassword means no key file could be opened with the password.
	ErrWrongPassword = errors.New("wrong password")

	// ErrUnsupportedVersion means an object uses a format version this code
	// does not know. It is never read as if it were a known version.
	ErrUnsupportedVersion = errors.New("unsupported format version")
)
