package index

import (
	"bytes"
	"cmp"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
	"github.com/stretchr/testify/require"
)

type packKey struct {
	id  crypto.ID
	typ pack.BlobType
}

type modelLoc struct {
	pack packKey
	blob pack.Blob
}

// model is the obvious map-based index that Index must agree with.
type model struct {
	condemned map[packKey]bool
	order     []packKey
	blobs     map[pack.Handle]modelLoc
}

func newModel() *model {
	return &model{condemned: map[packKey]bool{}, blobs: map[pack.Handle]modelLoc{}}
}

// add registers all packs first, then their blobs, as one Index call does.
func (m *model) add(packs ...Pack) {
	for _, p := range packs {
		k := packKey{p.ID, p.Type}
		if _, ok := m.condemned[k]; !ok {
			m.order = append(m.order, k)
		}
		m.condemned[k] = m.condemned[k] || p.Condemned
	}
	for _, p := range packs {
		k := packKey{p.ID, p.Type}
		for _, b := range p.Blobs {
			h := pack.Handle{Type: p.Type, ID: b.ID}
			old, ok := m.blobs[h]
			if !ok || m.condemned[old.pack] && !m.condemned[k] {
				m.blobs[h] = modelLoc{k, b}
			}
		}
	}
}

func (m *model) location(l modelLoc) Location {
	return Location{Pack: l.pack.id, Offset: l.blob.Offset, Length: l.blob.Length,
		RawLength: l.blob.RawLength, Condemned: m.condemned[l.pack]}
}

// gen makes packs whose blobs often repeat earlier blobs, in either type,
// and whose IDs sometimes repeat earlier packs.
type gen struct {
	r     *rand.Rand
	blobs []crypto.ID
	seen  []packKey
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 7))} }

func (g *gen) pack(n int) Pack {
	p := Pack{ID: randomID(g.r), Type: pack.BlobType(g.r.IntN(2)), Condemned: g.r.IntN(8) == 0}
	if len(g.seen) > 0 && g.r.IntN(50) == 0 {
		k := g.seen[g.r.IntN(len(g.seen))]
		p.ID, p.Type = k.id, k.typ
	}
	g.seen = append(g.seen, packKey{p.ID, p.Type})
	var off uint32
	for range n {
		id := randomID(g.r)
		if len(g.blobs) > 0 && g.r.IntN(10) == 0 {
			id = g.blobs[g.r.IntN(len(g.blobs))]
		}
		g.blobs = append(g.blobs, id)
		l := 41 + g.r.Uint32N(1<<16)
		p.Blobs = append(p.Blobs, pack.Blob{ID: id, Offset: off, Length: l, RawLength: g.r.Uint32()})
		off += l
	}
	return p
}

func (g *gen) packs(count, perPack int) []Pack {
	ps := make([]Pack, count)
	for i := range ps {
		ps[i] = g.pack(1 + g.r.IntN(2*perPack))
	}
	return ps
}

