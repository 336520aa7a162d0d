package repo_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	cairntar "github.com/cairnbackup/cairn/source/tar"
	"github.com/stretchr/testify/require"
)

// A tar stream backed up (a sequential source, content readable only in
// order) and written back out as tar gives the same entries and content.
func TestTarRoundTrip(t *testing.T) {
	ctx := context.Background()
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	entries := []struct {
		hdr  tar.Header
		data []byte
	}{
		{tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "etc/big", Typeflag: tar.TypeReg, Mode: 0o644, Uname: "app", Uid: 999}, big},
		{tar.Header{Name: "etc/link", Typeflag: tar.TypeLink, Linkname: "etc/big"}, nil},
		{tar.Header{Name: "sym", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd", Mode: 0o777}, nil},
	}
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	for _, e := range entries {
		e.hdr.ModTime, e.hdr.Format, e.hdr.Size = mtime, tar.FormatPAX, int64(len(e.data))
		require.NoError(t, tw.WriteHeader(&e.hdr))
		_, err := tw.Write(e.data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())

	r, err := repo.Init(ctx, mem.New(), "pw", repo.InitOptions{Key: repo.KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}}})
	require.NoError(t, err)
	sn, err := r.Backup(ctx, cairntar.NewSource(&in, "stdin"), repo.BackupOptions{})
	require.NoError(t, err)
	require.Equal(t, "tar", sn.Source.Kind)

	var out bytes.Buffer
	require.NoError(t, r.Restore(ctx, sn.ID, cairntar.NewTarget(&out), repo.RestoreOptions{}))
	tr := tar.NewReader(&out)
	got := map[string]*tar.Header{}
	var content []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got[h.Name] = h
		if h.Name == "etc/big" {
			content, err = io.ReadAll(tr)
			require.NoError(t, err)
		}
	}
	require.Len(t, got, 5)
	require.Equal(t, big, content)
	require.Equal(t, byte(tar.TypeLink), got["etc/link"].Typeflag)
	require.Equal(t, "etc/big", got["etc/link"].Linkname)
	require.Equal(t, "/etc/passwd", got["sym"].Linkname)
	require.Equal(t, "app", got["etc/big"].Uname)
	require.True(t, mtime.Equal(got["etc/big"].ModTime))
}
