package tar

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/source"
)

// item is one tar entry for building and reading test streams.
type item struct {
	hdr  tar.Header
	data []byte
}

func reg(name string, data string) item {
	return item{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, ModTime: t0}, data: []byte(data)}
}

func dir(name string) item {
	return item{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: t0}}
}

func link(name, target string, flag byte) item {
	return item{hdr: tar.Header{Name: name, Typeflag: flag, Linkname: target, Mode: 0o777, ModTime: t0}}
}

// buildTar writes items as a PAX stream; a regular file's size is the
// length of its data.
func buildTar(t testing.TB, items ...item) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, it := range items {
		h := it.hdr
		if h.Format == tar.FormatUnknown {
			h.Format = tar.FormatPAX
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(it.data))
		}
		require.NoError(t, tw.WriteHeader(&h))
		_, err := tw.Write(it.data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

// readTar reads back every header and its content.
func readTar(t testing.TB, b []byte) []item {
	t.Helper()
	var items []item
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return items
		}
		require.NoError(t, err)
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		items = append(items, item{hdr: *hdr, data: data})
	}
}

// walked is an entry as fn saw it, with the content read inside fn.
type walked struct {
	source.Entry
	data []byte
}

// walkAll walks stream, reading each file's content inside fn.
func walkAll(t testing.TB, stream []byte) ([]walked, error) {
	t.Helper()
	var got []walked
	err := NewSource(bytes.NewReader(stream), "test").Walk(context.Background(), func(e *source.Entry) error {
		w := walked{Entry: *e}
		w.Open = nil
		if e.Open != nil {
			r, err := e.Open()
			if err != nil {
				return err
			}
			if w.data, err = io.ReadAll(r); err != nil {
				return err
			}
			require.NoError(t, r.Close())
		}
		got = append(got, w)
		return nil
	})
	return got, err
}

func paths(ws []walked) []string {
	var ps []string
	for _, w := range ws {
		ps = append(ps, w.Path)
	}
	return ps
}

func find(t testing.TB, ws []walked, p string) walked {
	t.Helper()
	for _, w := range ws {
		if w.Path == p {
			return w
		}
	}
	t.Fatalf("no entry %q in %q", p, paths(ws))
	return walked{}
}
