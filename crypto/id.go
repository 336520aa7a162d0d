package crypto

import (
	"encoding/hex"
	"fmt"

	"github.com/zeebo/blake3"
)

// IDSize is the length of an ID in bytes.
const IDSize = 32

// ID names a blob or a repository object: a BLAKE3-256 digest, keyed with the
// repository's ID key for blobs and unkeyed for files.
type ID [IDSize]byte

// Hash returns the unkeyed BLAKE3-256 digest of data. Repository files are
// named by it, so their integrity can be checked without any key.
func Hash(data []byte) ID {
	return ID(blake3.Sum256(data))
}

// ParseID parses the 64-character lower- or upper-case hex form of an ID.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*IDSize {
		return id, fmt.Errorf("invalid ID %q: want %d hex digits", s, 2*IDSize)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("invalid ID %q: %w", s, err)
	}
	return id, nil
}

// String returns the ID as 64 lower-case hex digits.
func (id ID) String() string {
	return hex.EncodeToString(id[:])
}

// Short returns the first 8 hex digits, for messages.
func (id ID) Short() string {
	return hex.EncodeToString(id[:4])
}

// IsZero reports whether id is the zero ID, which names nothing.
func (id ID) IsZero() bool {
	return id == ID{}
}

// MarshalText encodes the ID as hex, so IDs read naturally in JSON.
func (id ID) MarshalText() ([]byte, error) {
	return []byte(id.String()), nil
}

// UnmarshalText decodes the hex form written by MarshalText.
func (id *ID) UnmarshalText(text []byte) error {
	parsed, err := ParseID(string(text))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}
