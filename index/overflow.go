package index

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/cairnbackup/cairn/crypto"
)

// ovRecSize is an overflow record: the full ID, then the value. Dropping the
// first two bytes gives a run record.
const ovRecSize = crypto.IDSize + valueSize

// overflow holds a shard's recent inserts until they are merged into its run:
// records in insertion order and a hash table over them. Merging empties it.
type overflow struct {
	recs []byte // ovRecSize bytes per record
	// Linear probing: record number + 1 in the low 24 bits, 0 when free,
	// and in the high 8 bits a byte of the ID, so that a probe rarely
	// needs to fetch a record that does not match.
	slots []uint32
}

// maxOverflow bounds the records of an overflow, so their numbers fit the
// slots.
const maxOverflow = 1<<24 - 1

func tag(id *crypto.ID) uint32 { return uint32(id[16]) << 24 }

func (o *overflow) len() int { return len(o.recs) / ovRecSize }

func (o *overflow) rec(i int) []byte { return o.recs[i*ovRecSize : (i+1)*ovRecSize] }

// slot returns the first slot to probe for id. The ID's middle bytes are
// uniformly random and, unlike its first bytes, differ within a shard.
func (o *overflow) slot(id *crypto.ID) int {
	h := binary.LittleEndian.Uint64(id[8:]) * 0x9e3779b97f4a7c15
	return int(h >> (64 - bits.Len(uint(len(o.slots)-1))))
}

// find returns the number of the record of (id, typ), or -1.
func (o *overflow) find(id *crypto.ID, typ uint32) int {
	if len(o.slots) == 0 {
		return -1
	}
	mask, t := len(o.slots)-1, tag(id)
	for i := o.slot(id); o.slots[i] != 0; i = (i + 1) & mask {
		s := o.slots[i]
		if s&^maxOverflow != t {
			continue
		}
		n := int(s&maxOverflow) - 1
		rec := o.rec(n)
		if bytes.Equal(rec[:crypto.IDSize], id[:]) && refOf(rec[crypto.IDSize:])&typeBit == typ {
			return n
		}
	}
	return -1
}

// add appends a record that the shard does not hold yet.
func (o *overflow) add(id *crypto.ID, e entry) {
	n := o.len()
	if (n+1)*4 > len(o.slots)*3 {
		o.rehash(max(16, 2*len(o.slots)))
	}
	if len(o.recs) == cap(o.recs) {
		// Grow by a quarter rather than double: spare capacity here
		// costs as much per record as the hash table.
		o.recs = slices.Grow(o.recs, max(64, n/4)*ovRecSize)
	}
	o.recs = e.append(append(o.recs, id[:]...))
	o.place(n)
}

func (o *overflow) place(n int) {
	mask := len(o.slots) - 1
	id := (*crypto.ID)(o.rec(n))
	i := o.slot(id)
	for o.slots[i] != 0 {
		i = (i + 1) & mask
	}
	o.slots[i] = uint32(n+1) | tag(id)
}

func (o *overflow) rehash(size int) {
	o.slots = make([]uint32, size)
	for i := range o.len() {
		o.place(i)
	}
}

// toRun returns the records as a sorted run: a counting sort by bucket, then
// a sort of each bucket's few records.
func (o *overflow) toRun() run {
	n := o.len()
	if n == 0 {
		return run{}
	}
	key := func(i uint32) []byte { return o.rec(int(i))[crypto.IDSize-keySize:] }
	r := run{recs: make([]byte, n*recSize), dir: make([]uint32, numBuckets)}
	next := make([]uint32, numBuckets+1)
	for i := range n {
		next[bucketOf((*crypto.ID)(o.rec(i)))+1]++
	}
	for b := range numBuckets {
		next[b+1] += next[b]
	}
	copy(r.dir, next)
	order := make([]sortKey, n)
	for i := range n {
		b := bucketOf((*crypto.ID)(o.rec(i)))
		order[next[b]] = sortKey{binary.BigEndian.Uint64(key(uint32(i))), uint32(i), uint32(i)}
		next[b]++
	}
	for b := range numBuckets {
		lo, hi := r.bounds(b)
		sortKeys(order[lo:hi], key)
	}
	for w, k := range order {
		copy(r.recs[w*recSize:], key(k.i))
	}
	r.finish()
	return r
}
