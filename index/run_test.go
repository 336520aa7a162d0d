package index

import (
	"math/rand/v2"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/stretchr/testify/require"
)

// TestSearchSkewed checks search on IDs that defeat interpolation, as a
// hostile index file could list them: one bucket, clustered prefixes.
func TestSearchSkewed(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for name, prefix := range map[string]func(i int) uint64{
		"equal prefixes": func(int) uint64 { return 0 },
		"two clusters":   func(i int) uint64 { return uint64(i%2) * (1<<64 - 1) },
		"low half":       func(int) uint64 { return r.Uint64() >> 1 },
		"uniform":        func(int) uint64 { return r.Uint64() },
	} {
		t.Run(name, func(t *testing.T) {
			var o overflow
			var ids []crypto.ID
			for i := range 500 {
				id := randomID(r)
				id[0], id[1] = 0x12, 0x34
				for j := range 8 {
					id[2+j] = byte(prefix(i) >> (56 - 8*j))
				}
				typ := uint32(i%3/2) * typeBit // a third are tree blobs
				o.add(&id, entry{ref: typ})
				ids = append(ids, id)
			}
			run := o.toRun()
			bk := bucketOf(&ids[0])
			lo, hi := run.bounds(bk)
			require.Equal(t, 500, hi-lo)
			for i, id := range ids {
				typ := uint32(i%3/2) * typeBit
				p, ok := run.search(bk, id[2:], typ)
				require.True(t, ok)
				require.Equal(t, id[2:], run.rec(p)[:keySize])
				_, ok = run.search(bk, id[2:], typ^typeBit)
				require.False(t, ok)
			}
			for range 500 {
				id := randomID(r) // absent: where would it go?
				id[2] = byte(r.IntN(2)) * 0xff
				p, ok := run.search(bk, id[2:], 0)
				require.False(t, ok)
				if p > lo {
					require.Negative(t, compareKey(run.rec(p-1), id[2:], 0))
				}
				if p < hi {
					require.Positive(t, compareKey(run.rec(p), id[2:], 0))
				}
			}
		})
	}
}
