package fs

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/source"
)

// tgtNoRead is content that must not be read.
type tgtNoRead struct{ t *testing.T }

func (r tgtNoRead) Read([]byte) (int, error) {
	r.t.Error("content was read")
	return 0, errors.New("must not be read")
}

func TestTargetOverwrite(t *testing.T) {
	tests := map[string]struct {
		policy   Overwrite
		old      string
		sameTime bool
		want     string
	}{
		"always":                 {OverwriteAlways, "old", true, "new"},
		"if changed, unchanged":  {OverwriteIfChanged, "old", true, "old"},
		"if changed, other time": {OverwriteIfChanged, "old", false, "new"},
		"if changed, other size": {OverwriteIfChanged, "older", true, "new"},
		"never":                  {OverwriteNever, "older", false, "older"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f")
			require.NoError(t, os.WriteFile(p, []byte(tt.old), 0o644))
			require.NoError(t, os.Link(p, filepath.Join(dir, "other")))
			mtime := tgtTime
			if !tt.sameTime {
				mtime = mtime.Add(time.Nanosecond)
			}
			require.NoError(t, os.Chtimes(p, mtime, mtime))

			tg := Into(dir, TargetOptions{Overwrite: tt.policy})
			var content io.Reader = strings.NewReader("new")
			if tt.want != "new" {
				content = tgtNoRead{t}
			}
			e := tgtFile("f", "new")
			require.NoError(t, tg.Put(t.Context(), &e, content))
			require.NoError(t, tg.Close(t.Context()))

			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.Equal(t, tt.want, string(b))
			b, err = os.ReadFile(filepath.Join(dir, "other"))
			require.NoError(t, err)
			require.Equal(t, tt.old, string(b), "another hard link keeps the old content")
			if tt.want == "new" {
				require.Zero(t, tg.Skipped())
			} else {
				require.Equal(t, uint64(1), tg.Skipped())
			}
			tgtNoTemp(t, dir)
		})
	}
}

func TestTargetOverwriteTypes(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"dir-for-file", "full-dir", "kept", "kept/sub"} {
		require.NoError(t, os.Mkdir(filepath.Join(dir, d), 0o700))
	}
	for _, f := range []string{"file-for-dir", "kept/old", "full-dir/x", "outside"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600))
	}
	require.NoError(t, os.Symlink("outside", filepath.Join(dir, "link-for-file")))
	for _, d := range []string{"dir-for-file", "full-dir", "kept"} {
		require.NoError(t, os.Chmod(filepath.Join(dir, d), 0o500)) // kept: must be made writable
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "full-dir"), 0o700) })

	tg := Into(dir, TargetOptions{})
	tgtPut(t, tg, tgtDir(".", 0o755), "")
	tgtPut(t, tg, tgtEntry("dir-for-file", source.TypeFile, 0o644), "content of dir-for-file")
	tgtPut(t, tg, tgtDir("file-for-dir", 0o755), "")
	tgtPut(t, tg, tgtDir("kept", 0o750), "")
	tgtPut(t, tg, tgtEntry("kept/new", source.TypeFile, 0o644), "content of kept/new")
	tgtPut(t, tg, tgtEntry("link-for-file", source.TypeFile, 0o644), "content of link-for-file")
	e := tgtEntry("full-dir", source.TypeFile, 0o644)
	err := tg.Put(t.Context(), &e, tgtNoRead{t})
	require.ErrorIs(t, err, errTargetDirInTheWay)
	require.NoError(t, tg.Close(t.Context()))

	for p, want := range map[string]string{
		"dir-for-file":  "content of dir-for-file",
		"kept/old":      "x",
		"kept/new":      "content of kept/new",
		"link-for-file": "content of link-for-file",
		"outside":       "x",
		"full-dir/x":    "x",
	} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		require.NoError(t, err, p)
		require.Equal(t, want, string(b), p)
	}
	require.True(t, tgtLstat(t, filepath.Join(dir, "file-for-dir")).Mode&0o170000 == 0o040000)
	require.Equal(t, uint32(0o40750), tgtLstat(t, filepath.Join(dir, "kept")).Mode)
	require.DirExists(t, filepath.Join(dir, "kept/sub"))
	tgtNoTemp(t, dir)
}

