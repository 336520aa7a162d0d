package pack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/zeebo/blake3"
)

// TailSize is how many bytes at the end of a pack ReadHeader asks for first.
// Most headers fit, so one range request usually reads a whole header.
const TailSize = 64 << 10

// Header is the decoded header of a pack.
type Header struct {
	Type  BlobType
	Blobs []Blob // in file order
}

// ReadHeader reads, authenticates and checks the header of the pack id, which
// is size bytes long, from rd. Every error names the pack; damage wraps
// crypto.ErrCorrupt.
func ReadHeader(rd io.ReaderAt, id crypto.ID, size int64, k *crypto.Key) (*Header, error) {
	if size < int64(MinBlobSize+HeaderSize(1)) {
		return nil, corrupt(id, "header", "pack of %d bytes is too short", size)
	}
	tail := make([]byte, min(size, TailSize))
	if err := readAt(rd, tail, size-int64(len(tail))); err != nil {
		return nil, &Error{Pack: id, Op: "read header", Err: err}
	}
	hdrLen := int64(binary.LittleEndian.Uint32(tail[len(tail)-TrailerSize:]))
	if hdrLen < int64(HeaderSize(1)-TrailerSize) || hdrLen > size-TrailerSize-MinBlobSize {
		return nil, corrupt(id, "header", "header length %d in a pack of %d bytes", hdrLen, size)
	}
	blobsSize := size - TrailerSize - hdrLen
	if blobsSize > MaxSize {
		return nil, corrupt(id, "header", "blobs of %d bytes", blobsSize)
	}
	sealed := tail[:len(tail)-TrailerSize]
	if int64(len(sealed)) >= hdrLen {
		sealed = sealed[int64(len(sealed))-hdrLen:]
	} else {
		sealed = make([]byte, hdrLen)
		if err := readAt(rd, sealed, blobsSize); err != nil {
			return nil, &Error{Pack: id, Op: "read header", Err: err}
		}
	}
	plain, err := k.Open(nil, sealed, headerAD)
	if err != nil {
		return nil, &Error{Pack: id, Op: "header", Err: err}
	}
	t, blobs, err := parseHeader(id, plain, blobsSize)
	if err != nil {
		return nil, err
	}
	return &Header{Type: t, Blobs: blobs}, nil
}

// ReadBlob reads the sealed blob b of the pack id from rd, authenticates it as
// (t, b.ID) and appends its plaintext (mode byte and data) to dst.
func ReadBlob(dst []byte, rd io.ReaderAt, id crypto.ID, t BlobType, b Blob, k *crypto.Key) ([]byte, error) {
	sealed := make([]byte, b.Length)
	if err := readAt(rd, sealed, int64(b.Offset)); err != nil {
		return nil, &Error{Pack: id, Op: "read " + Handle{t, b.ID}.String(), Err: err}
	}
	plain, err := OpenBlob(dst, k, Handle{t, b.ID}, sealed)
	if err != nil {
		return nil, &Error{Pack: id, Op: Handle{t, b.ID}.String(), Err: err}
	}
	return plain, nil
}

// CheckName hashes a whole pack from rd and verifies that it is named id.
func CheckName(rd io.Reader, id crypto.ID) error {
	h := blake3.New()
	if _, err := io.Copy(h, rd); err != nil {
		return &Error{Pack: id, Op: "read", Err: err}
	}
	var sum crypto.ID
	h.Sum(sum[:0])
	if sum != id {
		return corrupt(id, "name", "content hashes to %s", sum)
	}
	return nil
}

// readAt fills p from offset; a short object is io.ErrUnexpectedEOF.
func readAt(rd io.ReaderAt, p []byte, off int64) error {
	n, err := rd.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("read %d of %d bytes at offset %d: %w", n, len(p), off, io.ErrUnexpectedEOF)
	}
	return err
}
