package repo

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/stretchr/testify/require"
)

// BenchmarkOpenIndex opens a local repository whose index lists many blobs
// in files of 64 packs of 1,000 blobs, as backups write them, and reports
// the heap the index keeps per blob (B/blob), the peak heap while opening,
// garbage not yet collected included (peak-B/blob, sampled every
// millisecond), the largest heap that a collection found live meanwhile
// (live-B/blob), and the time to open (open-s). With much garbage made as
// files are read, the peak is about (1 + GOGC/100) times what is live, so
// compare at several GOGC settings. The repository is made in
// CAIRN_OPEN_BENCH_REPO, and kept there for later runs, if that is set;
// CAIRN_OPEN_BENCH_BLOBS sets its size (default 200,000). For 10 M blobs,
// whose index files take 470 MB:
//
//	CAIRN_OPEN_BENCH_REPO=/tmp/open10m CAIRN_OPEN_BENCH_BLOBS=10000000 \
//	  go test -run '^$' -bench OpenIndex -benchtime 1x ./repo/
func BenchmarkOpenIndex(b *testing.B) {
	dir := os.Getenv("CAIRN_OPEN_BENCH_REPO")
	if dir == "" {
		dir = b.TempDir()
	}
	n := 200_000
	if s := os.Getenv("CAIRN_OPEN_BENCH_BLOBS"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(b, err)
	}
	ctx := context.Background()
	be := local.New(dir)
	if _, err := os.Stat(dir + "/config"); err != nil {
		require.NoError(b, be.Create(ctx))
		r := initRepo(b, be, Options{})
		writeSyntheticIndex(b, r, n, 1000, 64)
	}
	for b.Loop() {
		base := heapAlloc()
		stop := samplePeakHeap()
		start := time.Now()
		r, err := Open(ctx, be, testPassword, OpenOptions{})
		took := time.Since(start)
		peak, live := stop()
		peak -= base
		live -= base
		require.NoError(b, err)
		kept := heapAlloc() - base
		require.Equal(b, n, r.idx.Len())
		b.ReportMetric(float64(kept)/float64(n), "B/blob")
		b.ReportMetric(float64(peak)/float64(n), "peak-B/blob")
		b.ReportMetric(float64(live)/float64(n), "live-B/blob")
		b.ReportMetric(took.Seconds(), "open-s")
		runtime.KeepAlive(r)
	}
}

// writeSyntheticIndex stores index files of perFile packs of perPack blobs,
// n blobs in all, with random IDs and every 20th pack a tree pack. The
// packs themselves are not stored.
func writeSyntheticIndex(b *testing.B, r *Repository, n, perPack, perFile int) {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	randomID := func() crypto.ID {
		var id crypto.ID
		for i := 0; i < len(id); i += 8 {
			binary.LittleEndian.PutUint64(id[i:], rng.Uint64())
		}
		return id
	}
	for done := 0; done < n; {
		f := &index.File{Created: time.Unix(1700000000, 0).UTC()}
		for len(f.Packs) < perFile && done < n {
			p := index.Pack{ID: randomID(), Type: pack.DataBlob, Blobs: make([]pack.Blob, min(perPack, n-done))}
			if len(f.Packs)%20 == 19 {
				p.Type = pack.TreeBlob
			}
			var off uint32
			for j := range p.Blobs {
				l := 41 + rng.Uint32N(1<<20)
				p.Blobs[j] = pack.Blob{ID: randomID(), Offset: off, Length: l, RawLength: l}
				off += l
			}
			f.Packs = append(f.Packs, p)
			done += len(p.Blobs)
		}
		data, err := f.Encode(r.key)
		require.NoError(b, err)
		_, err = saveFile(context.Background(), r.be, backend.IndexFile, data)
		require.NoError(b, err)
	}
}

// heapAlloc returns the live heap after a collection.
func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// samplePeakHeap samples the bytes of heap objects, live or not yet
// collected, and the live heap that the last collection found, until the
// returned function is called, which returns the maximum of each.
func samplePeakHeap() (stop func() (peak, live uint64)) {
	done := make(chan struct{})
	var peak, live uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			live = max(live, s[1].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		return peak, live
	}
}
