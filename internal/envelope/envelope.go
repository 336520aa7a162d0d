// Package envelope seals the repository files that are not packs: config,
// index files, snapshots and locks. A sealed file is
//
//	magic (4 bytes, one per kind) || version (1 byte) ||
//	nonce || XChaCha20-Poly1305(mode byte || payload) || tag
//
// with the five header bytes as associated data, so a file cannot be passed
// off as another kind or version. See FORMAT.md.
package envelope

import (
	"fmt"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/compress"
)

// Kind is the four-byte magic that starts a sealed file of one kind.
type Kind [4]byte

// The kinds of sealed files.
var (
	Config   = Kind{'C', 'R', 'N', 'C'}
	Index    = Kind{'C', 'R', 'N', 'I'}
	Snapshot = Kind{'C', 'R', 'N', 'S'}
	Lock     = Kind{'C', 'R', 'N', 'L'}
)

// Version is the only envelope version this code writes and reads.
const Version = 1

// HeaderSize is the length of magic and version.
const HeaderSize = 5

func header(kind Kind) []byte {
	return append(kind[:], Version)
}

// Seal compresses payload at level and seals it as a file of the given kind.
func Seal(k *crypto.Key, kind Kind, payload []byte, level compress.Level) []byte {
	plain := compress.Append(nil, payload, level)
	return k.Seal(header(kind), plain, header(kind))
}

// Open authenticates a sealed file of the given kind and returns its payload,
// which must not decode to more than limit bytes. A file of another kind or a
// damaged file wraps crypto.ErrCorrupt; another version wraps
// crypto.ErrUnsupportedVersion.
func Open(k *crypto.Key, kind Kind, data []byte, limit int) ([]byte, error) {
	if err := CheckHeader(kind, data); err != nil {
		return nil, err
	}
	plain, err := k.Open(nil, data[HeaderSize:], data[:HeaderSize])
	if err != nil {
		return nil, err
	}
	payload, err := compress.Decode(nil, plain, limit)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, crypto.ErrCorrupt)
	}
	return payload, nil
}

// CheckHeader verifies magic and version without a key.
func CheckHeader(kind Kind, data []byte) error {
	if len(data) < HeaderSize || Kind(data[:4]) != kind {
		return fmt.Errorf("not a %s file: %w", kind.name(), crypto.ErrCorrupt)
	}
	if data[4] != Version {
		return fmt.Errorf("%s file version %d: %w", kind.name(), data[4], crypto.ErrUnsupportedVersion)
	}
	return nil
}

func (k Kind) name() string {
	switch k {
	case Config:
		return "config"
	case Index:
		return "index"
	case Snapshot:
		return "snapshot"
	case Lock:
		return "lock"
	}
	return fmt.Sprintf("%q", k[:])
}
