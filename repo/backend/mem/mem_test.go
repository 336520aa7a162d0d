package mem_test

import (
	"io"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend { return mem.New() })
}

// TestLoadHidesStorage checks the reader handed to fn exposes nothing but
// Read, through which the stored slice cannot escape.
func TestLoadHidesStorage(t *testing.T) {
	be := mem.New()
	h := backend.Handle{Type: backend.PackFile, Name: "abcd"}
	require.NoError(t, be.Save(t.Context(), h, backend.NewByteReader([]byte("stored"))))

	err := be.Load(t.Context(), h, 0, 0, func(rd io.Reader) error {
		_, isWriterTo := rd.(io.WriterTo)
		_, isSeeker := rd.(io.Seeker)
		require.False(t, isWriterTo, "WriterTo would pass the stored slice to a writer")
		require.False(t, isSeeker)
		buf, err := io.ReadAll(rd)
		buf[0] = 'X'
		return err
	})
	require.NoError(t, err)
	got, err := backend.LoadAll(t.Context(), be, h)
	require.NoError(t, err)
	require.Equal(t, "stored", string(got))
}

type longReader struct{ *backend.ByteReader }

func (longReader) Length() int64 { return 3 }

func TestSaveReaderLongerThanLength(t *testing.T) {
	be := mem.New()
	h := backend.Handle{Type: backend.PackFile, Name: "abcd"}
	err := be.Save(t.Context(), h, longReader{backend.NewByteReader([]byte("four"))})
	require.ErrorContains(t, err, "more than its length")
	_, err = be.Stat(t.Context(), h)
	require.ErrorIs(t, err, backend.ErrNotFound)
}