func TestTargetOverwriteOthers(t *testing.T) {
	dir := t.TempDir()
	link := tgtEntry("link", source.TypeSymlink, 0o777)
	link.LinkTarget = "f"
	hard := tgtEntry("hard", source.TypeFile, 0o644)
	hard.Hardlink, hard.Size = "f", 0
	first := tgtRestore(t, dir, TargetOptions{}, tgtEntry("f", source.TypeFile, 0o644), link, hard)
	require.Zero(t, first.Skipped())

	// The same snapshot again: everything is there already.
	again := tgtRestore(t, dir, TargetOptions{Overwrite: OverwriteIfChanged}, tgtEntry("f", source.TypeFile, 0o644), link, hard)
	require.Equal(t, uint64(3), again.Skipped())

	link.LinkTarget = "elsewhere"
	changed := tgtRestore(t, dir, TargetOptions{Overwrite: OverwriteIfChanged}, link)
	require.Zero(t, changed.Skipped())
	target, err := os.Readlink(filepath.Join(dir, "link"))
	require.NoError(t, err)
	require.Equal(t, "elsewhere", target)

	require.NoError(t, os.Chmod(dir, 0o700))
	never := tgtRestore(t, dir, TargetOptions{Overwrite: OverwriteNever}, link)
	require.Equal(t, uint64(2), never.Skipped(), "the root and the link")
	require.Equal(t, uint32(0o40700), tgtLstat(t, dir).Mode)
}

func TestTargetShortContent(t *testing.T) {
	dir := t.TempDir()
	tg := Into(dir, TargetOptions{})
	e := tgtFile("f", "0123456789")
	err := tg.Put(t.Context(), &e, strings.NewReader("0123"))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	err = tg.Put(t.Context(), &e, nil)
	require.Error(t, err)
	require.NoFileExists(t, filepath.Join(dir, "f"))
	tgtNoTemp(t, dir)
}

func TestTargetCancel(t *testing.T) {
	dir := t.TempDir()
	tg := Into(dir, TargetOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	e := tgtFile("f", "x")
	require.ErrorIs(t, tg.Put(ctx, &e, strings.NewReader("x")), context.Canceled)
	require.NoError(t, tg.Close(t.Context()), "nothing put, nothing to finish")
}

func TestTargetReadBackOnlyFiles(t *testing.T) {
	dir := t.TempDir()
	link := tgtEntry("link", source.TypeSymlink, 0o777)
	link.LinkTarget = "f"
	tg := Into(dir, TargetOptions{})
	for _, e := range []source.Entry{tgtDir(".", 0o755), tgtEntry("f", source.TypeFile, 0o644), link, tgtEntry("fifo", source.TypeFIFO, 0o600)} {
		tgtPut(t, tg, e, "content of "+e.Path)
	}
	rc, err := tg.ReadBack(t.Context(), "f")
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, "content of f", string(b))
	require.NoError(t, rc.Close())
	for _, p := range []string{"link", "fifo", ".", "missing", "../f"} {
		_, err := tg.ReadBack(t.Context(), p)
		require.Error(t, err, p)
	}
	require.NoError(t, tg.Close(t.Context()))
}

func TestTargetInvalid(t *testing.T) {
	e := tgtDir(".", 0o755)
	err := Into(t.TempDir(), TargetOptions{Overwrite: OverwriteNever + 1}).Put(t.Context(), &e, nil)
	require.ErrorContains(t, err, "overwrite policy")

	tg := Into(t.TempDir(), TargetOptions{})
	for _, e := range []source.Entry{tgtFile(".", ""), tgtEntry("x", 0, 0o644), tgtEntry("x", source.TypeSocket+1, 0o644)} {
		require.Error(t, tg.Put(t.Context(), &e, strings.NewReader("")), e.Type.String())
	}
	require.True(t, tg.Parallel())
	require.NoError(t, tg.Close(t.Context()))
}
