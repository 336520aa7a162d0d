package repo

import (
	"context"
	"testing"

	"github.com/cairnbackup/cairn/internal/testsrc"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/stretchr/testify/require"
)

// BenchmarkSaveBlob measures blob saving end to end into the memory backend:
// ID hashing, index lookup, compression, sealing and pack writing, from as
// many goroutines as GOMAXPROCS. Every blob is new.
func BenchmarkSaveBlob(b *testing.B) {
	for _, tc := range []struct {
		name string
		data func(i int) []byte
	}{
		{"random-1MiB", func(i int) []byte { return randomBytes(uint64(i), 1<<20) }},
		{"gosource-1MiB", func(i int) []byte { return goSource(b, i) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := initRepo(b, mem.New(), Options{})
			w := r.NewWriter()
			ctx := context.Background()
			// A pool of distinct inputs; a counter in the first bytes keeps
			// every saved blob new without generating data in the loop.
			pool := make([][]byte, 16)
			for i := range pool {
				pool[i] = tc.data(i)
			}
			b.SetBytes(1 << 20)
			var n uint64
			var mu = make(chan struct{}, 1)
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 1<<20)
				for pb.Next() {
					mu <- struct{}{}
					n++
					i := n
					<-mu
					copy(buf, pool[i%uint64(len(pool))])
					for k := range 8 {
						buf[k] = byte(i >> (8 * k))
					}
					if _, _, err := w.SaveBlob(ctx, DataBlob, buf); err != nil {
						b.Error(err)
						return
					}
				}
			})
			require.NoError(b, w.Flush(ctx))
		})
	}
}

// BenchmarkSaveBlobKnown measures the deduplication path: the blob is
// already in the index, so only hashing and a lookup happen.
func BenchmarkSaveBlobKnown(b *testing.B) {
	ctx := context.Background()
	r := initRepo(b, mem.New(), Options{})
	w := r.NewWriter()
	data := randomBytes(1, 1<<20)
	_, _, err := w.SaveBlob(ctx, DataBlob, data)
	require.NoError(b, err)
	require.NoError(b, w.Flush(ctx))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := w.SaveBlob(ctx, DataBlob, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadBlob measures loading a 1 MiB blob from the memory backend.
func BenchmarkLoadBlob(b *testing.B) {
	ctx := context.Background()
	r := initRepo(b, mem.New(), Options{})
	w := r.NewWriter()
	id, _, err := w.SaveBlob(ctx, DataBlob, goSource(b, 0))
	require.NoError(b, err)
	require.NoError(b, w.Flush(ctx))
	var buf []byte
	b.SetBytes(1 << 20)
	for b.Loop() {
		if buf, err = r.LoadBlob(ctx, DataBlob, id, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// goSource returns the i-th MiB of Go source text.
func goSource(b *testing.B, i int) []byte {
	src, err := testsrc.GoSource((i + 1) << 20)
	if err != nil {
		b.Skip("no Go source tree:", err)
	}
	return src[i<<20:]
}
