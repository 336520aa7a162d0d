package pack

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/stretchr/testify/require"
)

func newKey(t testing.TB) *crypto.Key {
	k, err := crypto.NewRandomKey()
	require.NoError(t, err)
	return k
}

type testBlob struct {
	id    crypto.ID
	plain []byte
}

// buildPack writes n blobs of pseudo-random sizes and returns the pack bytes,
// its name and what went in.
func buildPack(t testing.TB, k *crypto.Key, typ BlobType, n int) ([]byte, crypto.ID, []testBlob) {
	var buf bytes.Buffer
	w := NewWriter(&buf, k, typ)
	r := rand.New(rand.NewPCG(uint64(n), 1))
	var blobs []testBlob
	for i := range n {
		plain := make([]byte, 1+r.IntN(3000))
		for j := range plain {
			plain[j] = byte(r.Uint32())
		}
		plain[0] = 0 // raw mode byte, as the repository writes it
		id := k.BlobID(plain[1:])
		require.NoError(t, w.Add(id, uint32(len(plain)-1), SealBlob(nil, k, Handle{typ, id}, plain)), "blob %d", i)
		blobs = append(blobs, testBlob{id, plain})
	}
	id, list, err := w.Finalize()
	require.NoError(t, err)
	require.Len(t, list, n)
	require.Equal(t, crypto.Hash(buf.Bytes()), id)
	return buf.Bytes(), id, blobs
}

func TestRoundTrip(t *testing.T) {
	k := newKey(t)
	for _, n := range []int{1, 2, 100, 2000} {
		for _, typ := range []BlobType{DataBlob, TreeBlob} {
			t.Run(fmt.Sprintf("%s/%d", typ, n), func(t *testing.T) {
				data, id, blobs := buildPack(t, k, typ, n)
				rd := bytes.NewReader(data)
				hdr, err := ReadHeader(rd, id, int64(len(data)), k)
				require.NoError(t, err)
				require.Equal(t, typ, hdr.Type)
				require.Len(t, hdr.Blobs, n)
				for i, b := range hdr.Blobs {
					require.Equal(t, blobs[i].id, b.ID)
					require.Equal(t, uint32(len(blobs[i].plain)-1), b.RawLength)
					plain, err := ReadBlob(nil, rd, id, typ, b, k)
					require.NoError(t, err)
					require.Equal(t, blobs[i].plain, plain)
				}
				require.NoError(t, CheckName(bytes.NewReader(data), id))
			})
		}
	}
}

func TestWriterRules(t *testing.T) {
	k := newKey(t)
	w := NewWriter(&bytes.Buffer{}, k, DataBlob)
	_, _, err := w.Finalize()
	require.Error(t, err, "an empty pack")
	require.Error(t, w.Add(crypto.ID{}, 0, make([]byte, MinBlobSize-1)), "a blob shorter than a sealed empty value")

	require.NoError(t, w.Add(crypto.ID{1}, 0, SealBlob(nil, k, Handle{DataBlob, crypto.ID{1}}, []byte{0})))
	require.Equal(t, 1, w.Count())
	require.Equal(t, int64(MinBlobSize), w.Size())
	_, _, err = w.Finalize()
	require.NoError(t, err)
	require.ErrorIs(t, w.Add(crypto.ID{2}, 0, make([]byte, MinBlobSize)), ErrFinalized)
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, fmt.Errorf("device full")
	}
	f.after--
	return len(p), nil
}

func TestWriterErrorIsSticky(t *testing.T) {
	k := newKey(t)
	w := NewWriter(&failWriter{after: 1}, k, DataBlob)
	blob := SealBlob(nil, k, Handle{DataBlob, crypto.ID{1}}, []byte{0})
	require.NoError(t, w.Add(crypto.ID{1}, 0, blob))
	err := w.Add(crypto.ID{2}, 0, blob)
	require.ErrorContains(t, err, "device full")
	require.Equal(t, err, w.Add(crypto.ID{3}, 0, blob))
	_, _, err2 := w.Finalize()
	require.Equal(t, err, err2)
}

func TestFlippedBitIsCorruptAndNamesPack(t *testing.T) {
	k := newKey(t)
	data, id, _ := buildPack(t, k, TreeBlob, 3)
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 1 << (i % 8)
		rd := bytes.NewReader(bad)
		hdr, err := ReadHeader(rd, id, int64(len(bad)), k)
		if err == nil {
			// The header survived, so the flip is in a blob: reading that
			// blob must fail.
			var failed int
			for _, b := range hdr.Blobs {
				if _, err := ReadBlob(nil, rd, id, TreeBlob, b, k); err != nil {
					require.ErrorIs(t, err, crypto.ErrCorrupt)
					require.ErrorContains(t, err, id.String())
					failed++
				}
			}
			require.Equal(t, 1, failed, "flip at byte %d", i)
		} else {
			require.ErrorIs(t, err, crypto.ErrCorrupt, "flip at byte %d", i)
			require.ErrorContains(t, err, "pack "+id.String())
		}
		require.ErrorIs(t, CheckName(bytes.NewReader(bad), id), crypto.ErrCorrupt)
	}
}

