package repo

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/stretchr/testify/require"
)

func TestBlobRoundTrip(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	w := r.NewWriter()
	text := bytes.Repeat([]byte("compressible text "), 10000)
	cases := map[string][]byte{
		"empty":  {},
		"byte":   {42},
		"text":   text,
		"random": randomBytes(1, 100<<10),
		"large":  randomBytes(2, 8<<20),
	}
	ids := map[string]ID{}
	for name, data := range cases {
		for _, typ := range []BlobType{DataBlob, TreeBlob} {
			id, known, err := w.SaveBlob(ctx, typ, data)
			require.NoError(t, err)
			require.False(t, known, name)
			require.Equal(t, r.key.BlobID(data), id)
			ids[name] = id
		}
	}
	require.NoError(t, w.Flush(ctx))

	for _, rr := range []*Repository{r, reopen(t, be)} {
		for name, data := range cases {
			for _, typ := range []BlobType{DataBlob, TreeBlob} {
				got, err := rr.LoadBlob(ctx, typ, ids[name], nil)
				require.NoError(t, err, name)
				require.True(t, bytes.Equal(data, got), name)
			}
		}
	}
	// The compressible blob is stored much smaller than it is.
	loc, ok := r.idx.Lookup(blobHandle(DataBlob, ids["text"]))
	require.True(t, ok)
	require.Less(t, int(loc.Length), len(text)/20)
	require.Equal(t, uint32(len(text)), loc.RawLength)
}

func TestLoadBlobReusesDst(t *testing.T) {
	ctx := context.Background()
	r, _ := newMemRepo(t)
	w := r.NewWriter()
	id, _, err := w.SaveBlob(ctx, DataBlob, []byte("hello"))
	require.NoError(t, err)
	require.NoError(t, w.Flush(ctx))
	dst := make([]byte, 3, 100)
	got, err := r.LoadBlob(ctx, DataBlob, id, dst)
	require.NoError(t, err)
	require.Equal(t, "hello", string(got))
	require.Equal(t, &dst[:1][0], &got[0], "decoded into dst")
}

func TestDedup(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	w := r.NewWriter()
	data := randomBytes(3, 50000)
	_, known, err := w.SaveBlob(ctx, DataBlob, data)
	require.NoError(t, err)
	require.False(t, known)
	_, known, err = w.SaveBlob(ctx, DataBlob, data)
	require.NoError(t, err)
	require.True(t, known, "known to the writer before any flush")
	_, known, err = w.SaveBlob(ctx, TreeBlob, data)
	require.NoError(t, err)
	require.False(t, known, "a tree blob is another blob")
	require.NoError(t, w.Flush(ctx))
	packs := len(listFiles(t, be, backend.PackFile))
	require.Equal(t, 2, packs, "one data pack, one tree pack")

	w2 := r.NewWriter()
	_, known, err = w2.SaveBlob(ctx, DataBlob, data)
	require.NoError(t, err)
	require.True(t, known, "known from the index")
	require.NoError(t, w2.Flush(ctx))

	_, known, err = reopen(t, be).NewWriter().SaveBlob(ctx, DataBlob, data)
	require.NoError(t, err)
	require.True(t, known, "known after reopening")
	require.Equal(t, packs, len(listFiles(t, be, backend.PackFile)), "nothing stored twice")
	require.Equal(t, 2, r.BlobCount())
}

func TestUnflushedBlobsAreInvisibleToOtherWriters(t *testing.T) {
	ctx := context.Background()
	r, _ := newMemRepo(t)
	w1, w2 := r.NewWriter(), r.NewWriter()
	data := []byte("shared")
	_, known, err := w1.SaveBlob(ctx, DataBlob, data)
	require.NoError(t, err)
	require.False(t, known)
	_, known, err = w2.SaveBlob(ctx, DataBlob, data)
	require.NoError(t, err)
	require.False(t, known, "w2 must not depend on w1's unindexed pack")
	require.NoError(t, w1.Flush(ctx))
	require.NoError(t, w2.Flush(ctx))
	_, known, err = r.NewWriter().SaveBlob(ctx, DataBlob, data)
	require.NoError(t, err)
	require.True(t, known)
}