func checkModel(t *testing.T, idx *Index, m *model, g *gen) {
	t.Helper()
	require.Equal(t, len(m.blobs), idx.Len())
	require.Equal(t, len(m.order), idx.PackCount())
	for h, l := range m.blobs {
		got, ok := idx.Lookup(h)
		require.True(t, ok, "%v", h)
		require.Equal(t, m.location(l), got, "%v", h)
	}
	for range 1000 {
		h := pack.Handle{Type: pack.BlobType(g.r.IntN(2)), ID: randomID(g.r)}
		if g.r.IntN(2) == 0 { // a known ID, perhaps in the other type
			h.ID = g.blobs[g.r.IntN(len(g.blobs))]
		}
		_, want := m.blobs[h]
		require.Equal(t, want, idx.Has(h), "%v", h)
	}

	all := map[pack.Handle]Location{}
	for h, l := range idx.All() {
		_, dup := all[h]
		require.False(t, dup, "All yields %v twice", h)
		all[h] = l
	}
	require.Len(t, all, len(m.blobs))

	byOffset := func(a, b pack.Blob) int {
		return cmp.Or(cmp.Compare(a.Offset, b.Offset), bytes.Compare(a.ID[:], b.ID[:]))
	}
	grouped := map[packKey][]pack.Blob{}
	for _, l := range m.blobs {
		grouped[l.pack] = append(grouped[l.pack], l.blob)
	}
	var i int
	for p := range idx.Packs() {
		k := m.order[i]
		i++
		require.Equal(t, k, packKey{p.ID, p.Type})
		require.Equal(t, m.condemned[k], p.Condemned)
		want := grouped[k]
		slices.SortFunc(want, byOffset)
		slices.SortFunc(p.Blobs, byOffset)
		if len(want) == 0 {
			require.Empty(t, p.Blobs)
		} else {
			require.Equal(t, want, p.Blobs, "pack %s", p.ID.Short())
		}
	}
	require.Equal(t, len(m.order), i)
	ids := idx.PackIDs()
	require.True(t, slices.IsSortedFunc(ids, func(a, b crypto.ID) int { return bytes.Compare(a[:], b[:]) }))
	require.Len(t, ids, len(m.order)) // random pack IDs: no ID has both types
}

func TestIndexAgainstModel(t *testing.T) {
	addPacks := func(idx *Index, m *model, ps []Pack) error {
		for _, p := range ps {
			m.add(p) // each call registers its one pack first
			if err := idx.AddPack(p); err != nil {
				return err
			}
		}
		return nil
	}
	addFiles := func(idx *Index, m *model, ps []Pack) error {
		m.add(ps...)
		if len(ps) < 200 {
			return idx.AddFile(&File{Packs: ps})
		}
		return idx.AddFiles(&File{Packs: ps[:len(ps)/2]}, &File{Packs: ps[len(ps)/2:]})
	}
	for _, tc := range []struct {
		name  string
		add   func(idx *Index, m *model, ps []Pack, round int) error
		packs int
	}{
		{"AddPack", func(idx *Index, m *model, ps []Pack, _ int) error { return addPacks(idx, m, ps) }, 150},
		{"AddFile tiny", func(idx *Index, m *model, ps []Pack, _ int) error { return addFiles(idx, m, ps) }, 20},
		{"AddFile small", func(idx *Index, m *model, ps []Pack, _ int) error { return addFiles(idx, m, ps) }, 150},
		{"AddFiles large", func(idx *Index, m *model, ps []Pack, _ int) error { return addFiles(idx, m, ps) }, 500},
		{"mixed", func(idx *Index, m *model, ps []Pack, round int) error {
			if round%2 == 0 {
				return addPacks(idx, m, ps[:len(ps)/8])
			}
			return addFiles(idx, m, ps)
		}, 800},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGen(uint64(len(tc.name)))
			idx, m := New(), newModel()
			for round := range 8 {
				require.NoError(t, tc.add(idx, m, g.packs(tc.packs, 30), round))
				if round == 3 {
					checkModel(t, idx, m, g)
				}
				if round == 5 {
					idx.Compact()
				}
			}
			idx.Compact()
			checkModel(t, idx, m, g)
		})
	}
}

func TestCondemnedPreference(t *testing.T) {
	blob := pack.Blob{ID: crypto.ID{7}, Offset: 0, Length: 100}
	h := pack.Handle{Type: pack.DataBlob, ID: blob.ID}
	live1 := Pack{ID: crypto.ID{1}, Blobs: []pack.Blob{blob}}
	live2 := Pack{ID: crypto.ID{2}, Blobs: []pack.Blob{blob}}
	dead := Pack{ID: crypto.ID{3}, Condemned: true, Blobs: []pack.Blob{blob}}
	tree := Pack{ID: crypto.ID{4}, Type: pack.TreeBlob, Blobs: []pack.Blob{blob}}
	for _, tc := range []struct {
		name  string
		packs []Pack
		want  crypto.ID
	}{
		{"first wins", []Pack{live1, live2}, live1.ID},
		{"live replaces condemned", []Pack{dead, live1, live2}, live1.ID},
		{"condemned does not replace live", []Pack{live2, dead}, live2.ID},
		{"other type is another blob", []Pack{dead, tree}, dead.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			one, bulk := New(), New()
			for _, p := range tc.packs {
				require.NoError(t, one.AddPack(p))
			}
			require.NoError(t, bulk.AddFiles(&File{Packs: tc.packs}))
			for _, idx := range []*Index{one, bulk} {
				l, ok := idx.Lookup(h)
				require.True(t, ok)
				require.Equal(t, tc.want, l.Pack)
				require.Equal(t, tc.want == dead.ID, l.Condemned)
			}
		})
	}
}

