package index

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
)

// packChunkLen packs per chunk: 992 IDs and their flag bytes fill the 32 KiB
// size class exactly, so the table wastes nothing on allocation rounding and
// never copies IDs to grow.
const packChunkLen = 992

// Pack flags, one byte per pack.
const (
	packTree      = 1 << 0
	packCondemned = 1 << 1
)

type packChunk struct {
	ids   [packChunkLen]crypto.ID
	flags [packChunkLen / 4]atomic.Uint32 // four flag bytes per word
}

// packTable numbers the packs of an index, so records hold a 4-byte number
// instead of a 32-byte name. A pack is keyed by ID and type: a pack claimed
// with both types by different index files keeps two numbers, and a check can
// see both. Readers need no lock: an ID is written before its number is
// published, and flags are atomic.
type packTable struct {
	mu     sync.Mutex
	chunks atomic.Pointer[[]*packChunk] // replaced, never modified, to grow
	count  atomic.Uint32
	slots  []uint32 // guarded by mu; linear probing: number + 1, or 0
}

func (t *packTable) len() int { return int(t.count.Load()) }

func (t *packTable) at(num uint32) (*packChunk, uint32) {
	return (*t.chunks.Load())[num/packChunkLen], num % packChunkLen
}

func (t *packTable) id(num uint32) crypto.ID {
	c, j := t.at(num)
	return c.ids[j]
}

func (t *packTable) flags(num uint32) uint8 {
	c, j := t.at(num)
	return uint8(c.flags[j/4].Load() >> (8 * (j % 4)))
}

func (t *packTable) setFlags(num uint32, f uint8) {
	c, j := t.at(num)
	c.flags[j/4].Or(uint32(f) << (8 * (j % 4)))
}

func (t *packTable) condemned(ref uint32) bool {
	return t.flags(ref&^typeBit)&packCondemned != 0
}

// prefer reports whether a blob's location in the pack of ref new should
// replace its location in the pack of ref old: the first location wins
// unless its pack is condemned and the new one is not.
func (t *packTable) prefer(old, new uint32) bool {
	return t.condemned(old) && !t.condemned(new)
}

// add returns the number of a pack, registering it if it is new. Condemning
// is sticky: a pack that any index file condemns stays condemned.
func (t *packTable) add(id crypto.ID, typ pack.BlobType, condemned bool) (uint32, error) {
	var f uint8
	if typ == pack.TreeBlob {
		f = packTree
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	num, ok := t.find(&id, f)
	if !ok {
		num = t.count.Load()
		if num >= maxPacks {
			return 0, fmt.Errorf("index: more than %d packs", maxPacks)
		}
		if num%packChunkLen == 0 {
			var chunks []*packChunk
			if p := t.chunks.Load(); p != nil {
				chunks = *p
			}
			chunks = append(chunks[:len(chunks):len(chunks)], new(packChunk))
			t.chunks.Store(&chunks)
		}
		c, j := t.at(num)
		c.ids[j] = id
		t.setFlags(num, f)
		t.count.Store(num + 1)
		t.place(num)
	}
	if condemned {
		t.setFlags(num, packCondemned)
	}
	return num, nil
}

func (t *packTable) slot(id *crypto.ID, f uint8) int {
	h := (binary.LittleEndian.Uint64(id[:]) ^ uint64(f)) * 0x9e3779b97f4a7c15
	return int(h >> (64 - bits.Len(uint(len(t.slots)-1))))
}

func (t *packTable) find(id *crypto.ID, f uint8) (uint32, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	mask := len(t.slots) - 1
	for i := t.slot(id, f); t.slots[i] != 0; i = (i + 1) & mask {
		num := t.slots[i] - 1
		c, j := t.at(num)
		if c.ids[j] == *id && t.flags(num)&packTree == f {
			return num, true
		}
	}
	return 0, false
}

// place enters a new pack into the hash table, growing it at 3/4 load.
func (t *packTable) place(num uint32) {
	if int(num+1)*4 > len(t.slots)*3 {
		t.slots = make([]uint32, max(64, 2*len(t.slots)))
		for i := range num {
			t.place(i)
		}
	}
	mask := len(t.slots) - 1
	c, j := t.at(num)
	i := t.slot(&c.ids[j], t.flags(num)&packTree)
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = num + 1
}
