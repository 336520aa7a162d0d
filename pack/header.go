package pack

import (
	"encoding/binary"
	"fmt"

	"github.com/cairnbackup/cairn/crypto"
)

const (
	// headerVersion is the first byte of a header's plaintext.
	headerVersion = 1
	// entrySize is one blob's record in the header: ID, sealed length, raw length.
	entrySize = crypto.IDSize + 4 + 4
	// headerPrefix is the version and type bytes before the entries.
	headerPrefix = 2
	// TrailerSize is the length field at the very end of a pack.
	TrailerSize = 4
	// MinBlobSize is the smallest sealed blob: a mode byte, nonce and tag.
	MinBlobSize = 1 + crypto.Overhead
	// MaxSize bounds a pack: blob offsets and lengths are 32-bit.
	MaxSize = 1<<32 - 1
)

// headerAD is the associated data of a sealed header.
var headerAD = []byte{'C', 'R', 'N', 'P', headerVersion}

// HeaderSize returns the sealed size of the header of a pack of n blobs,
// trailer included.
func HeaderSize(n int) int {
	return crypto.Overhead + headerPrefix + n*entrySize + TrailerSize
}

func marshalHeader(t BlobType, blobs []Blob) []byte {
	b := make([]byte, 0, headerPrefix+len(blobs)*entrySize)
	b = append(b, headerVersion, byte(t))
	for _, blob := range blobs {
		b = append(b, blob.ID[:]...)
		b = binary.LittleEndian.AppendUint32(b, blob.Length)
		b = binary.LittleEndian.AppendUint32(b, blob.RawLength)
	}
	return b
}

// parseHeader decodes a header's plaintext for a pack whose blobs take
// blobsSize bytes, checks that the blobs fill exactly that space, and derives
// the offsets.
func parseHeader(id crypto.ID, plain []byte, blobsSize int64) (BlobType, []Blob, error) {
	if len(plain) < headerPrefix {
		return 0, nil, corrupt(id, "header", "header of %d bytes", len(plain))
	}
	if plain[0] != headerVersion {
		return 0, nil, &Error{Pack: id, Op: "header",
			Err: fmt.Errorf("version %d: %w", plain[0], crypto.ErrUnsupportedVersion)}
	}
	t := BlobType(plain[1])
	if !t.Valid() {
		return 0, nil, corrupt(id, "header", "unknown blob type %d", plain[1])
	}
	entries := plain[headerPrefix:]
	if len(entries) == 0 || len(entries)%entrySize != 0 {
		return 0, nil, corrupt(id, "header", "entries of %d bytes", len(entries))
	}
	blobs := make([]Blob, len(entries)/entrySize)
	var offset int64
	for i := range blobs {
		e := entries[i*entrySize:]
		b := Blob{ID: crypto.ID(e[:crypto.IDSize]), Offset: uint32(offset),
			Length:    binary.LittleEndian.Uint32(e[crypto.IDSize:]),
			RawLength: binary.LittleEndian.Uint32(e[crypto.IDSize+4:])}
		if b.Length < MinBlobSize {
			return 0, nil, corrupt(id, "header", "blob %s of %d bytes", b.ID.Short(), b.Length)
		}
		offset += int64(b.Length)
		if offset > blobsSize {
			return 0, nil, corrupt(id, "header", "blobs extend past the header")
		}
		blobs[i] = b
	}
	if offset != blobsSize {
		return 0, nil, corrupt(id, "header", "blobs take %d bytes, pack has %d before the header", offset, blobsSize)
	}
	return t, blobs, nil
}
