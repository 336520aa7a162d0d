package fs

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/source"
)

// pieces cuts n bytes into pieces of random sizes, none aligned to a
// block, in random order.
func pieces(seed uint64, n int) [][2]int {
	rng := rand.New(rand.NewPCG(seed, 1))
	var ps [][2]int
	for off := 0; off < n; {
		l := min(1+rng.IntN(3*restoreBlock), n-off)
		ps = append(ps, [2]int{off, off + l})
		off += l
	}
	rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	return ps
}

// TestTargetCreateWritesPieces: a file written in pieces, out of order and
// from several goroutines at once, has the content and metadata of its
// entry; a sparse one keeps its all-zero blocks as holes.
func TestTargetCreateWritesPieces(t *testing.T) {
	for _, sparse := range []bool{false, true} {
		dir := t.TempDir()
		tg := Into(dir, TargetOptions{})
		tgtPut(t, tg, tgtDir(".", 0o755), "")
		content := make([]byte, 64*restoreBlock+123)
		copy(content[5:], "head")
		copy(content[40*restoreBlock+7:], bytes.Repeat([]byte("x"), 3*restoreBlock))
		copy(content[len(content)-2:], "t!")
		e := tgtFile("f", string(content))
		e.Sparse, e.Perm = sparse, 0o640
		w, err := tg.Create(t.Context(), &e)
		require.NoError(t, err)
		var wg sync.WaitGroup
		for _, p := range pieces(7, len(content)) {
			wg.Go(func() {
				n, err := w.WriteAt(content[p[0]:p[1]], int64(p[0]))
				require.NoError(t, err)
				require.Equal(t, p[1]-p[0], n)
			})
		}
		wg.Wait()
		require.NoError(t, w.Finish(nil))
		require.NoError(t, tg.Close(t.Context()))

		got, err := os.ReadFile(filepath.Join(dir, "f"))
		require.NoError(t, err)
		require.Equal(t, content, got)
		st := tgtLstat(t, filepath.Join(dir, "f"))
		require.Equal(t, uint32(0o640), st.Mode&0o7777)
		require.Equal(t, tgtTime.UnixNano(), st.Mtim.Nano())
		if sparse {
			require.Less(t, st.Blocks*512, int64(len(content)/2), "holes kept")
		}
		tgtNoTemp(t, dir)
	}
}

// TestTargetCreateFinish: Finish with an error removes the file, also one
// that replaced nothing; an empty file is made by Finish; a write beyond
// the entry's size fails and fails Finish.
func TestTargetCreateFinish(t *testing.T) {
	dir := t.TempDir()
	tg := Into(dir, TargetOptions{})
	tgtPut(t, tg, tgtDir(".", 0o755), "")
	tgtPut(t, tg, tgtFile("old", "old content"), "old content")

	for _, name := range []string{"new", "old"} {
		e := tgtFile(name, "twelve bytes")
		w, err := tg.Create(t.Context(), &e)
		require.NoError(t, err)
		_, err = w.WriteAt([]byte("twelve"), 0)
		require.NoError(t, err)
		boom := errors.New("blob damaged")
		require.ErrorIs(t, w.Finish(boom), boom)
	}
	_, err := os.Lstat(filepath.Join(dir, "new"))
	require.ErrorIs(t, err, os.ErrNotExist, "a failed file is removed")
	old, err := os.ReadFile(filepath.Join(dir, "old"))
	require.NoError(t, err)
	require.Equal(t, "old content", string(old), "what a failed file would replace stays")

	empty := tgtFile("empty", "")
	w, err := tg.Create(t.Context(), &empty)
	require.NoError(t, err)
	require.NoError(t, w.Finish(nil))
	require.Zero(t, tgtLstat(t, filepath.Join(dir, "empty")).Size)

	short := tgtFile("short", "abc")
	w, err = tg.Create(t.Context(), &short)
	require.NoError(t, err)
	_, err = w.WriteAt([]byte("abcd"), 0)
	require.ErrorContains(t, err, "beyond its size")
	require.Error(t, w.Finish(nil))
	_, err = os.Lstat(filepath.Join(dir, "short"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, tg.Close(t.Context()))
	tgtNoTemp(t, dir)
}

// TestTargetCreateOverwrite: under OverwriteIfChanged, Create returns no
// writer for a file that is there already, so its content is not needed;
// Create refuses what is not a plain regular file.
func TestTargetCreateOverwrite(t *testing.T) {
	dir := t.TempDir()
	e := tgtEntry("f", source.TypeFile, 0o644)
	tgtRestore(t, dir, TargetOptions{}, e)

	tg := Into(dir, TargetOptions{Overwrite: OverwriteIfChanged})
	tgtPut(t, tg, tgtDir(".", 0o755), "")
	w, err := tg.Create(t.Context(), &e)
	require.NoError(t, err)
	require.Nil(t, w)
	require.Equal(t, uint64(1), tg.Skipped())

	changed := e
	changed.Size++
	w, err = tg.Create(t.Context(), &changed)
	require.NoError(t, err)
	require.NotNil(t, w)
	require.Error(t, w.Finish(errors.New("not wanted")))
	kept, err := os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err)
	require.Equal(t, "content of f", string(kept))

	link := e
	link.Hardlink = "g"
	_, err = tg.Create(t.Context(), &link)
	require.Error(t, err)
	d := tgtDir("d", 0o755)
	_, err = tg.Create(t.Context(), &d)
	require.Error(t, err)
	require.NoError(t, tg.Close(t.Context()))
}
