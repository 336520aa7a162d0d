package index

import (
	"fmt"
	"sync/atomic"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
)

// Index maps blobs to their locations in packs, compactly, for many
// goroutines at once. The zero value is an empty index ready to use.
//
// Layout. A blob ID is 32 uniformly random bytes: its first 5 bits select
// one of 32 shards and its next 11 bits one of 2048 buckets in the shard,
// so the record keeps neither. Each shard holds a run, one []byte of
// 46-byte records sorted by ID, and the record number where each bucket
// starts (uint16 while the shard has fewer than 65536 records):
//
//	ID[2:32]    30 bytes
//	ref          4 bytes  pack number; top bit set for a tree blob
//	offset       4 bytes
//	length       4 bytes
//	raw length   4 bytes
//
// The pack table holds each pack's 32-byte ID and a flag byte (type,
// condemned) in chunks of 992 that fill the 32 KiB size class, and a hash
// table of 4-byte pack numbers, at most 3/4 full, for finding a pack by ID.
//
// Budget per blob, at 30 blobs per pack (at 1000, the pack table is 0.04):
//
//	                          1 M blobs   10 M blobs
//	record                      46          46
//	pack IDs and flags           1.11        1.10
//	pack hash table              0.26        0.21
//	bucket starts                0.13        0.03
//	page rounding of runs        0.13        0.01
//	total                       47.63       47.35
//
// Blobs added one by one go to the shard's overflow first: 48-byte records
// in insertion order with a hash table over them, merged into the run when
// they exceed 1/32 of it (bulk loads allow 1/4 and end with Compact). The
// overflow costs about 15 bytes per record in it, so up to 0.5 bytes per
// blob more between merges.
//
// A lookup interpolates within the bucket, since IDs are uniform, and scans
// a few neighbouring records: about two cache misses in all. Each shard has
// its own RWMutex; the pack table is read without locks.
type Index struct {
	shards [numShards]shard
	packs  packTable
	n      atomic.Int64
}

// Location is where a blob lives.
type Location struct {
	Pack      crypto.ID
	Offset    uint32 // of the sealed blob in the pack
	Length    uint32 // of the sealed blob
	RawLength uint32 // of the data before compression
	// Condemned tells that the pack is scheduled for deletion: the blob can
	// still be read, but a backup must store it again rather than refer to it.
	Condemned bool
}

// New returns an empty index.
func New() *Index { return new(Index) }

// Lookup returns the location of a blob.
func (idx *Index) Lookup(h pack.Handle) (Location, bool) {
	e, ok := idx.find(h)
	if !ok {
		return Location{}, false
	}
	return idx.location(e), true
}

// Has reports whether the index knows a blob, in a condemned pack or not.
func (idx *Index) Has(h pack.Handle) bool {
	_, ok := idx.find(h)
	return ok
}

func (idx *Index) find(h pack.Handle) (entry, bool) {
	if !h.Type.Valid() {
		return entry{}, false
	}
	s := &idx.shards[shardOf(&h.ID)]
	s.mu.RLock()
	e, ok := s.lookup(&h.ID, typeRef(h.Type))
	s.mu.RUnlock()
	return e, ok
}

func (idx *Index) location(e entry) Location {
	num := e.ref &^ typeBit
	return Location{
		Pack:      idx.packs.id(num),
		Offset:    e.offset,
		Length:    e.length,
		RawLength: e.rawLength,
		Condemned: idx.packs.flags(num)&packCondemned != 0,
	}
}

// Len returns the number of blobs.
func (idx *Index) Len() int { return int(idx.n.Load()) }

// PackCount returns the number of packs, counting a pack listed with both
// blob types twice.
func (idx *Index) PackCount() int { return idx.packs.len() }

// AddPack adds the blobs of one pack. A blob the index knows already keeps
// its first location, unless that is in a condemned pack and p is not. A
// pack added again keeps its number; if p is condemned, so is the pack from
// now on, but blobs that chose it over another pack earlier do not move.
func (idx *Index) AddPack(p Pack) error {
	if !p.Type.Valid() {
		return fmt.Errorf("index: pack %s: invalid blob type %d", p.ID.Short(), p.Type)
	}
	num, err := idx.packs.add(p.ID, p.Type, p.Condemned)
	if err != nil {
		return err
	}
	idx.addBlobs(num|typeRef(p.Type), p.Blobs, overflowShare)
	return nil
}

// addBlobs inserts blobs one by one into their shards.
func (idx *Index) addBlobs(ref uint32, blobs []pack.Blob, share int) {
	added := 0
	for i := range blobs {
		b := &blobs[i]
		e := entry{ref: ref, offset: b.Offset, length: b.Length, rawLength: b.RawLength}
		if idx.shards[shardOf(&b.ID)].insert(&b.ID, e, &idx.packs, share) {
			added++
		}
	}
	idx.n.Add(int64(added))
}

// AddFile adds the packs of a decoded index file, as AddFiles does. It
// ignores f.Supersedes: callers load only the files that Live returns.
func (idx *Index) AddFile(f *File) error { return idx.AddFiles(f) }

// Compact merges every shard's overflow into its run, which minimizes
// memory. Call it after adding many blobs, such as at repository open.
func (idx *Index) Compact() {
	for i := range idx.shards {
		s := &idx.shards[i]
		s.mu.Lock()
		s.compact(&idx.packs)
		s.mu.Unlock()
	}
}

func typeRef(t pack.BlobType) uint32 {
	if t == pack.TreeBlob {
		return typeBit
	}
	return 0
}

func typeOf(ref uint32) pack.BlobType {
	if ref&typeBit != 0 {
		return pack.TreeBlob
	}
	return pack.DataBlob
}
