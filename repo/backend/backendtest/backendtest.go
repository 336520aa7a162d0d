package backendtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/stretchr/testify/require"
)

// Run runs the conformance suite against the backends newBackend returns.
// newBackend is called once per subtest and must return an empty backend.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, be backend.Backend)
	}{
		{"SaveLoad", testSaveLoad},
		{"LoadRange", testLoadRange},
		{"LoadPartialRead", testLoadPartialRead},
		{"LoadFnError", testLoadFnError},
		{"SaveExisting", testSaveExisting},
		{"SaveCopiesInput", testSaveCopiesInput},
		{"SaveReadError", testSaveReadError},
		{"SaveShortReader", testSaveShortReader},
		{"Missing", testMissing},
		{"Stat", testStat},
		{"Empty", testEmpty},
		{"Large", testLarge},
		{"List", testList},
		{"ListConfig", testListConfig},
		{"ListManyPacks", testListManyPacks},
		{"ListFnError", testListFnError},
		{"Remove", testRemove},
		{"InvalidHandles", testInvalidHandles},
		{"Reentrant", testReentrant},
		{"Cancelled", testCancelled},
		{"CancelledDuringSave", testCancelledDuringSave},
		{"Concurrent", testConcurrent},
		{"ConcurrentSaveSameHandle", testConcurrentSaveSameHandle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t)
			require.NotNil(t, be, "newBackend returned nil")
			tt.fn(t, be)
		})
	}
}

// randomName returns a name like the repository's: 64 lower-case hex digits.
func randomName(t testing.TB) string {
	return hex.EncodeToString(randomBytes(t, 32))
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func randomHandle(t testing.TB, typ backend.FileType) backend.Handle {
	if typ == backend.ConfigFile {
		return backend.Handle{Type: backend.ConfigFile}
	}
	return backend.Handle{Type: typ, Name: randomName(t)}
}

func save(t testing.TB, be backend.Backend, h backend.Handle, data []byte) {
	t.Helper()
	require.NoError(t, be.Save(t.Context(), h, backend.NewByteReader(data)), "save %v", h)
}

// load reads a range and also checks that fn saw exactly what Load returned.
func load(ctx context.Context, be backend.Backend, h backend.Handle, length int, offset int64) ([]byte, error) {
	var data []byte
	calls := 0
	err := be.Load(ctx, h, length, offset, func(rd io.Reader) error {
		calls++
		var err error
		data, err = io.ReadAll(rd)
		return err
	})
	if err == nil && calls == 0 {
		return nil, fmt.Errorf("load %v: returned nil without calling fn", h)
	}
	return data, err
}

func requireContent(t testing.TB, be backend.Backend, h backend.Handle, want []byte) {
	t.Helper()
	got, err := load(t.Context(), be, h, 0, 0)
	require.NoError(t, err, "load %v", h)
	requireBytes(t, want, got, "content of %v", h)
	fi, err := be.Stat(t.Context(), h)
	require.NoError(t, err, "stat %v", h)
	require.Equal(t, backend.FileInfo{Name: h.Name, Size: int64(len(want))}, fi, "stat %v", h)
}

// requireBytes compares without dumping megabytes into the failure message.
func requireBytes(t testing.TB, want, got []byte, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	if len(want) < 256 && len(got) < 256 {
		require.Equal(t, want, got, what)
		return
	}
	require.Len(t, got, len(want), what)
	if i := firstDiff(want, got); i >= 0 {
		require.Failf(t, "bytes differ", "%s: first difference at offset %d", what, i)
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func requireMissing(t testing.TB, be backend.Backend, h backend.Handle) {
	t.Helper()
	_, err := be.Stat(t.Context(), h)
	require.ErrorIs(t, err, backend.ErrNotFound, "stat %v", h)
	called := false
	err = be.Load(t.Context(), h, 0, 0, func(io.Reader) error { called = true; return nil })
	require.ErrorIs(t, err, backend.ErrNotFound, "load %v", h)
	require.False(t, called, "load %v called fn for a missing object", h)
	if h.Type == backend.ConfigFile {
		require.Empty(t, list(t, be, h.Type), "config listed")
		return
	}
	require.NotContains(t, list(t, be, h.Type), h.Name, "%v listed", h)
}

// list returns name -> size for every object of a type, failing on duplicates.
func list(t testing.TB, be backend.Backend, typ backend.FileType) map[string]int64 {
	t.Helper()
	got := make(map[string]int64)
	err := be.List(t.Context(), typ, func(fi backend.FileInfo) error {
		if _, dup := got[fi.Name]; dup {
			return fmt.Errorf("%q listed twice", fi.Name)
		}
		got[fi.Name] = fi.Size
		return nil
	})
	require.NoError(t, err, "list %v", typ)
	return got
}

var errTest = errors.New("backendtest: error from the test")
