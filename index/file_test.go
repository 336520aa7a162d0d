package index

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/cairnbackup/cairn/internal/envelope"
	"github.com/cairnbackup/cairn/pack"
	"github.com/stretchr/testify/require"
)

func newKey(t testing.TB) *crypto.Key {
	k, err := crypto.NewRandomKey()
	require.NoError(t, err)
	return k
}

func randomID(r *rand.Rand) crypto.ID {
	var id crypto.ID
	for i := 0; i < len(id); i += 8 {
		binary.LittleEndian.PutUint64(id[i:], r.Uint64())
	}
	return id
}

// randomFile returns a file of npacks packs of blobsPerPack blobs each, with
// every tenth pack a condemned tree pack.
func randomFile(r *rand.Rand, npacks, blobsPerPack int) *File {
	f := &File{Created: time.Unix(1700000000, 123456789).UTC()}
	for i := range npacks {
		p := Pack{ID: randomID(r), Type: pack.DataBlob}
		if i%10 == 9 {
			p.Type, p.Condemned = pack.TreeBlob, true
		}
		var off uint32
		for range blobsPerPack {
			n := 41 + r.Uint32N(1<<20)
			p.Blobs = append(p.Blobs, pack.Blob{ID: randomID(r), Offset: off, Length: n, RawLength: n + r.Uint32N(1000)})
			off += n
		}
		f.Packs = append(f.Packs, p)
	}
	return f
}

func TestFileRoundTrip(t *testing.T) {
	k := newKey(t)
	r := rand.New(rand.NewPCG(1, 2))
	full := randomFile(r, 50, 30)
	full.Supersedes = []crypto.ID{randomID(r), randomID(r)}
	// Random IDs keep the payload from compressing below 256 bytes; see
	// TestTinyFileRoundTrip.
	edges := &File{Created: time.Unix(0, -5).UTC(), Packs: []Pack{{ID: randomID(r), Type: pack.TreeBlob,
		Blobs: []pack.Blob{{ID: randomID(r), Offset: 1<<32 - 1, Length: 1, RawLength: 1<<32 - 1}, {ID: randomID(r)}}}}}
	for name, f := range map[string]*File{
		"empty": {Created: time.Unix(0, 0).UTC()},
		"full":  full,
		"edges": edges,
	} {
		t.Run(name, func(t *testing.T) {
			data, err := f.Encode(k)
			require.NoError(t, err)
			got, err := Decode(k, data)
			require.NoError(t, err)
			require.Equal(t, f, got)
			require.Equal(t, f.marshal(), got.marshal(), "the payload is canonical")
		})
	}
}

// TestTinyFileRoundTrip covers a payload that zstd shrinks to a frame under
// 256 bytes. klauspost/compress omits the content size of such frames unless
// single-segment mode is on, and compress.Decode refuses frames without one.
func TestTinyFileRoundTrip(t *testing.T) {
	k := newKey(t)
	f := &File{Created: time.Unix(0, 0).UTC(), Packs: []Pack{{ID: crypto.ID{1},
		Blobs: []pack.Blob{{ID: crypto.ID{2}, Length: 50}, {ID: crypto.ID{3}, Length: 50}}}}}
	data, err := f.Encode(k)
	require.NoError(t, err)
	got, err := Decode(k, data)
	require.NoError(t, err)
	require.Equal(t, f, got)
}

func TestEncodeRefusesInvalid(t *testing.T) {
	k := newKey(t)
	blob := pack.Blob{ID: crypto.ID{9}, Length: 50}
	ok := Pack{ID: crypto.ID{1}, Blobs: []pack.Blob{blob}}
	for name, f := range map[string]*File{
		"time":       {Created: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)},
		"zero time":  {},
		"sup twice":  {Created: time.Now(), Supersedes: []crypto.ID{{1}, {1}}},
		"pack twice": {Created: time.Now(), Packs: []Pack{ok, ok}},
		"no blobs":   {Created: time.Now(), Packs: []Pack{{ID: crypto.ID{1}}}},
		"type":       {Created: time.Now(), Packs: []Pack{{ID: crypto.ID{1}, Type: 2, Blobs: []pack.Blob{blob}}}},
		"blob twice": {Created: time.Now(), Packs: []Pack{{ID: crypto.ID{1}, Blobs: []pack.Blob{blob, blob}}}},
		"past 4 GiB": {Created: time.Now(), Packs: []Pack{{ID: crypto.ID{1}, Blobs: []pack.Blob{{Offset: 1 << 31, Length: 1<<31 + 1}}}}},
		"just past":  {Created: time.Now(), Packs: []Pack{{ID: crypto.ID{1}, Blobs: []pack.Blob{{Offset: 2, Length: 1<<32 - 1}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.Encode(k)
			require.Error(t, err)
		})
	}
}

func TestDecodeDamaged(t *testing.T) {
	k := newKey(t)
	f := randomFile(rand.New(rand.NewPCG(3, 4)), 3, 5)
	data, err := f.Encode(k)
	require.NoError(t, err)
	for i := range data {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(data)
			bad[i] ^= bit
			_, err := Decode(k, bad)
			if i == 4 { // the envelope version
				require.ErrorIs(t, err, crypto.ErrUnsupportedVersion)
			} else {
				require.ErrorIs(t, err, crypto.ErrCorrupt, "flip %#x at %d", bit, i)
			}
		}
	}
	for n := range data {
		_, err := Decode(k, data[:n])
		require.ErrorIs(t, err, crypto.ErrCorrupt, "truncated to %d", n)
	}
	_, err = Decode(newKey(t), data)
	require.ErrorIs(t, err, crypto.ErrCorrupt, "wrong key")
	_, err = Decode(k, envelope.Seal(k, envelope.Snapshot, f.marshal(), compress.Default))
	require.ErrorIs(t, err, crypto.ErrCorrupt, "other kind")
	_, err = Decode(k, append(data, 0))
	require.ErrorIs(t, err, crypto.ErrCorrupt, "appended byte")
}

