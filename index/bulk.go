package index

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// smallAdd is the number of blobs below which AddFiles inserts them one by
// one rather than sorting.
const smallAdd = 4096

// AddFiles adds the packs of several decoded index files, with the same
// rules as AddPack; earlier files and packs count as added first. It is the
// fast way to load a repository's index: for every shard that receives many
// blobs relative to its size, it sorts them straight into a run, spread over
// GOMAXPROCS goroutines, and merges that run into the shard once; other
// shards take the blobs one by one, letting their overflow grow larger than
// AddPack does. Lookups may run meanwhile.
//
// Load a repository's files in as few calls as memory allows (batches of a
// million blobs cost little more than one call), then call Compact. A file
// with an invalid pack type is refused before anything is added.
func (idx *Index) AddFiles(files ...*File) error {
	for _, f := range files {
		for _, p := range f.Packs {
			if !p.Type.Valid() {
				return fmt.Errorf("index: pack %s: invalid blob type %d", p.ID.Short(), p.Type)
			}
		}
	}
	var refs []uint32 // per pack, in file order
	total := 0
	for _, f := range files {
		for _, p := range f.Packs {
			num, err := idx.packs.add(p.ID, p.Type, p.Condemned)
			if err != nil {
				return err
			}
			refs = append(refs, num|typeRef(p.Type))
			total += len(p.Blobs)
		}
	}
	if total < smallAdd {
		k := 0
		for _, f := range files {
			for _, p := range f.Packs {
				idx.addBlobs(refs[k], p.Blobs, overflowShare)
				k++
			}
		}
		return nil
	}
	b := bulk{idx: idx, files: files, refs: refs, counts: new([numShards][numBuckets]uint32)}
	var pending [numShards]int
	for _, f := range files {
		for _, p := range f.Packs {
			for i := range p.Blobs {
				id := &p.Blobs[i].ID
				b.counts[shardOf(id)][bucketOf(id)]++
				pending[shardOf(id)]++
			}
		}
	}
	for s := range numShards {
		sh := &idx.shards[s]
		sh.mu.RLock()
		size := sh.main.len()
		sh.mu.RUnlock()
		b.sorted[s] = pending[s] >= max(minOverflow, size/overflowShare)
	}
	b.workers = min(runtime.GOMAXPROCS(0), numShards)
	var wg sync.WaitGroup
	for w := range b.workers {
		wg.Go(func() { idx.n.Add(int64(b.add(w))) })
	}
	wg.Wait()
	return nil
}

// bulk is one AddFiles call. Worker w handles the shards s with
// s%workers == w, so workers never wait for each other.
type bulk struct {
	idx     *Index
	files   []*File
	refs    []uint32
	counts  *[numShards][numBuckets]uint32
	sorted  [numShards]bool // whether a shard gets a sorted run or single inserts
	workers int
}

// add adds the blobs of worker w's shards and returns how many were new.
func (b *bulk) add(w int) int {
	var runs [numShards]*run
	var next [numShards][]uint32 // where the next record of each bucket goes
	for s := w; s < numShards; s += b.workers {
		if b.sorted[s] {
			runs[s], next[s] = newRun(&b.counts[s])
		}
	}
	added, k := 0, 0
	for _, f := range b.files {
		for _, p := range f.Packs {
			ref := b.refs[k]
			k++
			for i := range p.Blobs {
				blob := &p.Blobs[i]
				s := shardOf(&blob.ID)
				if s%b.workers != w {
					continue
				}
				e := entry{ref: ref, offset: blob.Offset, length: blob.Length, rawLength: blob.RawLength}
				if r := runs[s]; r != nil {
					bk := bucketOf(&blob.ID)
					rec := r.rec(int(next[s][bk]))
					next[s][bk]++
					copy(rec, blob.ID[2:])
					e.put(rec[keySize:])
				} else if b.idx.shards[s].insert(&blob.ID, e, &b.idx.packs, bulkShare) {
					added++
				}
			}
		}
	}
	for s, r := range runs {
		if r != nil {
			sortRun(r, &b.idx.packs, nil)
			added += b.idx.shards[s].addRun(*r, &b.idx.packs)
		}
	}
	return added
}

// newRun allocates a run for the given number of records per bucket, and
// the position of the first record of each bucket.
func newRun(counts *[numBuckets]uint32) (*run, []uint32) {
	r := &run{dir: make([]uint32, numBuckets)}
	var n uint32
	for bk, c := range counts {
		r.dir[bk] = n
		n += c
	}
	r.recs = make([]byte, int(n)*recSize)
	return r, slices.Clone(r.dir)
}

type sortKey struct {
	prefix uint64 // the first 8 key bytes, big-endian, which nearly always decide
	i      uint32
	rank   uint32 // orders equal records: the first added has the lowest
}

// sortKeys sorts the keys of records of one bucket, whose records rec
// returns, by ID and type; of equal records the first added, by rank, comes
// first.
func sortKeys(keys []sortKey, rec func(i uint32) []byte) {
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.prefix != b.prefix {
			return cmp.Compare(a.prefix, b.prefix)
		}
		return cmp.Or(compareRecs(rec(a.i), rec(b.i)), cmp.Compare(a.rank, b.rank))
	})
}

// sortRun sorts each bucket of a run, and drops the later records of a blob
// by the preference rule. ranks[i] tells when record i was added; nil means
// the records are in the order they were added.
func sortRun(r *run, pt *packTable, ranks []uint32) {
	var keys []sortKey
	var sorted []byte
	rec := func(i uint32) []byte { return r.rec(int(i)) }
	w := 0 // records kept so far
	for bk := range numBuckets {
		lo, hi := r.bounds(bk) // read before dir[bk] is overwritten
		r.dir[bk] = uint32(w)
		if hi-lo == 1 {
			w += copy(r.recs[w*recSize:], r.rec(lo)) / recSize
			continue
		}
		keys = keys[:0]
		for i := lo; i < hi; i++ {
			k := sortKey{prefix: binary.BigEndian.Uint64(r.rec(i)), i: uint32(i), rank: uint32(i)}
			if ranks != nil {
				k.rank = ranks[i]
			}
			keys = append(keys, k)
		}
		sortKeys(keys, rec)
		sorted = sorted[:0]
		for _, k := range keys {
			rec := r.rec(int(k.i))
			if last := len(sorted) - recSize; last >= 0 && compareRecs(sorted[last:], rec) == 0 {
				if pt.prefer(refOf(sorted[last+keySize:]), refOf(rec[keySize:])) {
					copy(sorted[last+keySize:], rec[keySize:])
				}
				continue
			}
			sorted = append(sorted, rec...)
		}
		w += copy(r.recs[w*recSize:], sorted) / recSize
	}
	r.recs = fit(r.recs[:w*recSize])
	r.finish()
}
