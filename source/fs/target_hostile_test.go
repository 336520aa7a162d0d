package fs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

func tgtSymlink(p, target string) source.Entry {
	e := tgtEntry(p, source.TypeSymlink, 0o777)
	e.LinkTarget = target
	return e
}

func tgtHardlink(p, target string) source.Entry {
	e := tgtEntry(p, source.TypeFile, 0o644)
	e.Hardlink, e.Size = target, 0
	return e
}

// TestTargetHostile puts entries that try to write outside the target: the
// last one of each case must fail with source.ErrUnsafePath and leave the
// directory outside as it was.
func TestTargetHostile(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	const rel = "<relative path to outside>"

	tests := map[string]struct {
		links   map[string]string // symbolic links in the target before the restore
		entries []source.Entry
	}{
		"dotdot":           {entries: []source.Entry{tgtEntry("../x", source.TypeFile, 0o644)}},
		"absolute":         {entries: []source.Entry{tgtEntry(filepath.Join(outside, "x"), source.TypeFile, 0o644)}},
		"dotdot inside":    {entries: []source.Entry{tgtEntry("a/../../x", source.TypeFile, 0o644)}},
		"dotdot dir":       {entries: []source.Entry{tgtDir("..", 0o755)}},
		"hardlink dotdot":  {entries: []source.Entry{tgtHardlink("x", "../outside")}},
		"hardlink abs":     {entries: []source.Entry{tgtHardlink("x", secret)}},
		"link, file":       {links: map[string]string{"link": outside}, entries: []source.Entry{tgtEntry("link/file", source.TypeFile, 0o644)}},
		"link, dir":        {links: map[string]string{"link": outside}, entries: []source.Entry{tgtDir("link/dir", 0o755)}},
		"link, fifo":       {links: map[string]string{"link": outside}, entries: []source.Entry{tgtEntry("link/p", source.TypeFIFO, 0o644)}},
		"link, symlink":    {links: map[string]string{"link": outside}, entries: []source.Entry{tgtSymlink("link/s", "x")}},
		"relative link":    {links: map[string]string{"up": rel}, entries: []source.Entry{tgtEntry("up/file", source.TypeFile, 0o644)}},
		"link, hardlink":   {links: map[string]string{"link": outside}, entries: []source.Entry{tgtHardlink("x", "link/secret")}},
		"link, link into":  {links: map[string]string{"link": outside}, entries: []source.Entry{tgtEntry("f", source.TypeFile, 0), tgtHardlink("link/x", "f")}},
		"snapshot link":    {entries: []source.Entry{tgtSymlink("evil", outside), tgtEntry("evil/file", source.TypeFile, 0o644)}},
		"snapshot dotdot":  {entries: []source.Entry{tgtSymlink("up", ".."), tgtDir("up/dir", 0o755)}},
		"snapshot chain":   {entries: []source.Entry{tgtSymlink("a", "b"), tgtSymlink("b", "c/../.."), tgtDir("c", 0o755), tgtEntry("a/x", source.TypeFile, 0o644)}},
		"snapshot nested":  {entries: []source.Entry{tgtDir("d", 0o755), tgtSymlink("d/l", "../.."), tgtEntry("d/l/x", source.TypeFile, 0o644)}},
		"snapshot to file": {entries: []source.Entry{tgtSymlink("s", secret), tgtEntry("s/x", source.TypeFile, 0o644)}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(secret, []byte("secret"), 0o600))
			var err error
			dir := filepath.Join(t.TempDir(), "x")
			require.NoError(t, os.Mkdir(dir, 0o755))
			for l, target := range tt.links {
				if target == rel {
					target, err = filepath.Rel(dir, outside)
					require.NoError(t, err)
				}
				require.NoError(t, os.Symlink(target, filepath.Join(dir, l)))
			}
			tg := Into(dir, TargetOptions{})
			tgtPut(t, tg, tgtDir(".", 0o755), "")
			last := len(tt.entries) - 1
			for _, e := range tt.entries[:last] {
				tgtPut(t, tg, e, "content of "+e.Path)
			}
			e := tt.entries[last]
			err = tg.Put(t.Context(), &e, strings.NewReader("content of "+e.Path))
			require.ErrorIs(t, err, source.ErrUnsafePath)
			t.Log(err)

			names, err := os.ReadDir(outside)
			require.NoError(t, err)
			require.Len(t, names, 1, "only the secret outside")
			var st unix.Stat_t
			require.NoError(t, unix.Stat(secret, &st))
			require.Equal(t, uint64(1), uint64(st.Nlink), "no hard link to the secret")
			b, err := os.ReadFile(secret)
			require.NoError(t, err)
			require.Equal(t, "secret", string(b))
		})
	}
}

// TestTargetReplacesLinks checks that a symbolic link where a file, a
// directory or a FIFO goes is replaced, not followed.
func TestTargetReplacesLinks(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("secret"), 0o600))
	dir := t.TempDir()
	for _, l := range []string{"file", "dir", "fifo", "link"} {
		require.NoError(t, os.Symlink(secret, filepath.Join(dir, l)))
	}
	e := tgtEntry("dir", source.TypeDir, 0o700)
	e.Xattrs = []source.Xattr{{Name: "user.x", Value: []byte("x")}}
	tgtRestore(t, dir, TargetOptions{Warn: func(string, error) {}},
		tgtEntry("file", source.TypeFile, 0o644),
		e,
		tgtEntry("fifo", source.TypeFIFO, 0o600),
		tgtSymlink("link", "elsewhere"),
	)
	b, err := os.ReadFile(secret)
	require.NoError(t, err)
	require.Equal(t, "secret", string(b))
	fi, err := os.Stat(secret)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode())
	require.True(t, fi.ModTime().After(tgtTime), "times of the secret not set")
	require.DirExists(t, filepath.Join(dir, "dir"))
	b, err = os.ReadFile(filepath.Join(dir, "file"))
	require.NoError(t, err)
	require.Equal(t, "content of file", string(b))
}
