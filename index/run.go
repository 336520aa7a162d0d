package index

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/cairnbackup/cairn/crypto"
)

// Layout of the in-memory index. The first 16 bits of a blob ID select a
// shard (shardBits) and a bucket within it (bucketBits); records keep only
// the remaining 30 bytes of the ID.
const (
	shardBits  = 5
	numShards  = 1 << shardBits
	bucketBits = 16 - shardBits
	numBuckets = 1 << bucketBits

	keySize   = crypto.IDSize - 2 // the ID bytes a record keeps
	valueSize = 16                // ref, offset, length, raw length
	recSize   = keySize + valueSize

	// typeBit in a ref marks a tree blob; the other bits number the pack.
	typeBit  = 1 << 31
	maxPacks = typeBit
)

func shardOf(id *crypto.ID) int { return int(id[0] >> (8 - shardBits)) }

func bucketOf(id *crypto.ID) int {
	return int(id[0]&(1<<(8-shardBits)-1))<<8 | int(id[1])
}

// idAt rebuilds a full ID from its shard, bucket and stored key.
func idAt(shard, bucket int, key []byte) crypto.ID {
	var id crypto.ID
	id[0] = byte(shard<<(8-shardBits) | bucket>>8)
	id[1] = byte(bucket)
	copy(id[2:], key)
	return id
}

// entry is the value part of a record: where a blob lives.
type entry struct {
	ref       uint32 // pack number, and typeBit for a tree blob
	offset    uint32
	length    uint32
	rawLength uint32
}

func getEntry(b []byte) entry {
	_ = b[valueSize-1]
	return entry{
		ref:       binary.LittleEndian.Uint32(b),
		offset:    binary.LittleEndian.Uint32(b[4:]),
		length:    binary.LittleEndian.Uint32(b[8:]),
		rawLength: binary.LittleEndian.Uint32(b[12:]),
	}
}

func (e entry) put(b []byte) {
	_ = b[valueSize-1]
	binary.LittleEndian.PutUint32(b, e.ref)
	binary.LittleEndian.PutUint32(b[4:], e.offset)
	binary.LittleEndian.PutUint32(b[8:], e.length)
	binary.LittleEndian.PutUint32(b[12:], e.rawLength)
}

func (e entry) append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, e.ref)
	b = binary.LittleEndian.AppendUint32(b, e.offset)
	b = binary.LittleEndian.AppendUint32(b, e.length)
	return binary.LittleEndian.AppendUint32(b, e.rawLength)
}

