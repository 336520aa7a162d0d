package docker

import (
	"archive/tar"
	"bytes"
	"errors"
	"testing"

	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

func archive(t *testing.T, hdrs ...*tar.Header) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte(h.Name))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return &buf
}

func walkRebased(t *testing.T, buf *bytes.Buffer) ([]string, error) {
	var got []string
	err := walkArchive(t.Context(), buf, "vol", func(e *source.Entry) error {
		s := e.Path
		if e.Hardlink != "" {
			s += " => " + e.Hardlink
		}
		got = append(got, s)
		return nil
	})
	return got, err
}

func TestRebase(t *testing.T) {
	dir := func(n string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755} }
	reg := func(n string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644} }
	link := func(n, to string) *tar.Header { return &tar.Header{Name: n, Linkname: to, Typeflag: tar.TypeLink} }

	got, err := walkRebased(t, archive(t, dir("volume/"), reg("volume/a"), dir("volume/d/"), link("volume/d/b", "volume/a")))
	require.NoError(t, err)
	require.Equal(t, []string{".", "a", "d", "d/b => a"}, got)

	// Parents the archive leaves out are made up by the tar source.
	got, err = walkRebased(t, archive(t, reg("volume/x/y")))
	require.NoError(t, err)
	require.Equal(t, []string{".", "x", "x/y"}, got)

	for name, hdrs := range map[string][]*tar.Header{
		"outside":     {dir("volume/"), reg("other")},
		"escape":      {dir("volume/"), reg("volume/../../etc/passwd")},
		"root a file": {reg("volume")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := walkRebased(t, archive(t, hdrs...))
			require.ErrorIs(t, err, source.ErrUnsafePath)
			require.ErrorContains(t, err, `volume "vol"`)
		})
	}
	err = walkArchive(t.Context(), archive(t), "vol", func(*source.Entry) error { return nil })
	require.ErrorContains(t, err, "archive without /volume")

	errStop := errors.New("stop")
	err = walkArchive(t.Context(), archive(t, dir("volume/")), "vol", func(*source.Entry) error { return errStop })
	require.Equal(t, errStop, err)
}
