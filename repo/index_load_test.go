package repo

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/stretchr/testify/require"
)

// indexGen makes index files whose blobs often repeat earlier ones, in
// other packs, and whose packs are sometimes condemned in a later file.
type indexGen struct {
	r     *rand.Rand
	blobs []crypto.ID
	packs []index.Pack
}

func (g *indexGen) id() crypto.ID {
	var id crypto.ID
	for i := range id {
		id[i] = byte(g.r.Uint32())
	}
	return id
}

func (g *indexGen) file(npacks int) *index.File {
	f := &index.File{Created: time.Unix(1700000000, int64(g.r.Uint32())).UTC()}
	for range npacks {
		if len(g.packs) > 0 && g.r.IntN(10) == 0 { // condemn an earlier pack
			p := g.packs[g.r.IntN(len(g.packs))]
			p.Condemned = true
			f.Packs = addPack(f.Packs, p)
			continue
		}
		p := index.Pack{ID: g.id(), Type: pack.BlobType(g.r.IntN(2))}
		var off uint32
		for range 1 + g.r.IntN(200) {
			id := g.id()
			if len(g.blobs) > 0 && g.r.IntN(5) == 0 {
				id = g.blobs[g.r.IntN(len(g.blobs))]
			}
			if p.Type == pack.TreeBlob && len(p.Blobs) > 0 && id == p.Blobs[len(p.Blobs)-1].ID {
				continue
			}
			g.blobs = append(g.blobs, id)
			p.Blobs = append(p.Blobs, pack.Blob{ID: id, Offset: off, Length: 100, RawLength: 90})
			off += 100
		}
		p.Blobs = uniqueBlobs(p.Blobs)
		g.packs = append(g.packs, p)
		f.Packs = append(f.Packs, p)
	}
	return f
}

// addPack appends p to packs unless they list it already.
func addPack(packs []index.Pack, p index.Pack) []index.Pack {
	for _, q := range packs {
		if q.ID == p.ID {
			return packs
		}
	}
	return append(packs, p)
}

// uniqueBlobs drops the later records of a blob listed twice in a pack.
func uniqueBlobs(blobs []pack.Blob) []pack.Blob {
	seen := map[crypto.ID]bool{}
	out := blobs[:0]
	for _, b := range blobs {
		if !seen[b.ID] {
			seen[b.ID] = true
			out = append(out, b)
		}
	}
	return out
}

func storeIndex(t *testing.T, r *Repository, f *index.File) crypto.ID {
	t.Helper()
	data, err := f.Encode(r.key)
	require.NoError(t, err)
	id, err := saveFile(t.Context(), r.be, backend.IndexFile, data)
	require.NoError(t, err)
	return id
}

// TestOpenManyIndexFiles opens a repository of many index files, among
// them files merged into others (a crash between prune's writing and
// deleting leaves them), and compares its index with the one that adding
// all live files at once gives.
func TestOpenManyIndexFiles(t *testing.T) {
	r, be := newMemRepo(t)
	g := &indexGen{r: rand.New(rand.NewPCG(3, 4))}
	files := map[crypto.ID]*index.File{}
	var ids []crypto.ID
	for range 60 {
		f := g.file(1 + g.r.IntN(6))
		id := storeIndex(t, r, f)
		files[id] = f
		ids = append(ids, id)
	}
	// A merged file superseding ten files and carrying half their packs,
	// and a second merge of it and five more files.
	merge := func(old []crypto.ID) crypto.ID {
		f := &index.File{Created: time.Unix(1800000000, 0).UTC(), Supersedes: old}
		for _, id := range old {
			for _, p := range files[id].Packs[:(len(files[id].Packs)+1)/2] {
				f.Packs = addPack(f.Packs, p)
			}
		}
		id := storeIndex(t, r, f)
		files[id] = f
		return id
	}
	first := merge(ids[:10])
	merge(append([]crypto.ID{first}, ids[10:15]...))

	live := index.Live(files)
	require.Len(t, live, len(files)-16)
	want := index.New()
	liveFiles := make([]*index.File, len(live))
	for i, id := range live {
		liveFiles[i] = files[id]
	}
	require.NoError(t, want.AddFiles(liveFiles...))
	want.Compact()

	got := reopen(t, be)
	require.Equal(t, want.Len(), got.idx.Len())
	require.Equal(t, want.PackCount(), got.idx.PackCount())
	for h, loc := range want.All() {
		gl, ok := got.idx.Lookup(h)
		require.True(t, ok, "%v", h)
		require.Equal(t, loc, gl, "%v", h)
	}
	require.Len(t, got.indexFiles, len(live))
	for _, id := range live {
		require.Contains(t, got.indexFiles, id)
		require.Equal(t, files[id].Supersedes, got.indexFiles[id].supersedes)
		require.Len(t, got.indexFiles[id].packs, len(files[id].Packs))
	}
}

// TestOpenNamesDamagedIndexFile: a file among many that authenticates by
// its name but does not decode fails the open, naming the file.
func TestOpenNamesDamagedIndexFile(t *testing.T) {
	r, be := newMemRepo(t)
	g := &indexGen{r: rand.New(rand.NewPCG(5, 6))}
	for range 20 {
		storeIndex(t, r, g.file(3))
	}
	bad, err := saveFile(t.Context(), be, backend.IndexFile, randomBytes(9, 1000))
	require.NoError(t, err)

	_, err = Open(t.Context(), be, testPassword, OpenOptions{})
	require.ErrorIs(t, err, crypto.ErrCorrupt)
	var fe *FileError
	require.True(t, errors.As(err, &fe), "%v", err)
	require.Equal(t, backend.Handle{Type: backend.IndexFile, Name: bad.String()}, fe.File)
	require.Equal(t, "decode", fe.Op)
}
