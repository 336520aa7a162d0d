package index

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/cairnbackup/cairn/crypto"
)

// Loader gathers the decoded index files of a repository compactly, so that
// opening one need not hold every decoded File until it knows which are
// live: Add keeps 48 bytes per blob of a file, which the caller then
// drops, and AddTo builds the index from them one shard at a time,
// releasing each shard's records as it goes. What is live while opening
// thus peaks near the loader's 48 bytes per blob, rather than a File's 45
// and the index's 46 together; see the package documentation.
//
// The zero value is ready to use. Add is safe for concurrent use; AddTo
// must not run concurrently with Add.
type Loader struct {
	mu     sync.Mutex
	files  map[crypto.ID]loadedFile
	packs  []Pack // of every file added, without blobs; records refer to them by number
	shards [numShards]loadShard
}

// loadedFile is what a Loader keeps of a file besides its blob records.
type loadedFile struct {
	head  *File  // Created, Supersedes and Packs, with no blobs
	first uint32 // the number of its first pack in Loader.packs
}

// A loader record is a blob's full ID, the number of its pack in
// Loader.packs, and its offset, length and raw length.
const loadRecSize = crypto.IDSize + 4 + 12

// Records go into chunks of minLoadChunk records at first, doubling as a
// shard grows up to maxLoadChunk (96 KiB, whole pages), so a shard wastes
// at most one chunk, and growing copies nothing.
const (
	minLoadChunk = 64
	maxLoadChunk = 2048
)

// loadShard holds the records of the blobs of one shard, in the order added.
type loadShard struct {
	chunks [][]byte
	n      int // records in chunks
}

// append adds a record to the shard.
func (s *loadShard) append(id *crypto.ID, num uint32, b [3]uint32) {
	last := len(s.chunks) - 1
	if last < 0 || len(s.chunks[last]) == cap(s.chunks[last]) {
		recs := min(maxLoadChunk, max(minLoadChunk, s.n))
		s.chunks = append(s.chunks, make([]byte, 0, recs*loadRecSize))
		last++
	}
	c := append(s.chunks[last], id[:]...)
	c = binary.LittleEndian.AppendUint32(c, num)
	for _, v := range b {
		c = binary.LittleEndian.AppendUint32(c, v)
	}
	s.chunks[last] = c
	s.n++
}

// Add keeps the packs and blobs of f, the decoded index file id, for AddTo.
// It keeps neither f nor its slices, except f.Supersedes.
func (l *Loader) Add(id crypto.ID, f *File) error {
	for _, p := range f.Packs {
		if !p.Type.Valid() {
			return fmt.Errorf("index: pack %s: invalid blob type %d", p.ID.Short(), p.Type)
		}
	}
	head := &File{Created: f.Created, Supersedes: f.Supersedes, Packs: make([]Pack, len(f.Packs))}
	for i, p := range f.Packs {
		head.Packs[i] = Pack{ID: p.ID, Type: p.Type, Condemned: p.Condemned}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.files[id]; dup {
		return fmt.Errorf("index: file %s added twice", id.Short())
	}
	if len(l.packs)+len(f.Packs) > maxPacks {
		return fmt.Errorf("index: more than %d packs", maxPacks)
	}
	if l.files == nil {
		l.files = make(map[crypto.ID]loadedFile)
	}
	first := uint32(len(l.packs))
	l.files[id] = loadedFile{head: head, first: first}
	l.packs = append(l.packs, head.Packs...)
	for k, p := range f.Packs {
		for i := range p.Blobs {
			b := &p.Blobs[i]
			l.shards[shardOf(&b.ID)].append(&b.ID, first+uint32(k), [3]uint32{b.Offset, b.Length, b.RawLength})
		}
	}
	return nil
}

// Files returns the files added, by ID, with their Created, Supersedes and
// Packs but no blobs: enough for Live. The caller must not modify them.
func (l *Loader) Files() map[crypto.ID]*File {
	l.mu.Lock()
	defer l.mu.Unlock()
	files := make(map[crypto.ID]*File, len(l.files))
	for id, lf := range l.files {
		files[id] = lf.head
	}
	return files
}
