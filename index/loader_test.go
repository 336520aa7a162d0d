package index

import (
	"fmt"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
	"github.com/stretchr/testify/require"
)

// TestLoaderAgainstModel adds files to a Loader concurrently and in shuffled
// order, and checks that AddTo gives the index that adding the chosen
// files, in the chosen order, in one call gives: the first location of a
// blob wins unless its pack is condemned by any chosen file, and files left
// out leave no trace.
func TestLoaderAgainstModel(t *testing.T) {
	for _, c := range []struct {
		name            string
		files, perPack  int
		prefill, reused bool
	}{
		{"tiny", 3, 2, false, false},
		{"small", 20, 10, false, false},
		{"large", 40, 300, false, false},
		{"into a filled index", 40, 300, true, false},
		{"reused loader", 20, 100, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGen(uint64(c.files*c.perPack + len(c.name)))
			idx, m := New(), newModel()
			if c.prefill {
				ps := g.packs(50, c.perPack)
				m.add(ps...)
				require.NoError(t, idx.AddFiles(&File{Packs: ps}))
			}
			var l Loader
			if c.reused {
				loadFiles(t, &l, idx, m, g, c.files, c.perPack)
			}
			loadFiles(t, &l, idx, m, g, c.files, c.perPack)
			idx.Compact()
			checkModel(t, idx, m, g)
		})
	}
}

// loadFiles adds n generated files to l, a quarter of them left out, and
// AddTo's the rest in a shuffled order to idx and, as one call, to m.
func loadFiles(t *testing.T, l *Loader, idx *Index, m *model, g *gen, n, perPack int) {
	ids := make([]crypto.ID, n)
	files := make(map[crypto.ID]*File, n)
	for i := range ids {
		ids[i] = randomID(g.r)
		files[ids[i]] = &File{Supersedes: []crypto.ID{randomID(g.r)}, Packs: g.packs(1+g.r.IntN(8), perPack)}
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := i; j < n; j += 4 {
				require.NoError(t, l.Add(ids[j], files[ids[j]]))
			}
		})
	}
	wg.Wait()
	heads := l.Files()
	require.Len(t, heads, n)
	for id, f := range files {
		require.Equal(t, f.Supersedes, heads[id].Supersedes)
		require.Len(t, heads[id].Packs, len(f.Packs))
		for i, p := range heads[id].Packs {
			require.Equal(t, Pack{ID: f.Packs[i].ID, Type: f.Packs[i].Type, Condemned: f.Packs[i].Condemned}, p)
		}
	}
	g.r.Shuffle(n, func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	chosen := ids[:n-n/4]
	var packs []Pack
	for _, id := range chosen {
		packs = append(packs, files[id].Packs...)
	}
	m.add(packs...)
	require.NoError(t, l.AddTo(idx, chosen))
	require.Empty(t, l.Files(), "AddTo empties the loader")
}

// TestLoaderLateCondemned checks a case that adding files in batches gets
// wrong: a blob in pack A of the first file and pack B of the second stays
// in A, unless a third file condemns A, and then it is in B.
func TestLoaderLateCondemned(t *testing.T) {
	r := newGen(1).r
	blob := pack.Blob{ID: randomID(r), Length: 50, RawLength: 40}
	a, b := randomID(r), randomID(r)
	first := &File{Packs: []Pack{{ID: a, Type: pack.DataBlob, Blobs: []pack.Blob{blob}}}}
	second := &File{Packs: []Pack{{ID: b, Type: pack.DataBlob, Blobs: []pack.Blob{blob}}}}
	third := &File{Packs: []Pack{{ID: a, Type: pack.DataBlob, Condemned: true, Blobs: []pack.Blob{blob}}}}
	ids := []crypto.ID{randomID(r), randomID(r), randomID(r)}
	for _, c := range []struct {
		files int
		want  crypto.ID
	}{{2, a}, {3, b}} {
		t.Run(fmt.Sprint(c.files, " files"), func(t *testing.T) {
			var l Loader
			for i, f := range []*File{third, second, first} {
				require.NoError(t, l.Add(ids[2-i], f))
			}
			idx := New()
			require.NoError(t, l.AddTo(idx, ids[:c.files]))
			loc, ok := idx.Lookup(pack.Handle{Type: pack.DataBlob, ID: blob.ID})
			require.True(t, ok)
			require.Equal(t, c.want, loc.Pack)
			require.False(t, loc.Condemned)
		})
	}
}

func TestLoaderErrors(t *testing.T) {
	r := newGen(2).r
	var l Loader
	id := randomID(r)
	require.NoError(t, l.Add(id, randomFile(r, 2, 3)))
	require.ErrorContains(t, l.Add(id, randomFile(r, 2, 3)), "added twice")
	bad := randomFile(r, 2, 3)
	bad.Packs[1].Type = 7
	require.ErrorContains(t, l.Add(randomID(r), bad), "invalid blob type")
	require.NoError(t, l.Add(randomID(r), &File{}), "a file without packs")

	idx := New()
	require.ErrorContains(t, l.AddTo(idx, []crypto.ID{id, randomID(r)}), "not loaded")
	require.Zero(t, idx.Len())
	require.Zero(t, idx.PackCount(), "nothing registered before the error")
}