func TestZeroIndex(t *testing.T) {
	var idx Index
	require.False(t, idx.Has(pack.Handle{}))
	for range idx.All() {
		t.Fatal("yielded from an empty index")
	}
	for range idx.Packs() {
		t.Fatal("yielded from an empty index")
	}
	require.Empty(t, idx.PackIDs())
	idx.Compact()
	require.Zero(t, idx.Len())
	require.False(t, idx.Has(pack.Handle{Type: 9}))
}

func TestInvalidType(t *testing.T) {
	idx := New()
	bad := Pack{ID: crypto.ID{1}, Type: 2, Blobs: []pack.Blob{{ID: crypto.ID{2}}}}
	good := Pack{ID: crypto.ID{3}, Blobs: []pack.Blob{{ID: crypto.ID{4}}}}
	require.Error(t, idx.AddPack(bad))
	require.Error(t, idx.AddFiles(&File{Packs: []Pack{good}}, &File{Packs: []Pack{bad}}))
	require.Zero(t, idx.Len(), "nothing added from a refused call")
	require.Zero(t, idx.PackCount())
}

func TestConcurrent(t *testing.T) {
	g := newGen(99)
	batches := make([][]Pack, 16)
	for i := range batches {
		batches[i] = g.packs(100, 30)
	}
	idx := New()
	var wg sync.WaitGroup
	for i, ps := range batches {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 0))
			for j, p := range ps {
				if i%2 == 0 {
					require.NoError(t, idx.AddPack(p))
				} else if j%25 == 0 {
					require.NoError(t, idx.AddFiles(&File{Packs: ps[j : j+25]}))
				}
				// What this goroutine added is visible at once.
				for _, b := range ps[j/25*25].Blobs {
					require.True(t, idx.Has(pack.Handle{Type: ps[j/25*25].Type, ID: b.ID}))
				}
				require.False(t, idx.Has(pack.Handle{Type: pack.DataBlob, ID: randomID(r)}))
				if j == 50 {
					for range idx.All() {
					}
					for range idx.Packs() {
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			idx.Compact()
		}
	})
	wg.Wait()
	m := newModel()
	for _, ps := range batches {
		m.add(ps...)
	}
	require.Equal(t, len(m.blobs), idx.Len())
	for h := range m.blobs {
		require.True(t, idx.Has(h))
	}
}

// TestLargeShard fills one shard past 2^16 records, where bucket starts
// need 32 bits.
func TestLargeShard(t *testing.T) {
	g := newGen(5)
	ps := g.packs(3000, 30)
	for i := range ps {
		for j := range ps[i].Blobs {
			ps[i].Blobs[j].ID[0] = 0x42
		}
	}
	idx, m := New(), newModel()
	for i, p := range ps {
		if i < 2000 {
			continue
		}
		m.add(p)
		require.NoError(t, idx.AddPack(p))
	}
	m.add(ps[:2000]...)
	require.NoError(t, idx.AddFiles(&File{Packs: ps[:2000]}))
	require.Greater(t, idx.Len(), 1<<16)
	require.NotNil(t, idx.shards[shardOf(&crypto.ID{0x42})].main.dir)
	for h, l := range m.blobs {
		got, ok := idx.Lookup(h)
		require.True(t, ok)
		require.Equal(t, m.location(l), got)
	}
}
