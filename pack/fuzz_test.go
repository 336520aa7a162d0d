package pack

import (
	"bytes"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
)

// FuzzParseHeader feeds arbitrary plaintext to the header parser, the code
// that interprets a header once it is authenticated.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{headerVersion, 0}, int64(0))
	f.Add(marshalHeader(DataBlob, []Blob{{Length: 50}, {Length: 60}}), int64(110))
	f.Add(marshalHeader(TreeBlob, []Blob{{Length: 1 << 31}}), int64(1<<31))
	f.Fuzz(func(t *testing.T, plain []byte, size int64) {
		typ, blobs, err := parseHeader(crypto.ID{}, plain, size)
		if err != nil {
			return
		}
		if !typ.Valid() || len(blobs) == 0 {
			t.Fatalf("accepted type %d with %d blobs", typ, len(blobs))
		}
		var end int64
		for _, b := range blobs {
			if int64(b.Offset) != end || b.Length < MinBlobSize {
				t.Fatalf("bad blob %+v", b)
			}
			end += int64(b.Length)
		}
		if end != size {
			t.Fatalf("blobs end at %d, want %d", end, size)
		}
	})
}

var fuzzKey, _ = crypto.NewRandomKey()

// FuzzReadHeader feeds arbitrary packs, valid ones among the seeds, to the
// full header reader.
func FuzzReadHeader(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf, fuzzKey, DataBlob)
	plain := []byte{0, 'h', 'i'}
	id := fuzzKey.BlobID(plain[1:])
	if err := w.Add(id, 2, SealBlob(nil, fuzzKey, Handle{DataBlob, id}, plain)); err != nil {
		f.Fatal(err)
	}
	if _, _, err := w.Finalize(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		hdr, err := ReadHeader(bytes.NewReader(data), crypto.ID{}, int64(len(data)), fuzzKey)
		if err != nil {
			return
		}
		// Blobs inside an authenticated header must be readable without a
		// panic; in the untouched seed pack they must also authenticate.
		for _, b := range hdr.Blobs {
			_, err := ReadBlob(nil, bytes.NewReader(data), crypto.ID{}, hdr.Type, b, fuzzKey)
			if err != nil && bytes.Equal(data, buf.Bytes()) {
				t.Fatalf("seed pack: %v", err)
			}
		}
	})
}
