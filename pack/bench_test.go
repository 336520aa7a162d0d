package pack

import (
	"bytes"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
)

// BenchmarkWriter measures pack writing alone (hashing and header sealing):
// 16 sealed blobs of 1 MiB per pack.
func BenchmarkWriter(b *testing.B) {
	k := newKey(b)
	sealed := SealBlob(nil, k, Handle{DataBlob, crypto.ID{1}}, make([]byte, 1<<20))
	var buf bytes.Buffer
	b.SetBytes(16 * int64(len(sealed)))
	for b.Loop() {
		buf.Reset()
		w := NewWriter(&buf, k, DataBlob)
		for i := range 16 {
			if err := w.Add(crypto.ID{byte(i)}, 1<<20, sealed); err != nil {
				b.Fatal(err)
			}
		}
		if _, _, err := w.Finalize(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadHeader(b *testing.B) {
	k := newKey(b)
	data, id, _ := buildPack(b, k, DataBlob, 1000)
	for b.Loop() {
		if _, err := ReadHeader(bytes.NewReader(data), id, int64(len(data)), k); err != nil {
			b.Fatal(err)
		}
	}
}