// compareKey orders records by stored ID bytes, then type. key is the 30
// stored bytes of an ID and typ is 0 or typeBit.
func compareKey(rec, key []byte, typ uint32) int {
	// The first 8 bytes nearly always decide.
	if a, b := binary.BigEndian.Uint64(rec), binary.BigEndian.Uint64(key); a != b {
		if a < b {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(rec[8:keySize], key[8:keySize]); c != 0 {
		return c
	}
	switch rt := binary.LittleEndian.Uint32(rec[keySize:]) & typeBit; {
	case rt < typ:
		return -1
	case rt > typ:
		return 1
	}
	return 0
}

// run is a sorted, packed array of records of one shard, with the start of
// each bucket. Runs are never modified in place except to replace the value
// of a record; merging builds a new run.
type run struct {
	recs []byte // recSize bytes per record, sorted by bucket, key, type
	// The record number where each bucket starts: in dir while a run is
	// built, then in dir16 if the run has fewer than 2^16 records, which
	// halves the directory of the shards of indexes below 2 M blobs.
	dir   []uint32
	dir16 []uint16
}

func (r *run) len() int { return len(r.recs) / recSize }

func (r *run) rec(i int) []byte { return r.recs[i*recSize : (i+1)*recSize] }

// bounds returns the records of bucket b.
func (r *run) bounds(b int) (lo, hi int) {
	if len(r.recs) == 0 {
		return 0, 0
	}
	lo = r.start(b)
	if b+1 < numBuckets {
		return lo, r.start(b + 1)
	}
	return lo, r.len()
}

func (r *run) start(b int) int {
	if r.dir16 != nil {
		return int(r.dir16[b])
	}
	return int(r.dir[b])
}

// finish shrinks the directory of a run that is built.
func (r *run) finish() {
	switch n := r.len(); {
	case n == 0:
		*r = run{}
	case n < 1<<16 && r.dir != nil:
		r.dir16 = make([]uint16, numBuckets)
		for i, v := range r.dir {
			r.dir16[i] = uint16(v)
		}
		r.dir = nil
	}
}

// search finds the record of (key, typ) in bucket b, or where it would go.
// IDs are uniformly random, so interpolating on the key's first 8 bytes
// lands within a few records of the target. From there a short linear scan,
// whose loads the CPU can issue ahead, beats a binary search, whose loads
// depend on each other; beyond maxScan records, which only hostile IDs
// reach, it bisects the rest.
func (r *run) search(b int, key []byte, typ uint32) (int, bool) {
	const maxScan = 16
	lo, hi := r.bounds(b)
	if lo == hi {
		return lo, false
	}
	end := hi
	less := func(i int) bool { return compareKey(r.rec(i), key, typ) < 0 }
	frac, _ := bits.Mul64(binary.BigEndian.Uint64(key), uint64(hi-lo))
	// Narrow [lo, hi] down to the first record not less than key.
	if i := lo + int(frac); less(i) {
		lo = i + 1
		for n := 0; lo < hi && n < maxScan; n++ {
			if !less(lo) {
				hi = lo
				break
			}
			lo++
		}
	} else {
		hi = i
		for n := 0; lo < hi && n < maxScan; n++ {
			if less(hi - 1) {
				lo = hi
				break
			}
			hi--
		}
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if less(m) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < end && compareKey(r.rec(lo), key, typ) == 0
}

// refOf returns the ref of a record's value.
func refOf(value []byte) uint32 { return binary.LittleEndian.Uint32(value) }

// compareRecs orders two records of a run.
func compareRecs(a, b []byte) int {
	return compareKey(a, b[:keySize], refOf(b[keySize:])&typeBit)
}

// mergeRuns merges a into a new run with b, which holds younger records.
// Where both hold a blob, a's record wins unless it points into a condemned
// pack and b's does not.
func mergeRuns(a, b *run, pt *packTable) run {
	out := make([]byte, len(a.recs)+len(b.recs))
	dir := make([]uint32, numBuckets)
	w := 0 // bytes written
	for bk := range numBuckets {
		dir[bk] = uint32(w / recSize)
		ia, ea := a.bounds(bk)
		ib, eb := b.bounds(bk)
		for ; ib < eb; ib++ {
			rb := b.rec(ib)
			// Copy the records of a that come first in one piece: b is
			// usually much smaller than a.
			j := a.skip(ia, ea, rb)
			w += copy(out[w:], a.recs[ia*recSize:j*recSize])
			ia = j
			if ia < ea && compareRecs(a.rec(ia), rb) == 0 {
				if !pt.prefer(refOf(a.rec(ia)[keySize:]), refOf(rb[keySize:])) {
					rb = a.rec(ia)
				}
				ia++
			}
			w += copy(out[w:], rb)
		}
		w += copy(out[w:], a.recs[ia*recSize:ea*recSize])
	}
	r := run{recs: fit(out[:w]), dir: dir}
	r.finish()
	return r
}

// skip returns the first record in [i, end) not less than rec, galloping
// from i.
func (r *run) skip(i, end int, rec []byte) int {
	less := func(j int) bool { return compareRecs(r.rec(j), rec) < 0 }
	step := 1
	for i+step-1 < end && less(i+step-1) {
		i += step
		step *= 2
	}
	hi := min(i+step-1, end)
	for i < hi {
		m := int(uint(i+hi) >> 1)
		if less(m) {
			i = m + 1
		} else {
			hi = m
		}
	}
	return i
}

// fit drops spare capacity that duplicates left behind, when it matters.
func fit(b []byte) []byte {
	if cap(b)-len(b) <= len(b)/64 {
		return b
	}
	return append(make([]byte, 0, len(b)), b...)
}
