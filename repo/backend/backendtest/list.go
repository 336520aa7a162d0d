package backendtest

import (
	"fmt"
	"io"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/stretchr/testify/require"
)

func testStat(t *testing.T, be backend.Backend) {
	for i, typ := range backend.FileTypes {
		h := randomHandle(t, typ)
		save(t, be, h, randomBytes(t, 17*i+3))
		fi, err := be.Stat(t.Context(), h)
		require.NoError(t, err)
		require.Equal(t, backend.FileInfo{Name: h.Name, Size: int64(17*i + 3)}, fi)
	}
}

func testMissing(t *testing.T, be backend.Backend) {
	// One object of each type, so a missing object is not just an empty store.
	for _, typ := range backend.FileTypes {
		if typ != backend.ConfigFile {
			save(t, be, randomHandle(t, typ), []byte("other"))
		}
	}
	for _, typ := range backend.FileTypes {
		h := randomHandle(t, typ)
		requireMissing(t, be, h)
		require.ErrorIs(t, be.Remove(t.Context(), h), backend.ErrNotFound, "remove %v", h)
	}
}

// testList saves objects of every type, some sharing a name across types, and
// checks each type lists exactly its own.
func testList(t *testing.T, be backend.Backend) {
	for _, typ := range backend.FileTypes {
		require.Empty(t, list(t, be, typ), "empty backend lists %v", typ)
	}

	shared := randomName(t)
	want := make(map[backend.FileType]map[string]int64)
	for i, typ := range backend.FileTypes[1:] {
		want[typ] = make(map[string]int64)
		for j := range 5 + i {
			name := randomName(t)
			if j == 0 {
				name = shared
			}
			size := 10*i + j
			save(t, be, backend.Handle{Type: typ, Name: name}, randomBytes(t, size))
			want[typ][name] = int64(size)
		}
	}
	for typ, names := range want {
		require.Equal(t, names, list(t, be, typ), "list %v", typ)
	}
	require.Empty(t, list(t, be, backend.ConfigFile), "no config saved")
}

func testListConfig(t *testing.T, be backend.Backend) {
	require.Empty(t, list(t, be, backend.ConfigFile))
	h := backend.Handle{Type: backend.ConfigFile}
	save(t, be, h, []byte("config data"))
	require.Equal(t, map[string]int64{"": 11}, list(t, be, backend.ConfigFile))

	// Other types don't see the config, and it doesn't see them.
	save(t, be, randomHandle(t, backend.KeyFile), []byte("key"))
	require.Len(t, list(t, be, backend.KeyFile), 1)
	require.Equal(t, map[string]int64{"": 11}, list(t, be, backend.ConfigFile))

	require.NoError(t, be.Remove(t.Context(), h))
	require.Empty(t, list(t, be, backend.ConfigFile))
}

// testListManyPacks spreads packs over many fan-out folders, with several
// sharing a folder, as a real repository does.
func testListManyPacks(t *testing.T, be backend.Backend) {
	want := make(map[string]int64)
	for i := range 300 {
		name := randomName(t)
		if i%10 == 0 {
			name = "00" + name[2:] // crowd one folder
		}
		save(t, be, backend.Handle{Type: backend.PackFile, Name: name}, randomBytes(t, i%50))
		want[name] = int64(i % 50)
	}
	require.Equal(t, want, list(t, be, backend.PackFile))
	for _, typ := range []backend.FileType{backend.ConfigFile, backend.IndexFile, backend.KeyFile} {
		require.Empty(t, list(t, be, typ), "packs listed as %v", typ)
	}
}

func testListFnError(t *testing.T, be backend.Backend) {
	for range 20 {
		save(t, be, randomHandle(t, backend.PackFile), []byte("pack"))
	}
	calls := 0
	err := be.List(t.Context(), backend.PackFile, func(backend.FileInfo) error {
		calls++
		return errTest
	})
	require.Same(t, errTest, err, "fn's error must be returned as is, got %v", err)
	require.Equal(t, 1, calls, "List went on after fn failed")
}

func testRemove(t *testing.T, be backend.Backend) {
	for _, typ := range backend.FileTypes {
		keep := randomHandle(t, typ)
		if typ != backend.ConfigFile {
			save(t, be, keep, []byte("keep"))
		}
		h := randomHandle(t, typ)
		save(t, be, h, []byte("remove me"))

		require.NoError(t, be.Remove(t.Context(), h), "remove %v", h)
		requireMissing(t, be, h)
		require.ErrorIs(t, be.Remove(t.Context(), h), backend.ErrNotFound, "second remove of %v", h)

		if typ != backend.ConfigFile {
			require.Equal(t, map[string]int64{keep.Name: 4}, list(t, be, typ), "other objects survive")
			requireContent(t, be, keep, []byte("keep"))
		}

		// A removed name can be used again.
		save(t, be, h, []byte("again"))
		requireContent(t, be, h, []byte("again"))
	}
}

// testInvalidHandles fills the store first: a backend that used a bad name
// as a path could otherwise read or remove a real object, such as the config
// through "../config".
func testInvalidHandles(t *testing.T, be backend.Backend) {
	config := []byte("config")
	save(t, be, backend.Handle{Type: backend.ConfigFile}, config)
	pack := backend.Handle{Type: backend.PackFile, Name: "abcd"}
	save(t, be, pack, []byte("pack"))
	before := make(map[backend.FileType]map[string]int64)
	for _, typ := range backend.FileTypes {
		before[typ] = list(t, be, typ)
	}

	bad := []backend.Handle{
		{},
		{Type: backend.ConfigFile, Name: "ab"},
		{Type: backend.PackFile},
		{Type: backend.PackFile, Name: "a"},
		{Type: backend.PackFile, Name: "ABCD"},
		{Type: backend.PackFile, Name: "ab/../abcd"},
		{Type: backend.IndexFile, Name: "../config"},
		{Type: backend.KeyFile, Name: "../data/ab/abcd"},
		{Type: backend.SnapshotFile, Name: ".abcd"},
		{Type: backend.LockFile, Name: "ab cd"},
		{Type: backend.LockFile + 1, Name: "abcd"},
		{Type: 0, Name: "config"},
	}
	for _, h := range bad {
		t.Run(fmt.Sprintf("%v %q", h.Type, h.Name), func(t *testing.T) {
			require.Error(t, h.Valid(), "test case must be invalid")
			ctx := t.Context()
			require.Error(t, be.Save(ctx, h, backend.NewByteReader([]byte("x"))), "save")
			require.Error(t, be.Remove(ctx, h), "remove")
			_, err := be.Stat(ctx, h)
			require.Error(t, err, "stat")
			called := false
			err = be.Load(ctx, h, 0, 0, func(rd io.Reader) error { called = true; return nil })
			require.Error(t, err, "load")
			require.False(t, called, "load called fn")
		})
	}
	for _, typ := range []backend.FileType{0, backend.LockFile + 1, 255} {
		err := be.List(t.Context(), typ, func(backend.FileInfo) error { return nil })
		require.Error(t, err, "list of %v", typ)
	}

	for _, typ := range backend.FileTypes {
		require.Equal(t, before[typ], list(t, be, typ), "objects of type %v", typ)
	}
	requireContent(t, be, backend.Handle{Type: backend.ConfigFile}, config)
	requireContent(t, be, pack, []byte("pack"))
}