func TestConcurrentSaves(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	w := r.NewWriter()
	const workers, perWorker, distinct = 8, 200, 300
	blobs := make([][]byte, distinct)
	for i := range blobs {
		blobs[i] = randomBytes(uint64(i), 1000+i*10)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := map[ID]int{}
	for g := range workers {
		wg.Go(func() {
			for i := range perWorker {
				data := blobs[(g*perWorker+i*7)%distinct]
				id, known, err := w.SaveBlob(ctx, DataBlob, data)
				if err != nil {
					t.Error(err)
					return
				}
				if !known {
					mu.Lock()
					stored[id]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Flush(ctx))
	for id, n := range stored {
		require.Equal(t, 1, n, "blob %s stored %d times", id, n)
	}
	r2 := reopen(t, be)
	require.Equal(t, len(stored), r2.BlobCount())
	for id := range stored {
		_, err := r2.LoadBlob(ctx, DataBlob, id, nil)
		require.NoError(t, err)
	}
}

func TestPacksStayNearTargetSize(t *testing.T) {
	ctx := context.Background()
	r := initRepo(t, mem.New(), Options{PackSize: MinPackSize})
	w := r.NewWriter()
	for i := range 40 {
		_, _, err := w.SaveBlob(ctx, DataBlob, randomBytes(uint64(i), 100<<10))
		require.NoError(t, err)
	}
	require.NoError(t, w.Flush(ctx))
	var sizes []int64
	require.NoError(t, r.be.List(ctx, backend.PackFile, func(fi backend.FileInfo) error {
		sizes = append(sizes, fi.Size)
		return nil
	}))
	require.Greater(t, len(sizes), 4, "4 MB of data in 1 MiB packs")
	for _, s := range sizes {
		require.LessOrEqual(t, s, int64(MinPackSize+pack.HeaderSize(20)))
	}
}

// A Writer of many small blobs writes an index file once enough blobs wait
// for one, long before indexEvery packs are stored.
func TestWriterIndexesManyBlobs(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	r.opts.PackSize = MinPackSize
	w := r.NewWriter()
	w.packers[DataBlob] = newPackerSet(w, DataBlob, 1)
	w.indexBlobs = 50
	for i := range 400 { // 400 blobs of 8 KiB: 3 full packs
		_, _, err := w.SaveBlob(ctx, DataBlob, randomBytes(uint64(i), 8<<10))
		require.NoError(t, err)
	}
	require.Len(t, listFiles(t, be, backend.IndexFile), 3, "one index file per stored pack of over 50 blobs")
	require.NoError(t, w.Flush(ctx))
	require.Len(t, listFiles(t, be, backend.IndexFile), 4)
}

func TestBlobsAreSpreadOverPacks(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	w := r.NewWriter()
	for i := range 40 {
		_, _, err := w.SaveBlob(ctx, DataBlob, []byte(fmt.Sprint("blob ", i)))
		require.NoError(t, err)
	}
	require.NoError(t, w.Flush(ctx))
	// 40 blobs at random over 4 open packs: all in one has probability 4^-39.
	require.Greater(t, len(listFiles(t, be, backend.PackFile)), 1)
}

func TestSaveBlobHonoursContext(t *testing.T) {
	r, _ := newMemRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := r.NewWriter().SaveBlob(ctx, DataBlob, []byte("x"))
	require.ErrorIs(t, err, context.Canceled)
}

func TestLoadMissingBlob(t *testing.T) {
	r, _ := newMemRepo(t)
	_, err := r.LoadBlob(context.Background(), DataBlob, ID{1, 2, 3}, nil)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "data blob 010203")
}
