package index

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/cairnbackup/cairn/crypto"
)

// notLoaded marks, in a loadPlan's ranks, a pack whose file AddTo leaves out.
const notLoaded = math.MaxUint32

// loadPlan maps the pack numbers of a Loader's records to the index: the
// index's ref for each, and its rank in the order AddFiles would add it.
type loadPlan struct {
	refs  []uint32
	ranks []uint32
}

// AddTo adds to idx the files ids, which must all have been added to l, in
// that order, with the result AddFiles would have given the decoded files:
// earlier files and packs count as added first, and every pack is
// registered, condemned or not, before any blob is placed. The blobs of
// files not in ids are dropped. It builds each shard's run from the loader's
// records on GOMAXPROCS goroutines and empties l, which may be used again.
// Call Compact afterwards, as after AddFiles.
func (l *Loader) AddTo(idx *Index, ids []crypto.ID) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	plan, err := l.plan(idx, ids)
	if err != nil {
		return err
	}
	shards := l.shards
	l.files, l.packs, l.shards = nil, nil, [numShards]loadShard{}
	workers := min(runtime.GOMAXPROCS(0), numShards)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			added := 0
			for s := w; s < numShards; s += workers {
				added += idx.buildShard(s, &shards[s], plan)
			}
			idx.n.Add(int64(added))
		})
	}
	wg.Wait()
	return nil
}

// plan registers the packs of files ids with idx, in order.
func (l *Loader) plan(idx *Index, ids []crypto.ID) (loadPlan, error) {
	p := loadPlan{refs: make([]uint32, len(l.packs)), ranks: make([]uint32, len(l.packs))}
	for i := range p.ranks {
		p.ranks[i] = notLoaded
	}
	for _, id := range ids {
		if _, ok := l.files[id]; !ok {
			return loadPlan{}, fmt.Errorf("index: file %s not loaded", id.Short())
		}
	}
	rank := uint32(0)
	for _, id := range ids {
		lf := l.files[id]
		if len(lf.head.Packs) > 0 && p.ranks[lf.first] != notLoaded {
			continue // listed twice: its records count once, first
		}
		for k, pk := range lf.head.Packs {
			num, err := idx.packs.add(pk.ID, pk.Type, pk.Condemned)
			if err != nil {
				return loadPlan{}, err
			}
			i := lf.first + uint32(k)
			p.refs[i] = num | typeRef(pk.Type)
			p.ranks[i] = rank
			rank++
		}
	}
	return p, nil
}

// buildShard sorts the records of ls that the plan loads into a run, merges
// it into shard s, and returns how many blobs were new.
func (idx *Index) buildShard(s int, ls *loadShard, plan loadPlan) int {
	counts := new([numBuckets]uint32)
	total := 0
	eachLoadRec(ls, func(id *crypto.ID, num uint32, _ []byte) {
		if plan.ranks[num] != notLoaded {
			counts[bucketOf(id)]++
			total++
		}
	})
	if total == 0 {
		return 0
	}
	r, next := newRun(counts)
	ranks := make([]uint32, total)
	eachLoadRec(ls, func(id *crypto.ID, num uint32, loc []byte) {
		if plan.ranks[num] == notLoaded {
			return
		}
		bk := bucketOf(id)
		i := next[bk]
		next[bk]++
		rec := r.rec(int(i))
		copy(rec, id[2:])
		binary.LittleEndian.PutUint32(rec[keySize:], plan.refs[num])
		copy(rec[keySize+4:], loc)
		ranks[i] = plan.ranks[num]
	})
	*ls = loadShard{} // its records are garbage now
	sortRun(r, &idx.packs, ranks)
	return idx.shards[s].addRun(*r, &idx.packs)
}

// eachLoadRec calls fn with each record of ls: the blob's ID, its pack's
// number in the Loader, and its offset, length and raw length as a run
// record stores them.
func eachLoadRec(ls *loadShard, fn func(id *crypto.ID, num uint32, loc []byte)) {
	for _, c := range ls.chunks {
		for i := 0; i < len(c); i += loadRecSize {
			rec := c[i : i+loadRecSize]
			fn((*crypto.ID)(rec), binary.LittleEndian.Uint32(rec[crypto.IDSize:]), rec[crypto.IDSize+4:])
		}
	}
}
