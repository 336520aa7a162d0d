package pack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/zeebo/blake3"
)

// ErrFinalized is returned by a Writer used after Finalize.
var ErrFinalized = errors.New("pack: writer already finalized")

// Writer appends sealed blobs of one type to a pack and finishes it with the
// header. Its errors are sticky: after a failed write every later call
// returns the same error, so a half-written pack is never finalized. A Writer
// is not safe for concurrent use.
type Writer struct {
	w     io.Writer
	key   *crypto.Key
	typ   BlobType
	hash  *blake3.Hasher
	blobs []Blob
	size  int64
	err   error
}

// NewWriter returns a Writer that writes a pack of blobs of type t to w.
func NewWriter(w io.Writer, k *crypto.Key, t BlobType) *Writer {
	return &Writer{w: w, key: k, typ: t, hash: blake3.New()}
}

// Add appends a blob sealed by SealBlob under (the writer's type, id);
// rawLength is the length of the blob's data before compression.
func (w *Writer) Add(id crypto.ID, rawLength uint32, sealed []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(sealed) < MinBlobSize {
		return fmt.Errorf("pack: sealed blob %s of %d bytes is too short", id.Short(), len(sealed))
	}
	if w.size+int64(len(sealed)) > MaxSize {
		return fmt.Errorf("pack: blob %s would grow the pack past %d bytes", id.Short(), int64(MaxSize))
	}
	if err := w.write(sealed); err != nil {
		return err
	}
	w.blobs = append(w.blobs, Blob{ID: id, Offset: uint32(w.size), Length: uint32(len(sealed)), RawLength: rawLength})
	w.size += int64(len(sealed))
	return nil
}

// Size returns the number of bytes written so far, without the header.
func (w *Writer) Size() int64 { return w.size }

// Count returns the number of blobs added so far.
func (w *Writer) Count() int { return len(w.blobs) }

// Type returns the type of the blobs in the pack.
func (w *Writer) Type() BlobType { return w.typ }

// Finalize writes the sealed header and its length and returns the pack's
// name (the BLAKE3-256 digest of everything written) and its blobs in file
// order. A pack needs at least one blob.
func (w *Writer) Finalize() (crypto.ID, []Blob, error) {
	if w.err != nil {
		return crypto.ID{}, nil, w.err
	}
	if len(w.blobs) == 0 {
		return crypto.ID{}, nil, errors.New("pack: no blobs to finalize")
	}
	hdr := w.key.Seal(nil, marshalHeader(w.typ, w.blobs), headerAD)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(hdr)))
	if err := w.write(hdr); err != nil {
		return crypto.ID{}, nil, err
	}
	var id crypto.ID
	w.hash.Sum(id[:0])
	w.err = ErrFinalized
	return id, w.blobs, nil
}

func (w *Writer) write(p []byte) error {
	if _, err := w.w.Write(p); err != nil {
		w.err = fmt.Errorf("pack: write: %w", err)
		return w.err
	}
	w.hash.Write(p)
	return nil
}
