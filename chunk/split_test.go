package chunk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

var smallParams = Params{Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10}

// seqLengths returns the chunk lengths a Chunker cuts data into.
func seqLengths(t testing.TB, p Params, data []byte) []int {
	c, err := New(testPol, p)
	require.NoError(t, err)
	var lens []int
	for _, ch := range cutAll(t, c, data) {
		lens = append(lens, len(ch))
	}
	return lens
}

// splitLengths returns the chunk lengths a Splitter cuts ra into,
// checking that they are contiguous, and the bytes cut.
func splitLengths(t testing.TB, s *Splitter, ra io.ReaderAt, size int64) ([]int, int64) {
	var lens []int
	var next int64
	n, err := s.Split(context.Background(), ra, size, func(off int64, n int) error {
		if off != next || n <= 0 {
			return fmt.Errorf("chunk at %d (want %d) of %d bytes", off, next, n)
		}
		next += int64(n)
		lens = append(lens, n)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, next, n)
	return lens, n
}

func requireSameCuts(t *testing.T, p Params, o SplitOptions, data []byte) {
	t.Helper()
	s, err := NewSplitter(testPol, p, o)
	require.NoError(t, err)
	got, n := splitLengths(t, s, bytes.NewReader(data), int64(len(data)))
	require.Equal(t, int64(len(data)), n)
	require.Equal(t, seqLengths(t, p, data), got, "%d bytes, %+v, %+v", len(data), p, o)
}

func fill(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// periodic repeats a random pattern of period bytes, so that cuts repeat
// with the content and speculative cuts may never meet the true ones.
func periodic(seed uint64, period, n int) []byte {
	return bytes.Repeat(randomData(seed, period), n/period+1)[:n]
}

func TestSplitMatchesChunker(t *testing.T) {
	oddParams := Params{Min: 5000, Avg: 8192, Max: 40000} // not aligned with segments
	for _, tc := range []struct {
		name string
		p    Params
		seg  int
		data []byte
	}{
		{"empty", smallParams, 0, nil},
		{"one byte", smallParams, 0, []byte{7}},
		{"below min", smallParams, 0, randomData(10, 4<<10-1)},
		{"min", smallParams, 0, randomData(11, 4<<10)},
		{"one segment less one", smallParams, 128 << 10, randomData(12, 128<<10-1)},
		{"one segment", smallParams, 128 << 10, randomData(13, 128<<10)},
		{"one segment and one", smallParams, 128 << 10, randomData(14, 128<<10+1)},
		{"two segments and a bit", smallParams, 128 << 10, randomData(15, 256<<10+100)},
		{"many segments", smallParams, 128 << 10, randomData(16, 5<<20+12345)},
		{"odd segment", smallParams, 200_001, randomData(17, 3<<20)},
		{"odd params", oddParams, 0, randomData(18, 2<<20+7)},
		{"odd params odd segment", oddParams, 99_999, randomData(19, 2<<20)},
		{"zeros", smallParams, 128 << 10, make([]byte, 3<<20+5)},
		{"zeros odd", oddParams, 99_999, make([]byte, 1<<20)},
		{"ones", smallParams, 128 << 10, fill(3<<20+5, 1)},
		{"ones odd", oddParams, 99_999, fill(1<<20, 0xff)},
		{"periodic", smallParams, 128 << 10, periodic(20, 5000, 2<<20)},
		{"periodic long", smallParams, 150_000, periodic(21, 70_001, 2<<20)},
		{"periodic odd", oddParams, 99_999, periodic(22, 3333, 1<<20)},
		{"zeros then random", smallParams, 128 << 10, append(make([]byte, 1<<20+3), randomData(23, 1<<20)...)},
		{"default params", Params{}, 0, randomData(24, 40<<20+3)},
		{"default params zeros", Params{}, 0, make([]byte, 40<<20)},
	} {
		for workers := 1; workers <= 4; workers++ {
			t.Run(fmt.Sprintf("%s/%d", tc.name, workers), func(t *testing.T) {
				requireSameCuts(t, tc.p, SplitOptions{Workers: workers, Segment: tc.seg}, tc.data)
			})
		}
	}
}

// TestSplitSegmentsNearCuts puts segment starts on, just before and just
// after true cuts, and on a true cut of the segment's own start.
func TestSplitSegmentsNearCuts(t *testing.T) {
	data := randomData(30, 4<<20)
	lens := seqLengths(t, smallParams, data)
	var cut int
	for _, l := range lens {
		cut += l
		if cut >= 2*int(smallParams.Max)+1 {
			break
		}
	}
	for _, seg := range []int{cut - 1, cut, cut + 1, cut - int(smallParams.Min), cut + int(smallParams.Min)} {
		for workers := 1; workers <= 3; workers++ {
			t.Run(fmt.Sprintf("%d/%d", seg, workers), func(t *testing.T) {
				requireSameCuts(t, smallParams, SplitOptions{Workers: workers, Segment: seg}, data)
			})
		}
	}
}

// TestSplitRandomized tries many sizes, segments and contents.
func TestSplitRandomized(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 31))
	for i := range 60 {
		size := r.IntN(3 << 20)
		seg := 128<<10 + r.IntN(300<<10)
		var data []byte
		switch i % 3 {
		case 0:
			data = randomData(uint64(i), size)
		case 1:
			data = periodic(uint64(i), 1+r.IntN(100_000), size)
		case 2: // random islands in zeros
			data = make([]byte, size)
			for range 20 {
				at := r.IntN(size + 1)
				copy(data[at:], randomData(uint64(i), r.IntN(50_000)))
			}
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			requireSameCuts(t, smallParams, SplitOptions{Workers: 1 + i%4, Segment: seg}, data)
		})
	}
}