func TestTruncatedPackIsCorrupt(t *testing.T) {
	k := newKey(t)
	data, id, _ := buildPack(t, k, DataBlob, 5)
	for n := 0; n < len(data); n++ {
		_, err := ReadHeader(bytes.NewReader(data[:n]), id, int64(n), k)
		require.ErrorIs(t, err, crypto.ErrCorrupt, "truncated to %d bytes", n)
		require.ErrorContains(t, err, id.String())
	}
	// A reader whose object is shorter than the size it claims.
	_, err := ReadHeader(bytes.NewReader(data[:len(data)/2]), id, int64(len(data)), k)
	require.Error(t, err)
	require.ErrorContains(t, err, id.String())
}

func TestWrongKeyIsCorrupt(t *testing.T) {
	data, id, _ := buildPack(t, newKey(t), DataBlob, 2)
	_, err := ReadHeader(bytes.NewReader(data), id, int64(len(data)), newKey(t))
	require.ErrorIs(t, err, crypto.ErrCorrupt)
}

func TestBlobSealedUnderOtherHandleIsRejected(t *testing.T) {
	k := newKey(t)
	sealed := SealBlob(nil, k, Handle{DataBlob, crypto.ID{1}}, []byte{0, 'x'})
	_, err := OpenBlob(nil, k, Handle{TreeBlob, crypto.ID{1}}, sealed)
	require.ErrorIs(t, err, crypto.ErrCorrupt)
	_, err = OpenBlob(nil, k, Handle{DataBlob, crypto.ID{2}}, sealed)
	require.ErrorIs(t, err, crypto.ErrCorrupt)
}

func TestOpenBlobInPlace(t *testing.T) {
	k := newKey(t)
	h := Handle{DataBlob, crypto.ID{3}}
	sealed := SealBlob(nil, k, h, []byte{0, 'a', 'b', 'c'})
	want, err := OpenBlob(nil, k, h, sealed)
	require.NoError(t, err)
	got, err := OpenBlobInPlace(k, h, bytes.Clone(sealed))
	require.NoError(t, err)
	require.Equal(t, want, got)

	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	_, err = OpenBlobInPlace(k, h, tampered)
	require.ErrorIs(t, err, crypto.ErrCorrupt)
	_, err = OpenBlobInPlace(k, h, sealed[:crypto.NonceSize-1])
	require.ErrorIs(t, err, crypto.ErrCorrupt)
}

func FuzzOpenBlobInPlace(f *testing.F) {
	h := Handle{DataBlob, crypto.ID{4}}
	f.Add(SealBlob(nil, fuzzKey, h, []byte{0, 'x'}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, sealed []byte) {
		want, werr := OpenBlob(nil, fuzzKey, h, sealed)
		got, gerr := OpenBlobInPlace(fuzzKey, h, bytes.Clone(sealed))
		if (werr == nil) != (gerr == nil) || !bytes.Equal(want, got) {
			t.Fatalf("in place: %x, %v; copied: %x, %v", got, gerr, want, werr)
		}
	})
}

func TestHeaderRejectsMismatchedLayout(t *testing.T) {
	id := crypto.ID{9}
	entry := func(length uint32) []byte {
		b := make([]byte, entrySize)
		binary.LittleEndian.PutUint32(b[crypto.IDSize:], length)
		return b
	}
	ok := append([]byte{headerVersion, byte(DataBlob)}, entry(100)...)
	_, blobs, err := parseHeader(id, ok, 100)
	require.NoError(t, err)
	require.Equal(t, uint32(100), blobs[0].Length)

	for name, tc := range map[string]struct {
		plain []byte
		size  int64
	}{
		"short":        {[]byte{headerVersion}, 0},
		"no entries":   {[]byte{headerVersion, 0}, 0},
		"partial":      {append(bytes.Clone(ok), 1), 100},
		"bad type":     {append([]byte{headerVersion, 7}, entry(100)...), 100},
		"tiny blob":    {append([]byte{headerVersion, 0}, entry(3)...), 3},
		"gap":          {ok, 101},
		"overlap":      {ok, 99},
		"version zero": {append([]byte{0, 0}, entry(100)...), 100},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := parseHeader(id, tc.plain, tc.size)
			require.Error(t, err)
			require.ErrorContains(t, err, id.String())
		})
	}
	_, _, err = parseHeader(id, append([]byte{2, 0}, entry(100)...), 100)
	require.ErrorIs(t, err, crypto.ErrUnsupportedVersion)
}

func TestHeaderLargerThanTail(t *testing.T) {
	k := newKey(t)
	n := TailSize/entrySize + 10
	data, id, _ := buildPack(t, k, DataBlob, n)
	hdr, err := ReadHeader(bytes.NewReader(data), id, int64(len(data)), k)
	require.NoError(t, err)
	require.Len(t, hdr.Blobs, n)
}
