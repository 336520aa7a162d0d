package backendtest

import (
	"io"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/stretchr/testify/require"
)

func testSaveLoad(t *testing.T, be backend.Backend) {
	for _, typ := range backend.FileTypes {
		h := randomHandle(t, typ)
		data := randomBytes(t, 1000+int(typ))
		save(t, be, h, data)
		requireContent(t, be, h, data)

		all, err := backend.LoadAll(t.Context(), be, h)
		require.NoError(t, err)
		requireBytes(t, data, all, "LoadAll %v", h)
	}

	// The shortest valid name: a pack named by two digits is in its own
	// fan-out folder.
	h := backend.Handle{Type: backend.PackFile, Name: "ab"}
	save(t, be, h, []byte("short name"))
	requireContent(t, be, h, []byte("short name"))
}

func testLoadRange(t *testing.T, be backend.Backend) {
	const size = 1000
	data := randomBytes(t, size)
	h := randomHandle(t, backend.PackFile)
	save(t, be, h, data)

	tests := []struct {
		name    string
		length  int
		offset  int64
		want    []byte // when ok
		ok, eof bool   // eof: the error wraps io.ErrUnexpectedEOF
	}{
		{name: "whole", length: 0, offset: 0, want: data, ok: true},
		{name: "whole explicit", length: size, offset: 0, want: data, ok: true},
		{name: "head", length: 10, offset: 0, want: data[:10], ok: true},
		{name: "middle", length: 100, offset: 450, want: data[450:550], ok: true},
		{name: "tail", length: 10, offset: size - 10, want: data[size-10:], ok: true},
		{name: "last byte", length: 1, offset: size - 1, want: data[size-1:], ok: true},
		{name: "to end", length: 0, offset: 300, want: data[300:], ok: true},
		{name: "to end from last byte", length: 0, offset: size - 1, want: data[size-1:], ok: true},
		{name: "offset at end", length: 0, offset: size, want: []byte{}, ok: true},
		{name: "one past end", length: 1, offset: size, eof: true},
		{name: "straddles end", length: 20, offset: size - 10, eof: true},
		{name: "longer than object", length: size + 1, offset: 0, eof: true},
		{name: "offset past end", length: 0, offset: size + 1, eof: true},
		{name: "offset far past end", length: 10, offset: 1 << 40, eof: true},
		{name: "negative offset", length: 10, offset: -1},
		{name: "negative length", length: -1, offset: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := load(t.Context(), be, h, tt.length, tt.offset)
			switch {
			case tt.ok:
				require.NoError(t, err)
				require.Equal(t, tt.want, append([]byte{}, got...))
			case tt.eof:
				require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			default:
				require.Error(t, err)
			}
		})
	}
	// No failed read may have damaged the object.
	requireContent(t, be, h, data)
}

// testLoadPartialRead checks that fn need not drain the reader: reading a
// header and stopping is a normal use.
func testLoadPartialRead(t *testing.T, be backend.Backend) {
	data := randomBytes(t, 100_000)
	h := randomHandle(t, backend.PackFile)
	save(t, be, h, data)

	var got [10]byte
	err := be.Load(t.Context(), h, 0, 0, func(rd io.Reader) error {
		_, err := io.ReadFull(rd, got[:])
		return err
	})
	require.NoError(t, err)
	require.Equal(t, data[:10], got[:])

	err = be.Load(t.Context(), h, 0, 0, func(io.Reader) error { return nil })
	require.NoError(t, err, "fn reading nothing")
}

func testLoadFnError(t *testing.T, be backend.Backend) {
	h := randomHandle(t, backend.IndexFile)
	data := randomBytes(t, 5000)
	save(t, be, h, data)

	for _, readFirst := range []bool{false, true} {
		err := be.Load(t.Context(), h, 0, 0, func(rd io.Reader) error {
			if readFirst {
				if _, err := io.ReadAll(rd); err != nil {
					return err
				}
			}
			return errTest
		})
		require.Same(t, errTest, err, "fn's error must be returned as is (read first: %v), got %v", readFirst, err)
	}
	requireContent(t, be, h, data)
}

func testSaveExisting(t *testing.T, be backend.Backend) {
	for _, typ := range backend.FileTypes {
		h := randomHandle(t, typ)
		first := randomBytes(t, 300)
		save(t, be, h, first)

		for _, second := range [][]byte{randomBytes(t, 500), randomBytes(t, 10), first, {}} {
			err := be.Save(t.Context(), h, backend.NewByteReader(second))
			require.ErrorIs(t, err, backend.ErrExists, "second save of %v", h)
			requireContent(t, be, h, first)
		}
		require.Len(t, list(t, be, typ), 1, "objects of type %v", typ)
	}
}

// testSaveCopiesInput checks the backend did not keep the caller's slice:
// once Save returns, the caller may reuse its buffer.
func testSaveCopiesInput(t *testing.T, be backend.Backend) {
	h := randomHandle(t, backend.PackFile)
	data := randomBytes(t, 4096)
	want := append([]byte{}, data...)
	save(t, be, h, data)
	for i := range data {
		data[i] = ^data[i]
	}
	requireContent(t, be, h, want)
}

func testSaveReadError(t *testing.T, be backend.Backend) {
	data := randomBytes(t, 300_000)
	for _, n := range []int{0, 1, 100_000} {
		h := randomHandle(t, backend.PackFile)
		err := be.Save(t.Context(), h, &failingReader{data: data, n: n, err: errTest})
		require.ErrorIs(t, err, errTest, "read error after %d bytes", n)
		requireMissing(t, be, h)

		// The failure left nothing in the way of a good save.
		save(t, be, h, data)
		requireContent(t, be, h, data)
	}
}

func testSaveShortReader(t *testing.T, be backend.Backend) {
	data := randomBytes(t, 10_000)
	h := randomHandle(t, backend.SnapshotFile)
	err := be.Save(t.Context(), h, shortReader{ByteReader: backend.NewByteReader(data), claimed: int64(len(data)) + 1})
	require.Error(t, err, "reader yielded fewer bytes than its Length")
	requireMissing(t, be, h)
}

func testEmpty(t *testing.T, be backend.Backend) {
	for _, typ := range backend.FileTypes {
		h := randomHandle(t, typ)
		save(t, be, h, nil)
		requireContent(t, be, h, []byte{})
		require.Equal(t, map[string]int64{h.Name: 0}, list(t, be, typ))

		_, err := load(t.Context(), be, h, 1, 0)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, "one byte of an empty object")
	}
}

func testLarge(t *testing.T, be backend.Backend) {
	const size = 5<<20 + 12345 // odd, so no buffer size divides it
	data := randomBytes(t, size)
	h := randomHandle(t, backend.PackFile)
	save(t, be, h, data)
	requireContent(t, be, h, data)

	for _, r := range []struct {
		off int64
		n   int
	}{{0, 1 << 20}, {1<<20 - 7, 3<<20 + 11}, {size - 100_001, 100_001}, {4 << 20, 0}} {
		got, err := load(t.Context(), be, h, r.n, r.off)
		require.NoError(t, err)
		end := int64(size)
		if r.n > 0 {
			end = r.off + int64(r.n)
		}
		requireBytes(t, data[r.off:end], got, "range %d+%d", r.off, r.n)
	}
}