// shrunkReader is data that ends at lim once reads reach past after.
type shrunkReader struct {
	data       []byte
	after, lim int64
	shrunk     atomic.Bool
}

func (r *shrunkReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.after {
		r.shrunk.Store(true)
	}
	end := int64(len(r.data))
	if r.shrunk.Load() {
		end = r.lim
	}
	if off >= end {
		return 0, io.EOF
	}
	n := copy(p, r.data[off:end])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestSplitShortInput: input that ends early is cut as what there was, a
// prefix of the data, never more.
func TestSplitShortInput(t *testing.T) {
	data := randomData(40, 3<<20)
	for _, lim := range []int64{0, 1000, 128 << 10, 300_000, 1<<20 + 1, 3<<20 - 1} {
		for workers := 1; workers <= 3; workers++ {
			s, err := NewSplitter(testPol, smallParams, SplitOptions{Workers: workers, Segment: 128 << 10})
			require.NoError(t, err)
			// Short from the start: exactly the cuts of the prefix.
			got, n := splitLengths(t, s, bytes.NewReader(data[:lim]), int64(len(data)))
			require.Equal(t, lim, n)
			require.Equal(t, seqLengths(t, smallParams, data[:lim]), got)
			// Shrinking midway: a prefix, of bytes read before or after.
			_, n = splitLengths(t, s, &shrunkReader{data: data, after: 1 << 20, lim: lim}, int64(len(data)))
			require.LessOrEqual(t, n, max(lim, 1<<20))
		}
	}
}

type failingReaderAt struct {
	*bytes.Reader
	at int64
}

func (r *failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.at {
		return 0, errors.New("disk on fire")
	}
	return r.Reader.ReadAt(p, off)
}

func TestSplitErrors(t *testing.T) {
	data := randomData(41, 2<<20)
	s, err := NewSplitter(testPol, smallParams, SplitOptions{Workers: 2, Segment: 128 << 10})
	require.NoError(t, err)
	ctx := context.Background()
	noop := func(int64, int) error { return nil }

	_, err = s.Split(ctx, &failingReaderAt{Reader: bytes.NewReader(data), at: 1 << 20}, int64(len(data)), noop)
	require.EqualError(t, err, "disk on fire")

	stop := errors.New("stop")
	calls := 0
	n, err := s.Split(ctx, bytes.NewReader(data), int64(len(data)), func(int64, int) error {
		if calls++; calls == 10 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Positive(t, n)

	cctx, cancel := context.WithCancel(ctx)
	_, err = s.Split(cctx, bytes.NewReader(data), int64(len(data)), func(int64, int) error {
		cancel()
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)

	// The Splitter still works after failures.
	requireSameCuts(t, smallParams, SplitOptions{Workers: 2, Segment: 128 << 10}, data)
}

func TestNewSplitter(t *testing.T) {
	s, err := NewSplitter(testPol, Params{}, SplitOptions{})
	require.NoError(t, err)
	require.Equal(t, DefaultSegment, s.Segment())
	s, err = NewSplitter(testPol, smallParams, SplitOptions{Segment: 1000})
	require.NoError(t, err)
	require.Equal(t, 2*int(smallParams.Max), s.Segment())
	_, err = NewSplitter(testPol, Params{Min: 1}, SplitOptions{})
	require.Error(t, err)
}

// FuzzSplit compares a Splitter with a Chunker on the fuzzer's bytes,
// tiled to size and, if mix is odd, scrambled with a random stream.
func FuzzSplit(f *testing.F) {
	f.Add([]byte{0}, uint32(100_000), uint16(0), uint8(2), uint8(0))
	f.Add([]byte{1}, uint32(50_000), uint16(777), uint8(3), uint8(0))
	f.Add(randomData(50, 300), uint32(200_000), uint16(1000), uint8(1), uint8(0))
	f.Add(randomData(51, 5000), uint32(150_000), uint16(4096), uint8(4), uint8(1))
	f.Add([]byte("abc"), uint32(3000), uint16(5), uint8(2), uint8(1))
	f.Add([]byte{}, uint32(0), uint16(0), uint8(1), uint8(0))
	p := Params{Min: 256, Avg: 1024, Max: 4096}
	f.Fuzz(func(t *testing.T, pattern []byte, size uint32, seg uint16, workers uint8, mix uint8) {
		if len(pattern) == 0 {
			pattern = []byte{0}
		}
		n := int(size % (256 << 10))
		data := bytes.Repeat(pattern, n/len(pattern)+1)[:n]
		if mix%2 == 1 {
			for i, b := range randomData(uint64(mix), n) {
				data[i] ^= b
			}
		}
		s, err := NewSplitter(testPol, p, SplitOptions{Workers: 1 + int(workers%4), Segment: 2*int(p.Max) + int(seg)})
		require.NoError(t, err)
		got, _ := splitLengths(t, s, bytes.NewReader(data), int64(n))
		require.Equal(t, seqLengths(t, p, data), got)
	})
}

func BenchmarkSplit(b *testing.B) {
	data := randomData(8, 64<<20)
	s, err := NewSplitter(testPol, Params{}, SplitOptions{})
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := s.Split(context.Background(), bytes.NewReader(data), int64(len(data)), func(int64, int) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
