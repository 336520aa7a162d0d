package index

import (
	"fmt"
	"math/rand/v2"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
	"github.com/stretchr/testify/require"
)

// BenchmarkMemory10M builds a 10 M-blob index the ways a repository does,
// from index files of 64 packs (repo writes one per 64 stored packs) of
// 1,000 or 4,000 blobs (16 MiB packs of small files' chunks):
//
//   - open: file by file into a Loader, dropping each file once added, then
//     AddTo and Compact, as repository open loads the index;
//   - addfiles: every file in one AddFiles call, then Compact, as
//     repository open loaded the index before it used a Loader;
//   - backup: file by file with AddFile and no Compact, as a long backup
//     adds the files it writes and then drops them.
//
// It reports the heap the index keeps per blob once the files are garbage
// (B/blob), the peak heap while building, files included, since addfiles
// holds all decoded files while it adds them (peak-MB, peak-B/blob,
// sampled every millisecond, garbage not yet collected included; open and
// backup start with all files and drop them as they go), the decoded files
// alone (input-B/blob), the time to build (load-s) and lookups of 1 M
// present and 1 M absent blobs in random order. A case takes 5 to 20 s and
// about 1.1 GB of heap; unlike BenchmarkMemory it needs no
// CAIRN_INDEX_LARGE, so that its name alone selects it:
//
//	go test -run '^$' -bench Memory10M -benchtime 1x ./index/
func BenchmarkMemory10M(b *testing.B) {
	const n = 10_000_000
	for _, perPack := range []int{1000, 4000} {
		perFile := 64 * perPack
		for _, c := range []struct {
			name string
			load func(*Index, []*File) error
		}{
			{"open", func(idx *Index, files []*File) error {
				var l Loader
				ids := make([]crypto.ID, len(files))
				for i, f := range files {
					ids[i][0], ids[i][1] = byte(i>>8), byte(i)
					if err := l.Add(ids[i], f); err != nil {
						return err
					}
					files[i] = nil // open drops each file once added
				}
				err := l.AddTo(idx, ids)
				idx.Compact()
				return err
			}},
			{"addfiles", func(idx *Index, files []*File) error {
				err := idx.AddFiles(files...)
				idx.Compact()
				return err
			}},
			{"backup", func(idx *Index, files []*File) error {
				for i, f := range files {
					if err := idx.AddFile(f); err != nil {
						return err
					}
					files[i] = nil // a backup drops each file once added
				}
				return nil
			}},
		} {
			b.Run(fmt.Sprintf("%dperPack/%s", perPack, c.name), func(b *testing.B) {
				for b.Loop() {
					measureScale(b, n, perPack, perFile, c.load)
				}
			})
		}
	}
}

// measureScale builds an index of n blobs with load and reports its memory
// and lookup figures.
func measureScale(b *testing.B, n, perPack, perFile int, load func(*Index, []*File) error) {
	seed := uint64(n + perPack)
	base := heapAlloc()
	files := syntheticFiles(seed, n, perPack, perFile)
	input := heapAlloc() - base
	idx := New()
	stop := samplePeakHeap()
	start := time.Now()
	require.NoError(b, load(idx, files))
	took := time.Since(start)
	peak := stop() - base
	files = nil
	kept := heapAlloc() - base
	require.Equal(b, n, idx.Len())

	hit, miss := lookupTimes(b, idx, sampleHandles(syntheticFiles(seed, n, perPack, perFile), 10))
	b.ReportMetric(float64(kept)/float64(n), "B/blob")
	b.ReportMetric(float64(peak)/1e6, "peak-MB")
	b.ReportMetric(float64(peak)/float64(n), "peak-B/blob")
	b.ReportMetric(float64(input)/float64(n), "input-B/blob")
	b.ReportMetric(took.Seconds(), "load-s")
	b.ReportMetric(hit, "lookup-hit-ns")
	b.ReportMetric(miss, "lookup-miss-ns")
}

// samplePeakHeap samples the bytes of heap objects, live or not yet
// collected, until the returned function is called, which returns their
// maximum. Reading runtime/metrics does not stop the world.
func samplePeakHeap() (stop func() uint64) {
	done := make(chan struct{})
	var peak uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// sampleHandles returns every k-th blob of files, shuffled.
func sampleHandles(files []*File, k int) []pack.Handle {
	var hs []pack.Handle
	i := 0
	for _, f := range files {
		for _, p := range f.Packs {
			for _, blob := range p.Blobs {
				if i%k == 0 {
					hs = append(hs, pack.Handle{Type: p.Type, ID: blob.ID})
				}
				i++
			}
		}
	}
	rand.New(rand.NewPCG(5, 5)).Shuffle(len(hs), func(i, j int) { hs[i], hs[j] = hs[j], hs[i] })
	return hs
}

// lookupTimes returns the mean time, in ns, to look up each of hs, and to
// look up each with a bit of its ID flipped, which the index lacks.
func lookupTimes(b *testing.B, idx *Index, hs []pack.Handle) (hit, miss float64) {
	start := time.Now()
	for _, h := range hs {
		if _, ok := idx.Lookup(h); !ok {
			b.Fatalf("%v missing", h)
		}
	}
	hit = float64(time.Since(start).Nanoseconds()) / float64(len(hs))
	start = time.Now()
	for _, h := range hs {
		h.ID[31] ^= 1
		if _, ok := idx.Lookup(h); ok {
			b.Fatalf("%v found", h)
		}
	}
	miss = float64(time.Since(start).Nanoseconds()) / float64(len(hs))
	return hit, miss
}
