package chunk

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/restic/chunker"
	"github.com/stretchr/testify/require"
)

// testPol is an irreducible polynomial of degree 53 (restic/chunker's tests use it).
const testPol = 0x3DA3358B4DC173

func randomData(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func cutAll(t testing.TB, c *Chunker, data []byte) [][]byte {
	c.Reset(bytes.NewReader(data))
	var chunks [][]byte
	var buf []byte
	for {
		var err error
		buf, err = c.Next(buf)
		if err == io.EOF {
			return chunks
		}
		require.NoError(t, err)
		chunks = append(chunks, bytes.Clone(buf))
	}
}

func TestChunksReassembleWithinLimits(t *testing.T) {
	p := Params{Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10}
	c, err := New(testPol, p)
	require.NoError(t, err)
	data := randomData(1, 5<<20)
	chunks := cutAll(t, c, data)
	require.Greater(t, len(chunks), 50)
	for i, ch := range chunks {
		require.LessOrEqual(t, len(ch), int(p.Max))
		if i < len(chunks)-1 {
			require.GreaterOrEqual(t, len(ch), int(p.Min))
		}
	}
	require.Equal(t, data, bytes.Join(chunks, nil))
}

func TestMatchesRestic(t *testing.T) {
	// Our buffering must cut exactly where restic/chunker's own reader cuts.
	data := randomData(2, 20<<20)
	c, err := New(testPol, Params{})
	require.NoError(t, err)
	ours := cutAll(t, c, data)

	ref := chunker.New(bytes.NewReader(data), testPol)
	var theirs [][]byte
	for {
		ch, err := ref.Next(nil)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		theirs = append(theirs, ch.Data)
	}
	require.Equal(t, len(theirs), len(ours))
	for i := range ours {
		require.Equal(t, theirs[i], ours[i], "chunk %d", i)
	}
}

func TestSmallAndEmptyInput(t *testing.T) {
	c, err := New(testPol, Params{})
	require.NoError(t, err)
	require.Empty(t, cutAll(t, c, nil))
	small := randomData(3, DefaultMin-1)
	require.Equal(t, [][]byte{small}, cutAll(t, c, small))
}

func TestBoundariesFollowContent(t *testing.T) {
	// Inserting bytes near the start changes only the first chunks: later
	// boundaries realign, which is what makes deduplication work.
	p := Params{Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10}
	c, err := New(testPol, p)
	require.NoError(t, err)
	data := randomData(4, 4<<20)
	a := cutAll(t, c, data)
	b := cutAll(t, c, append(append(randomData(5, 1000), data[:100]...), data[100:]...))
	shared := map[string]bool{}
	for _, ch := range a {
		shared[string(ch)] = true
	}
	same := 0
	for _, ch := range b {
		if shared[string(ch)] {
			same++
		}
	}
	require.GreaterOrEqual(t, same, len(a)-3)
}

func TestResetReusesChunker(t *testing.T) {
	c, err := New(testPol, Params{Min: 1 << 10, Avg: 4 << 10, Max: 16 << 10})
	require.NoError(t, err)
	data := randomData(6, 1<<20)
	first := cutAll(t, c, data)
	cutAll(t, c, randomData(7, 12345)) // a different input in between
	require.Equal(t, first, cutAll(t, c, data))
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestReadErrorIsReturned(t *testing.T) {
	c, err := New(testPol, Params{})
	require.NoError(t, err)
	c.Reset(&failingReader{n: 3 << 20})
	var buf []byte
	for {
		buf, err = c.Next(buf)
		if err != nil {
			break
		}
	}
	require.EqualError(t, err, "disk on fire")
}

func TestParamsValidate(t *testing.T) {
	require.NoError(t, DefaultParams().Validate())
	require.Equal(t, DefaultParams(), Params{}.WithDefaults())
	for _, p := range []Params{
		{Min: 64, Avg: 1 << 10, Max: 1 << 12},
		{Min: 1 << 10, Avg: 1 << 10, Max: 1 << 12},
		{Min: 1 << 10, Avg: 3 << 10, Max: 1 << 12},
		{Min: 1 << 10, Avg: 1 << 11, Max: 1 << 11},
		{Min: 1 << 10, Avg: 1 << 11, Max: MaxMax + 1},
	} {
		require.Error(t, p.Validate(), "%+v", p)
		_, err := New(testPol, p)
		require.Error(t, err)
	}
	_, err := New(12345, Params{})
	require.Error(t, err)
}

func BenchmarkChunker(b *testing.B) {
	data := randomData(8, 64<<20)
	c, err := New(testPol, Params{})
	require.NoError(b, err)
	var buf []byte
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c.Reset(bytes.NewReader(data))
		for {
			buf, err = c.Next(buf)
			if err == io.EOF {
				break
			}
		}
	}
}
