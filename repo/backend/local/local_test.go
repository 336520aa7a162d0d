package local_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		// A folder that does not exist yet, so the suite also covers a
		// repository that was never Created.
		return local.New(filepath.Join(t.TempDir(), "repo"))
	})
}

func TestConformanceCreated(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		be := local.New(t.TempDir())
		require.NoError(t, be.Create(t.Context()))
		return be
	})
}

var (
	packH   = backend.Handle{Type: backend.PackFile, Name: "3fa2c0"}
	indexH  = backend.Handle{Type: backend.IndexFile, Name: "77aa"}
	configH = backend.Handle{Type: backend.ConfigFile}
)

func save(t *testing.T, be *local.Backend, h backend.Handle, data string) {
	t.Helper()
	require.NoError(t, be.Save(t.Context(), h, backend.NewByteReader([]byte(data))))
}

func listNames(t *testing.T, be *local.Backend, typ backend.FileType) []string {
	t.Helper()
	var names []string
	require.NoError(t, be.List(t.Context(), typ, func(fi backend.FileInfo) error {
		names = append(names, fi.Name)
		return nil
	}))
	return names
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	be := local.New(dir)
	require.Equal(t, dir, be.Dir())
	save(t, be, configH, "c")
	save(t, be, packH, "p")
	save(t, be, indexH, "i")
	save(t, be, backend.Handle{Type: backend.KeyFile, Name: "0123"}, "k")
	save(t, be, backend.Handle{Type: backend.SnapshotFile, Name: "4567"}, "s")
	save(t, be, backend.Handle{Type: backend.LockFile, Name: "89ab"}, "l")

	for _, p := range []string{"config", "data/3f/3fa2c0", "index/77aa", "keys/0123", "snapshots/4567", "locks/89ab"} {
		require.FileExists(t, filepath.Join(dir, filepath.FromSlash(p)))
	}
}

// TestStrayFiles leaves what a crash mid-save leaves, and what a user might
// drop into the folders, and checks List reports only real objects.
func TestStrayFiles(t *testing.T) {
	dir := t.TempDir()
	be := local.New(dir)
	save(t, be, packH, "pack")
	save(t, be, indexH, "index")

	strays := []string{
		"data/3f/.3fa2c1.tmp-123456", // crash before the link
		"data/3f/.3fa2c0.tmp-999",    // crash after the link, before the cleanup
		"index/.77ab.tmp-42",
		".config.tmp-7",      // config not yet published
		"index/README",       // not a name
		"index/ABCD",         // not lower-case
		"data/ff/3fa2c9",     // a pack in the wrong fan-out folder
		"data/3fa2c8",        // a pack outside the fan-out folders
		"data/zz/zzzz",       // a folder that is no fan-out folder
		"locks/.tmp-partial", // a lock being written
	}
	for _, p := range strays {
		p = filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte("partial"), 0o600))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "index", "abcd"), 0o700)) // a folder, not a file

	require.Equal(t, []string{packH.Name}, listNames(t, be, backend.PackFile))
	require.Equal(t, []string{indexH.Name}, listNames(t, be, backend.IndexFile))
	require.Empty(t, listNames(t, be, backend.ConfigFile))
	require.Empty(t, listNames(t, be, backend.LockFile))

	// A leftover temp file does not stand in the way of the real save.
	h := backend.Handle{Type: backend.PackFile, Name: "3fa2c1"}
	save(t, be, h, "real")
	got, err := backend.LoadAll(t.Context(), be, h)
	require.NoError(t, err)
	require.Equal(t, "real", string(got))
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	be := local.New(dir)
	require.NoError(t, be.Create(t.Context()))
	save(t, be, packH, "pack")
	save(t, be, configH, "config")
	save(t, be, indexH, "index")

	perm := func(p string) fs.FileMode {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		require.NoError(t, err)
		return fi.Mode().Perm()
	}
	for _, d := range []string{".", "data", "data/3f", "index", "keys", "snapshots", "locks"} {
		require.Equal(t, fs.FileMode(0o700), perm(d), "folder %s", d)
	}
	for _, f := range []string{"config", "data/3f/3fa2c0", "index/77aa"} {
		require.Equal(t, fs.FileMode(0o600), perm(f), "file %s", f)
	}
}

func TestCreateIdempotent(t *testing.T) {
	be := local.New(t.TempDir())
	require.NoError(t, be.Create(t.Context()))
	save(t, be, indexH, "index")
	require.NoError(t, be.Create(t.Context()))
	require.Equal(t, []string{indexH.Name}, listNames(t, be, backend.IndexFile))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, local.New(t.TempDir()).Create(ctx), context.Canceled)
}

func TestSaveReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, which ignores directory permissions")
	}
	dir := t.TempDir()
	be := local.New(dir)
	require.NoError(t, be.Create(t.Context()))
	require.NoError(t, os.Chmod(filepath.Join(dir, "index"), 0o500))
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "index"), 0o700) })

	err := be.Save(t.Context(), indexH, backend.NewByteReader([]byte("x")))
	require.ErrorIs(t, err, fs.ErrPermission)
	require.ErrorContains(t, err, indexH.String())
	require.Empty(t, listNames(t, be, backend.IndexFile))
}

// TestSaveFolderIsFile covers a broken layout that even root cannot write
// through: the folder of a type is a file.
func TestSaveFolderIsFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index"), nil, 0o600))
	be := local.New(dir)

	err := be.Save(t.Context(), indexH, backend.NewByteReader([]byte("x")))
	require.Error(t, err)
	require.ErrorContains(t, err, indexH.String())
	require.Error(t, be.Create(t.Context()))
}

// TestLoadTruncatedWhileReading shrinks a file after Load checked its size,
// as a failing disk or another program might; the reader must not pass the
// short object off as complete.
func TestLoadTruncatedWhileReading(t *testing.T) {
	dir := t.TempDir()
	be := local.New(dir)
	save(t, be, packH, string(make([]byte, 1000)))

	err := be.Load(t.Context(), packH, 0, 0, func(rd io.Reader) error {
		require.NoError(t, os.Truncate(filepath.Join(dir, "data", "3f", packH.Name), 500))
		_, err := io.ReadAll(rd)
		return err
	})
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.ErrorContains(t, err, packH.String())
}

func TestLoadCancelledWhileReading(t *testing.T) {
	be := local.New(t.TempDir())
	save(t, be, packH, string(make([]byte, 1<<20)))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := be.Load(ctx, packH, 0, 0, func(rd io.Reader) error {
		var buf [100]byte
		if _, err := io.ReadFull(rd, buf[:]); err != nil {
			return err
		}
		cancel()
		_, err := io.ReadAll(rd)
		return err
	})
	require.ErrorIs(t, err, context.Canceled)
}

func TestNotFoundNamesObject(t *testing.T) {
	be := local.New(t.TempDir())
	_, err := be.Stat(t.Context(), packH)
	require.ErrorIs(t, err, backend.ErrNotFound)
	require.ErrorContains(t, err, packH.String())
}

type longReader struct{ *backend.ByteReader }

func (longReader) Length() int64 { return 3 }

func TestSaveReaderLongerThanLength(t *testing.T) {
	be := local.New(t.TempDir())
	err := be.Save(t.Context(), packH, longReader{backend.NewByteReader([]byte("four"))})
	require.ErrorContains(t, err, "more than its length")
	require.ErrorContains(t, err, packH.String())
	require.Empty(t, listNames(t, be, backend.PackFile))
}