// payload builds a payload by hand: created, then the given pieces.
func payload(pieces ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, 42)
	for _, p := range pieces {
		b = append(b, p...)
	}
	return b
}

func rep(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

func TestParseStrict(t *testing.T) {
	id := func(b byte) []byte { return rep(b, 32) }
	blob := func(b byte, vals ...byte) []byte { return append(id(b), vals...) }
	good := payload([]byte{0, 1}, id(1), []byte{0, 0, 1}, blob(2, 0, 50, 60))
	_, err := parse(good)
	require.NoError(t, err)

	for _, tc := range []struct {
		name, msg string
		data      []byte
	}{
		{"short", "payload of 3 bytes", []byte{1, 2, 3}},
		{"trailing", "1 bytes after the last pack", append(bytes.Clone(good), 0)},
		{"no pack count", "packs: truncated uvarint", payload([]byte{0})},
		{"sup count too big", "superseded files: count 2", payload([]byte{2}, id(1), []byte{0})},
		{"sup twice", "superseded file 01010101 listed twice", payload([]byte{2}, id(1), id(1), []byte{0})},
		{"pack count too big", "packs: count 1 does not fit", payload([]byte{0, 1}, id(1), []byte{0, 0, 1}, id(2))},
		{"huge count", "packs: uvarint exceeds 32 bits", payload([]byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
		{"count past 32 bits", "exceeds 32 bits", payload([]byte{0, 0x80, 0x80, 0x80, 0x80, 0x10})},
		{"non-minimal", "not minimally encoded", payload([]byte{0, 0x81, 0x00})},
		{"type", "pack 01010101: unknown blob type 2", payload([]byte{0, 1}, id(1), []byte{2, 0, 1}, blob(2, 0, 50, 60))},
		{"flags", "pack 01010101: unknown flags 0x02", payload([]byte{0, 1}, id(1), []byte{0, 2, 1}, blob(2, 0, 50, 60))},
		{"no blobs", "pack 01010101: no blobs", payload([]byte{0, 1}, id(1), []byte{0, 0, 0}, rep(0, 35))},
		{"blob count", "pack 01010101: blob count: count 2", payload([]byte{0, 1}, id(1), []byte{0, 0, 2}, blob(2, 0, 50, 60))},
		{"blob twice", "pack 01010101: blob 02020202 listed twice",
			payload([]byte{0, 1}, id(1), []byte{0, 0, 2}, blob(2, 0, 50, 60), blob(2, 50, 50, 60))},
		{"pack twice", "pack 01010101 listed twice",
			payload([]byte{0, 2}, id(1), []byte{0, 0, 1}, blob(2, 0, 50, 60), id(1), []byte{1, 0, 1}, blob(3, 0, 50, 60))},
		{"offset", "pack 01010101: blob 02020202: offset 4294967295 + length 2 exceeds 4 GiB",
			payload([]byte{0, 1}, id(1), []byte{0, 0, 1}, blob(2, 0xff, 0xff, 0xff, 0xff, 0x0f, 2, 60))},
		{"raw length", "pack 01010101: blob 02020202: raw length: uvarint 8589934591 exceeds 32 bits",
			payload([]byte{0, 1}, id(1), []byte{0, 0, 1}, blob(2, 0, 50, 0xff, 0xff, 0xff, 0xff, 0x1f))},
		{"truncated blob", "pack 01010101: blob 02020202: offset: truncated uvarint",
			payload([]byte{0, 1}, id(1), []byte{0, 0, 1}, blob(2, 0x80, 0x80, 0x80))},
		{"second pack truncated", "pack 1 of 2: truncated",
			payload([]byte{0, 2}, id(1), []byte{0, 0, 3}, blob(2, 0, 50, 60), blob(3, 50, 50, 60), blob(4, 100, 50, 60), id(5)[:30])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.data)
			require.ErrorIs(t, err, crypto.ErrCorrupt)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestLive(t *testing.T) {
	a, b, c, d := crypto.ID{1}, crypto.ID{2}, crypto.ID{3}, crypto.ID{4}
	files := map[crypto.ID]*File{
		a: {},
		b: {Supersedes: []crypto.ID{a, {9}}}, // {9} is gone already
		c: {Supersedes: []crypto.ID{b, c}},   // a file cannot retire itself
		d: {},
	}
	require.Equal(t, []crypto.ID{c, d}, Live(files))
	require.Empty(t, Live(nil))
}
