package index

import (
	"sync"

	"github.com/cairnbackup/cairn/crypto"
)

// A shard's overflow is merged into its run when it holds more than
// max(minOverflow, 1/overflowShare of the run). The share bounds what the
// overflow's looser layout costs, about 15 bytes per record in it; each
// merge copies the run, so every record is copied about overflowShare+1
// times as a shard grows by single inserts. Bulk loads, which end with
// Compact, let the overflow grow to 1/bulkShare of the run instead.
const (
	minOverflow   = 256
	overflowShare = 32
	bulkShare     = 4
)

// shard holds the blobs whose IDs start with its shardBits.
type shard struct {
	mu   sync.RWMutex
	main run
	ov   overflow
	_    [64]byte // keeps the locks of neighbouring shards off one cache line
}

func (s *shard) len() int { return s.main.len() + s.ov.len() }

// lookup finds a blob; the caller holds s.mu.
func (s *shard) lookup(id *crypto.ID, typ uint32) (entry, bool) {
	if i, ok := s.main.search(bucketOf(id), id[2:], typ); ok {
		return getEntry(s.main.rec(i)[keySize:]), true
	}
	if i := s.ov.find(id, typ); i >= 0 {
		return getEntry(s.ov.rec(i)[crypto.IDSize:]), true
	}
	return entry{}, false
}

// insert adds a blob and reports whether it was new. For a known blob it
// only switches to the new location if the preference rule says so. share
// sets how large the overflow may grow.
func (s *shard) insert(id *crypto.ID, e entry, pt *packTable, share int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := e.ref & typeBit
	var value []byte
	if i, ok := s.main.search(bucketOf(id), id[2:], typ); ok {
		value = s.main.rec(i)[keySize:]
	} else if i := s.ov.find(id, typ); i >= 0 {
		value = s.ov.rec(i)[crypto.IDSize:]
	}
	if value != nil {
		if pt.prefer(refOf(value), e.ref) {
			e.put(value)
		}
		return false
	}
	s.ov.add(id, e)
	if n := s.ov.len(); n > max(minOverflow, s.main.len()/share) || n == maxOverflow {
		s.compact(pt)
	}
	return true
}

// compact merges the overflow into the run; the caller holds s.mu.
func (s *shard) compact(pt *packTable) {
	if s.ov.len() == 0 {
		return
	}
	r := s.ov.toRun()
	s.ov = overflow{}
	if s.main.len() == 0 {
		s.main = r
		return
	}
	s.main = mergeRuns(&s.main, &r, pt)
}

// addRun merges a sorted run of younger records into the shard and returns
// how many blobs were new.
func (s *shard) addRun(r run, pt *packTable) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	before := s.len()
	if s.ov.len() > 0 {
		ov := s.ov.toRun()
		s.ov = overflow{}
		r = mergeRuns(&ov, &r, pt)
	}
	if s.main.len() == 0 {
		s.main = r
	} else {
		s.main = mergeRuns(&s.main, &r, pt)
	}
	return s.len() - before
}
