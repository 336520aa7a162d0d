package tar

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/source"
)

// nulName is a stream whose one entry has a NUL in its name. archive/tar
// refuses NUL in a PAX path, but takes the name of a GNU sparse file from
// its GNU.sparse.name record as is. tar.Writer does not write GNU.sparse
// records, so they are written under another name and patched.
func nulName(t *testing.T) []byte {
	f := reg("placeholder", "")
	f.hdr.PAXRecords = map[string]string{
		"XXX.sparse.major":     "0",
		"XXX.sparse.minor":     "1",
		"XXX.sparse.numblocks": "0",
		"XXX.sparse.name":      "a\x00b",
	}
	return bytes.ReplaceAll(buildTar(t, f), []byte("XXX.sparse."), []byte("GNU.sparse."))
}

func TestSourceHostile(t *testing.T) {
	for name, tt := range map[string]struct {
		stream []byte
		bad    string // the entry fn must not see
		want   error
	}{
		"dotdot":           {buildTar(t, reg("a", ""), reg("../x", "")), "../x", source.ErrUnsafePath},
		"absolute":         {buildTar(t, reg("/etc/passwd", "")), "/etc/passwd", source.ErrUnsafePath},
		"dotdot inside":    {buildTar(t, dir("a/"), reg("a/../../x", "")), "a/../../x", source.ErrUnsafePath},
		"dot inside":       {buildTar(t, reg("a/./b", "")), "a/./b", source.ErrUnsafePath},
		"empty element":    {buildTar(t, reg("a//b", "")), "a//b", source.ErrUnsafePath},
		"empty name":       {buildTar(t, reg("", "")), "", source.ErrUnsafePath},
		"nul":              {nulName(t), "a\x00b", source.ErrUnsafePath},
		"through symlink":  {buildTar(t, link("a", "/etc", tar.TypeSymlink), reg("a/passwd", "")), "a/passwd", source.ErrUnsafePath},
		"through file":     {buildTar(t, reg("a", ""), reg("a/b", "")), "a/b", source.ErrUnsafePath},
		"root symlink":     {buildTar(t, link("./", "/", tar.TypeSymlink)), ".", source.ErrUnsafePath},
		"hardlink dotdot":  {buildTar(t, reg("a", ""), link("b", "../x", tar.TypeLink)), "b", source.ErrUnsafePath},
		"hardlink abs":     {buildTar(t, link("b", "/etc/passwd", tar.TypeLink)), "b", source.ErrUnsafePath},
		"hardlink unknown": {buildTar(t, reg("a", ""), link("b", "c", tar.TypeLink)), "b", ErrUnknownHardlink},
		"hardlink later":   {buildTar(t, link("b", "a", tar.TypeLink), reg("a", "")), "b", ErrUnknownHardlink},
		"hardlink self":    {buildTar(t, link("b", "b", tar.TypeLink)), "b", ErrUnknownHardlink},
		"hardlink to dir":  {buildTar(t, dir("d/"), link("b", "d", tar.TypeLink)), "b", ErrUnknownHardlink},
		"hardlink to link": {buildTar(t, link("s", "x", tar.TypeSymlink), link("b", "s", tar.TypeLink)), "b", ErrUnknownHardlink},
	} {
		t.Run(name, func(t *testing.T) {
			var seen []string
			err := NewSource(bytes.NewReader(tt.stream), "t").Walk(context.Background(), func(e *source.Entry) error {
				require.NoError(t, source.ValidPath(e.Path))
				seen = append(seen, e.Path)
				return nil
			})
			require.ErrorIs(t, err, tt.want)
			require.ErrorContains(t, err, "tar entry")
			require.NotContains(t, seen, tt.bad)
		})
	}
}
