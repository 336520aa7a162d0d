package repo

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/stretchr/testify/require"
)

const testPassword = "correct horse battery staple"

// cheapKey keeps key derivation fast in tests; the format is the same.
var cheapKey = KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, Host: "test", Username: "tester"}

func initRepo(t testing.TB, be backend.Backend, opts Options) *Repository {
	t.Helper()
	r, err := Init(context.Background(), be, testPassword, InitOptions{Options: opts, Key: cheapKey})
	require.NoError(t, err)
	return r
}

func newMemRepo(t testing.TB) (*Repository, *mem.Backend) {
	be := mem.New()
	return initRepo(t, be, Options{}), be
}

func reopen(t testing.TB, be backend.Backend) *Repository {
	t.Helper()
	r, err := Open(context.Background(), be, testPassword, OpenOptions{})
	require.NoError(t, err)
	return r
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 42))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// saveTree stores a tree blob and a snapshot pointing at it: the smallest
// valid snapshot.
func saveSnapshot(t testing.TB, w *Writer, tree []byte, tags ...string) *Snapshot {
	t.Helper()
	ctx := context.Background()
	id, _, err := w.SaveBlob(ctx, TreeBlob, tree)
	require.NoError(t, err)
	sn := &Snapshot{Time: time.Now(), Host: "test", Tree: id, Tags: tags}
	_, err = w.SaveSnapshot(ctx, sn)
	require.NoError(t, err)
	return sn
}

// listFiles returns the names of all objects of type t.
func listFiles(t testing.TB, be backend.Backend, ft backend.FileType) []string {
	t.Helper()
	var names []string
	require.NoError(t, be.List(context.Background(), ft, func(fi backend.FileInfo) error {
		names = append(names, fi.Name)
		return nil
	}))
	return names
}

func blobHandle(t BlobType, id ID) pack.Handle { return pack.Handle{Type: t, ID: id} }
