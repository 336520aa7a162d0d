package index

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
	"github.com/stretchr/testify/require"
)

// largeEnv enables the 10 M-blob benchmarks, which take a minute and 2 GiB.
const largeEnv = "CAIRN_INDEX_LARGE"

// syntheticFiles returns index files with n blobs in all, perPack blobs per
// pack and perFile blobs per file, every 20th pack a tree pack: the shape
// of a repository's index at open.
func syntheticFiles(seed uint64, n, perPack, perFile int) []*File {
	r := rand.New(rand.NewPCG(seed, 1))
	var files []*File
	var f *File
	inFile := 0
	for i := 0; i < n; {
		if f == nil || inFile >= perFile {
			f = &File{Created: time.Unix(1700000000, 0)}
			files = append(files, f)
			inFile = 0
		}
		p := Pack{ID: randomID(r), Type: pack.DataBlob, Blobs: make([]pack.Blob, min(perPack, n-i))}
		if len(f.Packs)%20 == 19 {
			p.Type = pack.TreeBlob
		}
		var off uint32
		for j := range p.Blobs {
			l := 41 + r.Uint32N(1<<20)
			p.Blobs[j] = pack.Blob{ID: randomID(r), Offset: off, Length: l, RawLength: l}
			off += l
		}
		f.Packs = append(f.Packs, p)
		i += len(p.Blobs)
		inFile += len(p.Blobs)
	}
	return files
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// bytesPerBlob builds an index of n blobs with load and returns the heap it
// keeps per blob. The input files are garbage by the time it measures.
func bytesPerBlob(n, perPack, perFile int, load func(*Index, []*File)) float64 {
	before := heapAlloc()
	idx := New()
	load(idx, syntheticFiles(uint64(n), n, perPack, perFile))
	after := heapAlloc()
	per := float64(after-before) / float64(idx.Len())
	runtime.KeepAlive(idx)
	return per
}

var loads = []struct {
	name    string
	perFile int
	load    func(*Index, []*File)
}{
	{"AddFiles", 100_000, func(idx *Index, files []*File) { idx.AddFiles(files...) }},
	{"AddFiles-batches+Compact", 10_000, func(idx *Index, files []*File) {
		for i := 0; i < len(files); i += 100 { // a million blobs per call
			idx.AddFiles(files[i:min(i+100, len(files))]...)
		}
		idx.Compact()
	}},
	{"AddFile+Compact", 10_000, func(idx *Index, files []*File) {
		for _, f := range files {
			idx.AddFile(f)
		}
		idx.Compact()
	}},
	{"AddPack", 10_000, func(idx *Index, files []*File) {
		for _, f := range files {
			for _, p := range f.Packs {
				idx.AddPack(p)
			}
		}
	}},
}

func sizes(b *testing.B) []int {
	if os.Getenv(largeEnv) != "" {
		return []int{1_000_000, 10_000_000}
	}
	return []int{1_000_000}
}

// BenchmarkMemory reports the heap an index keeps per blob (B/blob), after
// bulk loading, after loading file by file with Compact, and after single
// inserts without Compact, where the overflow costs more.
func BenchmarkMemory(b *testing.B) {
	for _, n := range sizes(b) {
		for _, perPack := range []int{30, 1000} {
			for _, l := range loads {
				b.Run(fmt.Sprintf("%dM/%dperPack/%s", n/1_000_000, perPack, l.name), func(b *testing.B) {
					var per float64
					for b.Loop() {
						per = bytesPerBlob(n, perPack, l.perFile, l.load)
					}
					b.ReportMetric(per, "B/blob")
				})
			}
		}
	}
}

func TestMemoryBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1 M-blob index")
	}
	for _, perPack := range []int{30, 1000} {
		per := bytesPerBlob(1_000_000, perPack, 100_000, loads[0].load)
		require.LessOrEqual(t, per, 48.0, "%d blobs per pack", perPack)
	}
}

// BenchmarkAddFiles measures loading an index at repository open.
func BenchmarkAddFiles(b *testing.B) {
	for _, n := range sizes(b) {
		for _, perPack := range []int{30, 1000} {
			for _, l := range loads[:3] {
				b.Run(fmt.Sprintf("%dM/%dperPack/%s", n/1_000_000, perPack, l.name), func(b *testing.B) {
					files := syntheticFiles(1, n, perPack, l.perFile)
					for b.Loop() {
						l.load(New(), files)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/blob")
				})
			}
		}
	}
}

// lookupIndex returns an index of n blobs in 30-blob packs and their handles.
func lookupIndex(b *testing.B, n int) (*Index, []pack.Handle) {
	files := syntheticFiles(2, n, 30, 100_000)
	idx := New()
	require.NoError(b, idx.AddFiles(files...))
	var hs []pack.Handle
	for _, f := range files {
		for _, p := range f.Packs {
			for _, blob := range p.Blobs {
				hs = append(hs, pack.Handle{Type: p.Type, ID: blob.ID})
			}
		}
	}
	rand.New(rand.NewPCG(3, 3)).Shuffle(len(hs), func(i, j int) { hs[i], hs[j] = hs[j], hs[i] })
	return idx, hs
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range sizes(b) {
		idx, hs := lookupIndex(b, n)
		b.Run(fmt.Sprintf("%dM/hit", n/1_000_000), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, ok := idx.Lookup(hs[i%len(hs)]); !ok {
					b.Fatal("miss")
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("%dM/miss", n/1_000_000), func(b *testing.B) {
			i := 0
			for b.Loop() {
				h := hs[i%len(hs)]
				h.ID[31] ^= 1
				if idx.Has(h) {
					b.Fatal("hit")
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("%dM/hit-parallel", n/1_000_000), func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(len(hs))
				for pb.Next() {
					idx.Lookup(hs[i%len(hs)])
					i++
				}
			})
		})
	}
}

// BenchmarkInsert adds 30-blob packs of fresh blobs one at a time to an
// index of 1 M blobs; ns/blob is the figure to read.
func BenchmarkInsert(b *testing.B) {
	idx, _ := lookupIndex(b, 1_000_000)
	r := rand.New(rand.NewPCG(4, 4))
	packs := make([]Pack, 1024)
	for i := range packs {
		packs[i].Blobs = make([]pack.Blob, 30)
	}
	fresh := func() {
		for i := range packs {
			packs[i].ID = randomID(r)
			for j := range packs[i].Blobs {
				packs[i].Blobs[j] = pack.Blob{ID: randomID(r), Offset: uint32(j) << 20, Length: 1 << 20}
			}
		}
	}
	i := 0
	for b.Loop() {
		if i%len(packs) == 0 {
			b.StopTimer()
			fresh()
			b.StartTimer()
		}
		if err := idx.AddPack(packs[i%len(packs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*30), "ns/blob")
}

func BenchmarkEncode(b *testing.B) {
	k := newKey(b)
	f := randomFile(rand.New(rand.NewPCG(1, 1)), 100_000/30, 30)
	for b.Loop() {
		if _, err := f.Encode(k); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	k := newKey(b)
	data, err := randomFile(rand.New(rand.NewPCG(1, 1)), 100_000/30, 30).Encode(k)
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(k, data); err != nil {
			b.Fatal(err)
		}
	}
}

var _ = crypto.ID{}
