package tar

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/source"
)

// fixture is a stream with every entry type and the metadata that needs
// PAX, in the form Target writes: no "./" prefix, directories with "/".
func fixture(bigSize int) []item {
	root := dir("./")
	root.hdr.Mode = 0o750
	sgid := dir("d/")
	sgid.hdr.Mode, sgid.hdr.Uid, sgid.hdr.Gid, sgid.hdr.Uname, sgid.hdr.Gname = 0o2775, 1000, 1000, "alice", "staff"
	file := reg("d/file.txt", "hello\n")
	file.hdr.ModTime = time.Unix(1700000000, 1)
	file.hdr.ChangeTime = time.Unix(1700000001, 999999999)
	file.hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.user.b":              "2",
		"SCHILY.xattr.user.a":              "1",
		"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00",
	}
	bigID := reg("d/big-ids", "x")
	bigID.hdr.Uid, bigID.hdr.Gid = 3_000_000_000, 1<<32-1
	bigID.hdr.Uname = strings.Repeat("u", 40)
	su := reg("bin/su", "#!")
	su.hdr.Mode = 0o4755
	tmp := dir("tmp/")
	tmp.hdr.Mode = 0o1777
	dev := func(name string, flag byte, major, minor int64) item {
		return item{hdr: tar.Header{Name: name, Typeflag: flag, Devmajor: major, Devminor: minor, Mode: 0o660, ModTime: t0}}
	}
	long := "names/" + strings.Repeat("d", 150) + "/" + strings.Repeat("f", 160)
	big := make([]byte, bigSize)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(big)
	return []item{
		root,
		dir("bin/"), su,
		sgid, file, reg("d/empty", ""), bigID,
		link("d/hard", "d/file.txt", tar.TypeLink),
		link("d/abs", "/etc/passwd", tar.TypeSymlink),
		link("d/rel", "../../outside", tar.TypeSymlink),
		dir("dev/"),
		dev("dev/null", tar.TypeChar, 1, 3),
		dev("dev/sda", tar.TypeBlock, 8, 0),
		dev("dev/odd", tar.TypeChar, 0x12345, 0x54321),
		item{hdr: tar.Header{Name: "dev/fifo", Typeflag: tar.TypeFifo, Mode: 0o600, ModTime: t0}},
		dir("names/"),
		reg("names/ünïcödé ☃", "u"),
		reg("names/with space", "s"),
		reg("names/new\nline", "n"),
		dir("names/" + strings.Repeat("d", 150) + "/"),
		reg(long, "long"),
		reg("z-big", string(big)),
		tmp,
	}
}

// roundTrip walks stream and writes every entry to a Target.
func roundTrip(t *testing.T, stream []byte) []byte {
	var out bytes.Buffer
	ctx := context.Background()
	target := NewTarget(&out)
	err := NewSource(bytes.NewReader(stream), "t").Walk(ctx, func(e *source.Entry) error {
		var content io.Reader
		if e.Open != nil {
			r, err := e.Open()
			if err != nil {
				return err
			}
			defer r.Close()
			content = r
		}
		return target.Put(ctx, e, content)
	})
	require.NoError(t, err)
	require.NoError(t, target.Close(ctx))
	return out.Bytes()
}

// comparable keeps what a round trip must preserve.
func comparable(it item) item {
	h := it.hdr
	xattrs := map[string]string{}
	for k, v := range h.PAXRecords {
		if strings.HasPrefix(k, xattrPrefix) {
			xattrs[k] = v
		}
	}
	return item{hdr: tar.Header{
		Name: h.Name, Typeflag: h.Typeflag, Linkname: h.Linkname, Size: h.Size, Mode: h.Mode,
		Uid: h.Uid, Gid: h.Gid, Uname: h.Uname, Gname: h.Gname,
		ModTime: h.ModTime.UTC(), ChangeTime: h.ChangeTime.UTC(),
		Devmajor: h.Devmajor, Devminor: h.Devminor, PAXRecords: xattrs,
	}, data: it.data}
}

func TestRoundTrip(t *testing.T) {
	in := fixture(5 << 20)
	out := readTar(t, roundTrip(t, buildTar(t, in...)))
	want := readTar(t, buildTar(t, in...))
	require.Len(t, out, len(want))
	for i := range want {
		w, g := comparable(want[i]), comparable(out[i])
		require.Equal(t, w.hdr, g.hdr, w.hdr.Name)
		require.True(t, bytes.Equal(w.data, g.data), w.hdr.Name)
	}
}

func TestRoundTripNormalizes(t *testing.T) {
	// No root, "./" prefixes, a missing parent, a duplicate directory.
	in := []item{reg("./a/b/f", "x"), dir("./a/"), link("./a/l", "./a/b/f", tar.TypeLink)}
	out := readTar(t, roundTrip(t, buildTar(t, in...)))
	var names []string
	for _, it := range out {
		names = append(names, it.hdr.Name)
	}
	require.Equal(t, []string{"./", "a/", "a/b/", "a/b/f", "a/l"}, names)
	require.Equal(t, "a/b/f", out[4].hdr.Linkname)
}

func TestTargetErrors(t *testing.T) {
	ctx := context.Background()
	file := func(p string, size int64) *source.Entry {
		return &source.Entry{Path: p, Type: source.TypeFile, Perm: 0o644, Size: size, ModTime: t0}
	}
	for name, tt := range map[string]struct {
		e       *source.Entry
		content io.Reader
		want    string
	}{
		"short content":  {file("f", 10), strings.NewReader("short"), "ended after 5 of 10 bytes"},
		"no content":     {file("f", 10), nil, "no content"},
		"unsafe path":    {file("../f", 0), nil, "unsafe path"},
		"unsafe link":    {&source.Entry{Path: "f", Type: source.TypeFile, Hardlink: "/etc/passwd"}, nil, "unsafe path"},
		"root not a dir": {file(".", 0), nil, "root is a file"},
		"invalid type":   {&source.Entry{Path: "f"}, nil, "invalid entry type"},
	} {
		t.Run(name, func(t *testing.T) {
			target := NewTarget(io.Discard)
			err := target.Put(ctx, tt.e, tt.content)
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, err, target.Put(ctx, file("g", 0), nil), "sticky")
			require.Equal(t, err, target.Close(ctx), "sticky")
		})
	}
}

func TestTargetSkipsSockets(t *testing.T) {
	var out bytes.Buffer
	ctx := context.Background()
	target := NewTarget(&out)
	require.NoError(t, target.Put(ctx, &source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755, ModTime: t0}, nil))
	require.NoError(t, target.Put(ctx, &source.Entry{Path: "s", Type: source.TypeSocket, ModTime: t0}, nil))
	require.NoError(t, target.Close(ctx))
	items := readTar(t, out.Bytes())
	require.Len(t, items, 1)
	require.Equal(t, "./", items[0].hdr.Name)
	require.Error(t, target.Put(ctx, &source.Entry{Path: "late", Type: source.TypeDir}, nil), "after Close")
}

func TestTargetCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	target := NewTarget(io.Discard)
	err := target.Put(ctx, &source.Entry{Path: ".", Type: source.TypeDir}, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, target.Close(context.Background()), context.Canceled)

	ctx, cancel = context.WithCancel(context.Background())
	target = NewTarget(io.Discard)
	content := io.MultiReader(strings.NewReader("abc"), readFunc(func([]byte) (int, error) { cancel(); return 0, nil }), strings.NewReader("def"))
	err = target.Put(ctx, &source.Entry{Path: "f", Type: source.TypeFile, Size: 6}, content)
	require.ErrorIs(t, err, context.Canceled)
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }
