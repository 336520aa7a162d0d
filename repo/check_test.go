package repo

import (
	"context"
	"io"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

// checkFixture is a repository of three snapshots that share data, with
// every pack's content known:
//
//	snapshot 0: a, shared, sub/s    data pack 0 {a, shared, s}, tree pack 0 {sub, root 0}
//	snapshot 1: b, shared, sub/s    data pack 1 {b},            tree pack 1 {root 1}
//	snapshot 2: d                   data pack 2 {d},            tree pack 2 {root 2}
type checkFixture struct {
	be    *mem.Backend
	r     *Repository
	srcs  []*testSource
	snaps []*Snapshot
	blob  map[string]BlobHandle // data blobs by file name, trees "root0"…, "sub"
	pack  map[string]ID         // "data0"…, "tree0"…
}

func newCheckFixture(t *testing.T) *checkFixture {
	t.Helper()
	ctx := context.Background()
	f := &checkFixture{be: mem.New(), blob: map[string]BlobHandle{}, pack: map[string]ID{}}
	var err error
	f.r, err = Init(ctx, f.be, testPassword, InitOptions{Options: Options{PackWriters: 1}, Key: cheapKey,
		Chunking: chunk.Params{Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10}})
	require.NoError(t, err)
	seeds := map[string]uint64{"a": 1, "shared": 2, "b": 3, "d": 4, "s": 5}
	file := func(s *testSource, path, name string) {
		content := randomBytes(seeds[name], 1000) // below the minimum chunk: one blob
		s.add(source.Entry{Path: path, Type: source.TypeFile}, content)
		f.blob[name] = BlobHandle{Type: DataBlob, ID: f.r.key.BlobID(content)}
	}
	for i, files := range [][]string{{"a", "shared"}, {"b", "shared"}, {"d"}} {
		s := &testSource{}
		s.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
		for _, name := range files {
			file(s, name, name)
		}
		if i < 2 {
			s.add(source.Entry{Path: "sub", Type: source.TypeDir, Perm: 0o755}, nil)
			file(s, "sub/s", "s")
		}
		sn, err := f.r.Backup(ctx, s, BackupOptions{Host: "h", NoParent: true})
		require.NoError(t, err)
		f.srcs, f.snaps = append(f.srcs, s), append(f.snaps, sn)
		root := "root" + string(rune('0'+i))
		f.blob[root] = BlobHandle{Type: TreeBlob, ID: sn.Tree}
		f.pack["data"+string(rune('0'+i))] = f.packOf(t, f.blob[files[0]])
		f.pack["tree"+string(rune('0'+i))] = f.packOf(t, f.blob[root])
	}
	tree, err := f.r.LoadTree(ctx, f.snaps[0].Tree)
	require.NoError(t, err)
	f.blob["sub"] = BlobHandle{Type: TreeBlob, ID: tree.Find("sub").Subtree}
	require.Equal(t, f.pack["data0"], f.packOf(t, f.blob["s"]))
	require.Equal(t, f.pack["tree0"], f.packOf(t, f.blob["sub"]))
	require.Len(t, listFiles(t, f.be, backend.PackFile), 6)
	return f
}

func (f *checkFixture) packOf(t *testing.T, h BlobHandle) ID {
	t.Helper()
	loc, ok := f.r.idx.Lookup(h)
	require.True(t, ok, h)
	return loc.Pack
}

func packFileHandle(id ID) backend.Handle {
	return backend.Handle{Type: backend.PackFile, Name: id.String()}
}

// flipInBlob flips a bit in the middle of a stored blob.
func (f *checkFixture) flipInBlob(t *testing.T, name string) {
	loc, ok := f.r.idx.Lookup(f.blob[name])
	require.True(t, ok)
	rewrite(t, f.be, packFileHandle(loc.Pack), flipBit(int(loc.Offset+loc.Length/2)))
}

// rewriteIndex replaces every index file by one whose packs edit changed.
func (f *checkFixture) rewriteIndex(t *testing.T, edit func(p *index.Pack)) {
	ctx := context.Background()
	var packs []index.Pack
	for _, name := range listFiles(t, f.be, backend.IndexFile) {
		id, err := ParseID(name)
		require.NoError(t, err)
		file, err := f.r.loadIndexFile(ctx, id)
		require.NoError(t, err)
		for _, p := range file.Packs {
			if edit(&p); len(p.Blobs) > 0 {
				packs = append(packs, p)
			}
		}
		require.NoError(t, f.be.Remove(ctx, backend.Handle{Type: backend.IndexFile, Name: name}))
	}
	data, err := (&index.File{Created: t0, Packs: packs}).Encode(f.r.key)
	require.NoError(t, err)
	_, err = saveFile(ctx, f.be, backend.IndexFile, data)
	require.NoError(t, err)
}

// condemn stores a condemned-only index file for pack id, as prune does
// before it deletes the pack, and returns its name.
func (f *checkFixture) condemn(t *testing.T, id ID) ID {
	ctx := context.Background()
	hdr, err := f.r.ReadPackHeader(ctx, id)
	require.NoError(t, err)
	data, err := (&index.File{Created: t0, Packs: []index.Pack{
		{ID: id, Type: hdr.Type, Condemned: true, Blobs: hdr.Blobs}}}).Encode(f.r.key)
	require.NoError(t, err)
	name, err := saveFile(ctx, f.be, backend.IndexFile, data)
	require.NoError(t, err)
	return name
}

// foundProblem is a problem as the tests compare it.
type foundProblem struct {
	Kind      ProblemKind
	Object    string
	Snapshots []ID
}

func TestCheckHealthy(t *testing.T) {
	ctx := context.Background()
	f := newCheckFixture(t)
	for _, readData := range []bool{false, true} {
		var last CheckProgress
		rep, err := f.r.Check(ctx, CheckOptions{ReadData: readData, Progress: func(p CheckProgress) {
			if p.Phase == "packs" {
				last = p
			}
		}})
		require.NoError(t, err)
		require.Empty(t, rep.Problems)
		require.True(t, rep.OK())
		require.Empty(t, rep.Damaged())
		require.Equal(t, 3, rep.Snapshots)
		require.Equal(t, 4, rep.Trees)
		require.Equal(t, 5, rep.DataBlobs)
		require.Equal(t, 6, rep.Packs)
		require.Equal(t, CheckProgress{Phase: "packs", Done: 6, Total: 6, BytesRead: rep.BytesRead}, last)
		if readData {
			var size uint64
			for _, name := range listFiles(t, f.be, backend.PackFile) {
				size += uint64(len(mustLoad(t, f.be, backend.Handle{Type: backend.PackFile, Name: name})))
			}
			require.Equal(t, 6, rep.PacksRead)
			require.Equal(t, size, rep.BytesRead)
		} else {
			require.Zero(t, rep.PacksRead)
			require.Zero(t, rep.BytesRead)
		}
	}
}

func TestCheckFindsDamage(t *testing.T) {
	ctx := context.Background()
	packObj := func(f *checkFixture, name string) string { return "pack " + f.pack[name].String() }
	blob := func(f *checkFixture, name string) string { return f.blob[name].String() }
	for _, tt := range []struct {
		name     string
		readData bool
		damage   func(t *testing.T, f *checkFixture)
		want     func(f *checkFixture) []foundProblem // snapshots by index in f.snaps
	}{{
		name: "deleted data pack",
		damage: func(t *testing.T, f *checkFixture) {
			require.NoError(t, f.be.Remove(ctx, packFileHandle(f.pack["data0"])))
		},
		want: func(f *checkFixture) []foundProblem {
			return []foundProblem{{MissingPack, packObj(f, "data0"), f.ids(0, 1)}}
		},
	}, {
		name: "deleted tree pack",
		damage: func(t *testing.T, f *checkFixture) {
			require.NoError(t, f.be.Remove(ctx, packFileHandle(f.pack["tree0"])))
		},
		want: func(f *checkFixture) []foundProblem {
			// Snapshot 0's root cannot be read, so nothing tells that
			// it holds sub as well.
			return []foundProblem{{MissingPack, packObj(f, "tree0"), f.ids(0, 1)},
				{UnreadableTree, blob(f, "root0"), f.ids(0)}, {UnreadableTree, blob(f, "sub"), f.ids(1)}}
		},
	}, {
		name: "deleted condemned pack that a snapshot needs",
		damage: func(t *testing.T, f *checkFixture) {
			f.condemn(t, f.pack["data2"])
			require.NoError(t, f.be.Remove(ctx, packFileHandle(f.pack["data2"])))
		},
		want: func(f *checkFixture) []foundProblem {
			return []foundProblem{{MissingPack, packObj(f, "data2"), f.ids(2)}}
		},
	}, {
		name: "deleted condemned pack that no snapshot needs",
		damage: func(t *testing.T, f *checkFixture) {
			packs := listFiles(t, f.be, backend.PackFile)
			w := f.r.NewWriter()
			_, _, err := w.SaveBlob(ctx, DataBlob, []byte("garbage"))
			require.NoError(t, err)
			require.NoError(t, w.Flush(ctx))
			for _, name := range listFiles(t, f.be, backend.PackFile) {
				if !slices.Contains(packs, name) {
					id, _ := ParseID(name)
					f.condemn(t, id)
					require.NoError(t, f.be.Remove(ctx, packFileHandle(id)))
				}
			}
		},
		want: func(f *checkFixture) []foundProblem { return nil },
	}, {
		name:   "flipped byte in a data blob, structure only",
		damage: func(t *testing.T, f *checkFixture) { f.flipInBlob(t, "d") },
		want:   func(f *checkFixture) []foundProblem { return nil },
	}, {
		name:     "flipped byte in a data blob, read data",
		readData: true,
		damage:   func(t *testing.T, f *checkFixture) { f.flipInBlob(t, "d") },
		want: func(f *checkFixture) []foundProblem {
			return []foundProblem{{CorruptPack, packObj(f, "data2"), f.ids(2)}, {CorruptBlob, blob(f, "d"), f.ids(2)}}
		},
	}, {
		name:     "flipped byte in a shared data blob, read data",
		readData: true,
		damage:   func(t *testing.T, f *checkFixture) { f.flipInBlob(t, "shared") },
		want: func(f *checkFixture) []foundProblem {
			return []foundProblem{{CorruptPack, packObj(f, "data0"), f.ids(0, 1)}, {CorruptBlob, blob(f, "shared"), f.ids(0, 1)}}
		},
	}, {
		name: "blob missing from the index",
		damage: func(t *testing.T, f *checkFixture) {
			f.rewriteIndex(t, func(p *index.Pack) {
				p.Blobs = slices.DeleteFunc(p.Blobs, func(b pack.Blob) bool { return b.ID == f.blob["b"].ID })
			})
		},
		want: func(f *checkFixture) []foundProblem {
			return []foundProblem{{MissingBlob, blob(f, "b"), f.ids(1)}, {UnreferencedPack, packObj(f, "data1"), nil}}
		},
	}, {
		name: "index disagrees with a pack header",
		damage: func(t *testing.T, f *checkFixture) {
			f.rewriteIndex(t, func(p *index.Pack) {
				for i := range p.Blobs {
					if p.Blobs[i].ID == f.blob["a"].ID {
						p.Blobs[i].RawLength++
					}
				}
			})
		},
		want: func(f *checkFixture) []foundProblem {
			return []foundProblem{{PackHeaderMismatch, packObj(f, "data0"), f.ids(0)}}
		},
	}, {
		name: "truncated snapshot",
		damage: func(t *testing.T, f *checkFixture) {
			rewrite(t, f.be, snapshotHandle(f.snaps[1].ID), func(b []byte) []byte { return b[:len(b)/2] })
		},
		want: func(f *checkFixture) []foundProblem {
			return []foundProblem{{UnreadableSnapshot, "snapshot " + f.snaps[1].ID.String(), f.ids(1)}}
		},
	}, {
		name:   "corrupt tree blob",
		damage: func(t *testing.T, f *checkFixture) { f.flipInBlob(t, "sub") },
		want: func(f *checkFixture) []foundProblem {
			return []foundProblem{{UnreadableTree, blob(f, "sub"), f.ids(0, 1)}}
		},
	}, {
		name:     "corrupt tree blob, read data",
		readData: true,
		damage:   func(t *testing.T, f *checkFixture) { f.flipInBlob(t, "sub") },
		want: func(f *checkFixture) []foundProblem {
			return []foundProblem{{CorruptPack, packObj(f, "tree0"), f.ids(0, 1)}, {CorruptBlob, blob(f, "sub"), f.ids(0, 1)},
				{UnreadableTree, blob(f, "sub"), f.ids(0, 1)}}
		},
	}, {
		name: "unreferenced pack",
		damage: func(t *testing.T, f *checkFixture) {
			indexes := listFiles(t, f.be, backend.IndexFile)
			w := f.r.NewWriter()
			_, _, err := w.SaveBlob(ctx, DataBlob, []byte("left by a crashed backup"))
			require.NoError(t, err)
			require.NoError(t, w.Flush(ctx))
			for _, name := range listFiles(t, f.be, backend.IndexFile) {
				if !slices.Contains(indexes, name) {
					require.NoError(t, f.be.Remove(ctx, backend.Handle{Type: backend.IndexFile, Name: name}))
				}
			}
			for _, name := range listFiles(t, f.be, backend.PackFile) {
				if id, _ := ParseID(name); !slices.Contains(slices.Collect(maps.Values(f.pack)), id) {
					f.pack["extra"] = id
				}
			}
		},
		want: func(f *checkFixture) []foundProblem {
			return []foundProblem{{UnreferencedPack, packObj(f, "extra"), nil}}
		},
	}, {
		name: "stray file",
		damage: func(t *testing.T, f *checkFixture) {
			require.NoError(t, f.be.Save(ctx, backend.Handle{Type: backend.SnapshotFile, Name: "abcd"},
				backend.NewByteReader([]byte("x"))))
		},
		want: func(f *checkFixture) []foundProblem { return []foundProblem{{StrayFile, "snapshots/abcd", nil}} },
	}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newCheckFixture(t)
			tt.damage(t, f)
			r := reopen(t, f.be)
			rep, err := r.Check(ctx, CheckOptions{ReadData: tt.readData})
			require.NoError(t, err)
			want := tt.want(f)
			var got []foundProblem
			for _, p := range rep.Problems {
				if p.Kind != StrayFile {
					require.Contains(t, p.Err.Error(), p.Object[len(p.Object)-64:], "the error names the object")
				}
				got = append(got, foundProblem{p.Kind, p.Object, p.Snapshots})
			}
			require.ElementsMatch(t, want, got)

			var damaged []ID
			harmful := false
			for _, w := range want {
				damaged = append(damaged, w.Snapshots...)
				harmful = harmful || !w.Kind.Harmless()
			}
			slices.SortFunc(damaged, compareIDs)
			require.Equal(t, slices.Compact(damaged), rep.Damaged())
			require.Equal(t, !harmful, rep.OK())
		})
	}
}

// ids returns the IDs of the fixture's snapshots i….
func (f *checkFixture) ids(i ...int) []ID {
	var ids []ID
	for _, j := range i {
		ids = append(ids, f.snaps[j].ID)
	}
	slices.SortFunc(ids, compareIDs)
	return ids
}

// wholeLoads records which packs are downloaded whole.
type wholeLoads struct {
	backend.Backend
	mu    sync.Mutex
	packs map[string]int
}

func (w *wholeLoads) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(io.Reader) error) error {
	if h.Type == backend.PackFile && length == 0 {
		w.mu.Lock()
		w.packs[h.Name]++
		w.mu.Unlock()
	}
	return w.Backend.Load(ctx, h, length, offset, fn)
}

func TestCheckSubsetsCoverEveryPackOnce(t *testing.T) {
	ctx := context.Background()
	r, be := newMemRepo(t)
	for i := range 20 {
		w := r.NewWriter()
		_, _, err := w.SaveBlob(ctx, DataBlob, randomBytes(uint64(i), 100))
		require.NoError(t, err)
		require.NoError(t, w.Flush(ctx))
	}
	require.Len(t, listFiles(t, be, backend.PackFile), 20)
	rec := &wholeLoads{Backend: be, packs: map[string]int{}}
	r = reopen(t, rec)
	for _, of := range []int{1, 3, 7} {
		clear(rec.packs)
		read := 0
		for part := 1; part <= of; part++ {
			rep, err := r.Check(ctx, CheckOptions{Subset: DataSubset{Part: part, Of: of}})
			require.NoError(t, err)
			require.True(t, rep.OK())
			read += rep.PacksRead
		}
		require.Equal(t, 20, read, "parts of %d", of)
		require.Len(t, rec.packs, 20, "parts of %d", of)
		for name, n := range rec.packs {
			require.Equal(t, 1, n, "pack %s, parts of %d", name, of)
		}
	}
	for _, tt := range []struct {
		fraction float64
		want     int
	}{{0.5, 10}, {0.3, 6}, {0.001, 1}, {1, 20}} {
		rep, err := r.Check(ctx, CheckOptions{Subset: DataSubset{Fraction: tt.fraction}})
		require.NoError(t, err)
		require.Equal(t, tt.want, rep.PacksRead, "fraction %v", tt.fraction)
	}
	rep, err := r.Check(ctx, CheckOptions{})
	require.NoError(t, err)
	require.Zero(t, rep.PacksRead)

	for _, bad := range []DataSubset{{Part: 4, Of: 3}, {Part: 0, Of: 3}, {Part: 1}, {Fraction: 1.5}, {Fraction: -0.1}, {Part: 1, Of: 2, Fraction: 0.5}} {
		_, err := r.Check(ctx, CheckOptions{Subset: bad})
		require.Error(t, err, "%+v", bad)
	}
}

