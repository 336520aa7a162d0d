package index

import (
	"bytes"
	"cmp"
	"iter"
	"slices"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
)

// All yields every blob and its location, in no particular order. It copies
// one shard at a time and yields outside any lock, so the loop body may use
// and modify the index; blobs added meanwhile may or may not be yielded.
func (idx *Index) All() iter.Seq2[pack.Handle, Location] {
	return func(yield func(pack.Handle, Location) bool) {
		var snap []byte
		for s := range idx.shards {
			snap = idx.snapshot(s, snap[:0])
			for i := 0; i < len(snap); i += ovRecSize {
				rec := snap[i : i+ovRecSize]
				e := getEntry(rec[crypto.IDSize:])
				h := pack.Handle{Type: typeOf(e.ref), ID: crypto.ID(rec)}
				if !yield(h, idx.location(e)) {
					return
				}
			}
		}
	}
}

// snapshot appends the records of shard s to buf in overflow form.
func (idx *Index) snapshot(s int, buf []byte) []byte {
	sh := &idx.shards[s]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	buf = slices.Grow(buf, sh.len()*ovRecSize)
	idx.scanShard(s, func(id *crypto.ID, value []byte) {
		buf = append(append(buf, id[:]...), value...)
	})
	return append(buf, sh.ov.recs...)
}

// scanShard calls fn for each record of shard s's run; the caller holds the
// shard's lock.
func (idx *Index) scanShard(s int, fn func(id *crypto.ID, value []byte)) {
	r := &idx.shards[s].main
	for bk := range numBuckets {
		lo, hi := r.bounds(bk)
		for i := lo; i < hi; i++ {
			rec := r.rec(i)
			id := idAt(s, bk, rec[:keySize])
			fn(&id, rec[keySize:])
		}
	}
}

// scan calls fn for the value of every record, holding one shard's read
// lock at a time.
func (idx *Index) scan(fn func(id *crypto.ID, value []byte)) {
	for s := range idx.shards {
		sh := &idx.shards[s]
		sh.mu.RLock()
		idx.scanShard(s, fn)
		for i := range sh.ov.len() {
			rec := sh.ov.rec(i)
			fn((*crypto.ID)(rec), rec[crypto.IDSize:])
		}
		sh.mu.RUnlock()
	}
}

// packBatch bounds the blobs that Packs gathers per pass over the index.
const packBatch = 1 << 20

// Packs yields every pack with the blobs whose location is in it, sorted by
// offset; a blob stored in several packs is listed under the one Lookup
// returns, so a pack may have no blobs. Packs come in the order they were
// first added. It gathers up to about a million blobs per pass over the
// index, so memory stays bounded; each yielded Pack's Blobs is the caller's.
func (idx *Index) Packs() iter.Seq[Pack] {
	return func(yield func(Pack) bool) {
		n := uint32(idx.packs.len())
		counts := make([]int, n)
		idx.scan(func(_ *crypto.ID, value []byte) {
			if num := refOf(value) &^ typeBit; num < n {
				counts[num]++
			}
		})
		for first := uint32(0); first < n; {
			last, total := first, 0
			for last < n && (last == first || total+counts[last] <= packBatch) {
				total += counts[last]
				last++
			}
			if !idx.yieldPacks(first, last, counts[first:last], yield) {
				return
			}
			first = last
		}
	}
}

// yieldPacks gathers the blobs of packs [first, last) and yields the packs.
func (idx *Index) yieldPacks(first, last uint32, counts []int, yield func(Pack) bool) bool {
	start := make([]int, len(counts)+1)
	for i, c := range counts {
		start[i+1] = start[i] + c
	}
	blobs := make([]pack.Blob, start[len(counts)])
	fill := slices.Clone(start[:len(counts)])
	idx.scan(func(id *crypto.ID, value []byte) {
		e := getEntry(value)
		num := e.ref &^ typeBit
		if num < first || num >= last {
			return
		}
		// Blobs added since counting may not fit; they are left out.
		if k := num - first; fill[k] < start[k+1] {
			blobs[fill[k]] = pack.Blob{ID: *id, Offset: e.offset, Length: e.length, RawLength: e.rawLength}
			fill[k]++
		}
	})
	for k := range counts {
		num := first + uint32(k)
		flags := idx.packs.flags(num)
		p := Pack{ID: idx.packs.id(num), Type: pack.DataBlob, Condemned: flags&packCondemned != 0}
		if flags&packTree != 0 {
			p.Type = pack.TreeBlob
		}
		p.Blobs = blobs[start[k]:fill[k]:fill[k]]
		slices.SortFunc(p.Blobs, func(a, b pack.Blob) int { return cmp.Compare(a.Offset, b.Offset) })
		if !yield(p) {
			return false
		}
	}
	return true
}

// PackIDs returns the IDs of all packs, sorted, each once.
func (idx *Index) PackIDs() []crypto.ID {
	n := uint32(idx.packs.len())
	ids := make([]crypto.ID, n)
	for i := range n {
		ids[i] = idx.packs.id(i)
	}
	slices.SortFunc(ids, func(a, b crypto.ID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(ids)
}
