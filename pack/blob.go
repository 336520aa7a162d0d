package pack

import (
	"fmt"

	"github.com/cairnbackup/cairn/crypto"
)

// BlobType tells file content from directory listings. A pack holds blobs of
// one type only.
type BlobType uint8

// Blob types, as stored in pack headers and index files.
const (
	DataBlob BlobType = 0
	TreeBlob BlobType = 1
)

// Valid reports whether t is a known blob type.
func (t BlobType) Valid() bool { return t == DataBlob || t == TreeBlob }

func (t BlobType) String() string {
	switch t {
	case DataBlob:
		return "data"
	case TreeBlob:
		return "tree"
	}
	return fmt.Sprintf("BlobType(%d)", uint8(t))
}

// MarshalText writes "data" or "tree".
func (t BlobType) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("invalid blob type %d", uint8(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads "data" or "tree".
func (t *BlobType) UnmarshalText(b []byte) error {
	switch string(b) {
	case "data":
		*t = DataBlob
	case "tree":
		*t = TreeBlob
	default:
		return fmt.Errorf("invalid blob type %q", b)
	}
	return nil
}

// Handle names a blob: the same content stored as data and as tree are two blobs.
type Handle struct {
	Type BlobType
	ID   crypto.ID
}

func (h Handle) String() string {
	return h.Type.String() + " blob " + h.ID.String()
}

// blobAD is the associated data of a sealed blob: its type and ID, so a blob
// cannot be passed off as another blob or another type.
func blobAD(buf *[1 + crypto.IDSize]byte, h Handle) []byte {
	buf[0] = byte(h.Type)
	copy(buf[1:], h.ID[:])
	return buf[:]
}

// SealBlob seals a blob's plaintext (the mode byte and data) under its handle
// and appends nonce || ciphertext || tag to dst.
func SealBlob(dst []byte, k *crypto.Key, h Handle, plaintext []byte) []byte {
	var ad [1 + crypto.IDSize]byte
	return k.Seal(dst, plaintext, blobAD(&ad, h))
}

// OpenBlob authenticates a sealed blob and appends its plaintext to dst. A
// blob that was damaged or sealed under another handle wraps crypto.ErrCorrupt.
func OpenBlob(dst []byte, k *crypto.Key, h Handle, sealed []byte) ([]byte, error) {
	var ad [1 + crypto.IDSize]byte
	return k.Open(dst, sealed, blobAD(&ad, h))
}

// OpenBlobInPlace is OpenBlob decrypting into sealed's own storage, which
// it overwrites whether or not it succeeds.
func OpenBlobInPlace(k *crypto.Key, h Handle, sealed []byte) ([]byte, error) {
	var ad [1 + crypto.IDSize]byte
	if len(sealed) < crypto.NonceSize {
		return k.Open(nil, sealed, blobAD(&ad, h)) // too short: Open says so
	}
	return k.Open(sealed[crypto.NonceSize:crypto.NonceSize], sealed, blobAD(&ad, h))
}

// Blob locates one blob inside a pack. Offsets and lengths are limited to
// 32 bits: a pack is smaller than 4 GiB (see MaxPackSize).
type Blob struct {
	ID        crypto.ID
	Offset    uint32 // of the sealed blob from the start of the pack
	Length    uint32 // of the sealed blob: nonce, ciphertext and tag
	RawLength uint32 // of the data before compression
}