func TestParseDataSubset(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want DataSubset
	}{
		{"2/5", DataSubset{Part: 2, Of: 5}},
		{"1/1", DataSubset{Part: 1, Of: 1}},
		{"10%", DataSubset{Fraction: 0.1}},
		{"0.5%", DataSubset{Fraction: 0.005}},
		{"100%", DataSubset{Fraction: 1}},
	} {
		got, err := ParseDataSubset(tt.in)
		require.NoError(t, err, tt.in)
		require.InDelta(t, tt.want.Fraction, got.Fraction, 1e-12, tt.in)
		got.Fraction = tt.want.Fraction
		require.Equal(t, tt.want, got, tt.in)
	}
	for _, in := range []string{"", "5", "0/5", "6/5", "2/0", "-1/5", "a/b", "1/2/3", "1/", "/2",
		"0%", "101%", "-1%", "x%", "%", "NaN%", "10"} {
		_, err := ParseDataSubset(in)
		require.Error(t, err, in)
		require.ErrorContains(t, err, "data subset", in)
	}
}

func TestCheckFailsWhenItCannotRead(t *testing.T) {
	ctx := context.Background()
	f := newCheckFixture(t)
	fb := fault.New(f.be)
	r := reopen(t, fb)
	fb.FailOn(func(op fault.Op, h backend.Handle) error {
		if op == fault.OpLoad && h.Type == backend.PackFile {
			return fault.ErrInjected
		}
		return nil
	})
	for _, readData := range []bool{false, true} {
		rep, err := r.Check(ctx, CheckOptions{ReadData: readData})
		require.ErrorIs(t, err, fault.ErrInjected)
		require.Nil(t, rep)
	}
	fb.FailOn(nil)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := r.Check(cancelled, CheckOptions{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestUsedBlobs(t *testing.T) {
	ctx := context.Background()
	f := newCheckFixture(t)
	used, err := f.r.usedBlobs(ctx, f.snaps)
	require.NoError(t, err)
	want := blobSet{}
	for _, h := range f.blob {
		want[h] = struct{}{}
	}
	require.Equal(t, want, used)

	used, err = f.r.usedBlobs(ctx, f.snaps[2:])
	require.NoError(t, err)
	require.Equal(t, blobSet{f.blob["root2"]: {}, f.blob["d"]: {}}, used)

	f.flipInBlob(t, "sub")
	_, err = f.r.usedBlobs(ctx, f.snaps)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, f.blob["sub"].ID.String())
	require.Regexp(t, "snapshot ("+f.snaps[0].ID.String()+"|"+f.snaps[1].ID.String()+")", err.Error())
}

func TestCheckProblemMessages(t *testing.T) {
	id := ID{1}
	p := Problem{Kind: MissingPack, Object: "pack " + id.String(),
		Err: &pack.Error{Pack: id, Op: "list", Err: ErrNotFound}, Snapshots: []ID{{2}, {3}}}
	require.Equal(t, "missing pack: pack "+id.String()+": list: not found", p.Error())
	require.Equal(t, p.Error()+" (harms snapshots "+ID{2}.Short()+", "+ID{3}.Short()+")", p.String())
	require.ErrorIs(t, p, ErrNotFound)
	require.True(t, UnreferencedPack.Harmless())
	for k := MissingPack; k < UnreferencedPack; k++ {
		require.False(t, k.Harmless(), k.String())
		require.NotContains(t, k.String(), "ProblemKind")
	}
	require.Equal(t, "ProblemKind(99)", ProblemKind(99).String())
}
