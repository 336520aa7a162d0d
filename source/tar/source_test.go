package tar

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/source"
)

var t0 = time.Unix(1700000000, 123456789)

func TestSourceInfo(t *testing.T) {
	s := NewSource(bytes.NewReader(nil), "backup.tar")
	require.Equal(t, source.Info{Kind: "tar", Description: "backup.tar", Paths: []string{"backup.tar"}}, s.Info())
}

func TestSourceMetadata(t *testing.T) {
	root := dir("./")
	root.hdr.Mode, root.hdr.Uid, root.hdr.Uname = 0o700, 5, "five"
	file := reg("d/f", "hello")
	file.hdr.Mode = 0o4755
	file.hdr.Uid, file.hdr.Gid = 3_000_000_000, 1<<32-1
	file.hdr.Uname, file.hdr.Gname = "alice", "staff"
	file.hdr.ChangeTime = t0.Add(time.Second)
	file.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.b": "2", "SCHILY.xattr.user.a": "1\x00", "comment": "x"}
	sticky := dir("d/")
	sticky.hdr.Mode = 0o3777
	dev := item{hdr: tar.Header{Name: "d/sda", Typeflag: tar.TypeBlock, Devmajor: 8, Devminor: 1, Mode: 0o660, ModTime: t0}}
	got, err := walkAll(t, buildTar(t, root, sticky, file, dev,
		link("d/l", "./d/f", tar.TypeLink), link("d/l2", "d/l", tar.TypeLink), link("d/s", "/etc/passwd", tar.TypeSymlink),
		item{hdr: tar.Header{Name: "d/p", Typeflag: tar.TypeFifo, Mode: 0o600, ModTime: t0}}))
	require.NoError(t, err)
	require.Equal(t, []string{".", "d", "d/f", "d/sda", "d/l", "d/l2", "d/s", "d/p"}, paths(got))

	r := got[0]
	require.Equal(t, source.TypeDir, r.Type)
	require.Equal(t, fs.FileMode(0o700), r.Perm)
	require.Equal(t, uint32(5), r.UID)
	require.Equal(t, "five", r.User)
	require.Equal(t, fs.FileMode(0o777)|fs.ModeSetgid|fs.ModeSticky, got[1].Perm)

	f := got[2]
	require.Equal(t, source.TypeFile, f.Type)
	require.Equal(t, fs.FileMode(0o755)|fs.ModeSetuid, f.Perm)
	require.Equal(t, uint32(3_000_000_000), f.UID)
	require.Equal(t, uint32(1<<32-1), f.GID)
	require.Equal(t, "alice", f.User)
	require.Equal(t, "staff", f.Group)
	require.True(t, f.ModTime.Equal(t0), f.ModTime)
	require.True(t, f.ChangeTime.Equal(t0.Add(time.Second)), f.ChangeTime)
	require.Equal(t, int64(5), f.Size)
	require.Equal(t, "hello", string(f.data))
	require.Equal(t, []source.Xattr{{Name: "user.a", Value: []byte("1\x00")}, {Name: "user.b", Value: []byte("2")}}, f.Xattrs)

	require.Equal(t, source.TypeBlockDevice, got[3].Type)
	require.Equal(t, uint64(0x801), got[3].Rdev)
	for _, l := range got[4:6] {
		require.Equal(t, source.TypeFile, l.Type)
		require.Equal(t, "d/f", l.Hardlink, "a link to a link names the file")
		require.Equal(t, int64(5), l.Size)
		require.Nil(t, l.data)
	}
	require.Equal(t, source.TypeSymlink, got[6].Type)
	require.Equal(t, "/etc/passwd", got[6].LinkTarget)
	require.Equal(t, source.TypeFIFO, got[7].Type)
}

func TestSourceSynthesizesParents(t *testing.T) {
	later := reg("x/w", "")
	later.hdr.ModTime = t0.Add(time.Hour)
	got, err := walkAll(t, buildTar(t, reg("x/y/z.txt", "z"), later, reg("./q", "")))
	require.NoError(t, err)
	require.Equal(t, []string{".", "x", "x/y", "x/y/z.txt", "x/w", "q"}, paths(got))
	for _, w := range got[:3] {
		require.Equal(t, source.TypeDir, w.Type, w.Path)
		require.Equal(t, fs.FileMode(0o755), w.Perm, w.Path)
		require.True(t, w.ModTime.Equal(t0), w.Path)
	}
}

func TestSourceDuplicates(t *testing.T) {
	first := dir("d/")
	first.hdr.Mode = 0o700
	again := dir("./d")
	again.hdr.Mode = 0o777
	got, err := walkAll(t, buildTar(t, dir("./"), first, reg("d/f", "x"), again, dir(".")))
	require.NoError(t, err)
	require.Equal(t, []string{".", "d", "d/f"}, paths(got))
	require.Equal(t, fs.FileMode(0o700), got[1].Perm)

	for name, items := range map[string][]item{
		"file twice":     {reg("f", "1"), reg("./f", "2")},
		"dir then file":  {dir("d/"), reg("d", "")},
		"file then dir":  {reg("d", ""), dir("d/")},
		"root then file": {dir("./"), reg(".", "")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := walkAll(t, buildTar(t, items...))
			require.ErrorIs(t, err, ErrDuplicate)
		})
	}
}

func TestSourceSkipsOtherTypes(t *testing.T) {
	global := item{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "hi"}}}
	label := item{hdr: tar.Header{Typeflag: 'V', Name: "../volume label", Format: tar.FormatGNU}}
	got, err := walkAll(t, buildTar(t, global, label, reg("a", "x")))
	require.NoError(t, err)
	require.Equal(t, []string{".", "a"}, paths(got))
	require.True(t, got[0].ModTime.Equal(t0), "root time from the first entry")
}

func TestSourceEmpty(t *testing.T) {
	for name, stream := range map[string][]byte{"no bytes": nil, "trailer only": buildTar(t)} {
		t.Run(name, func(t *testing.T) {
			got, err := walkAll(t, stream)
			require.NoError(t, err)
			require.Equal(t, []string{"."}, paths(got))
			require.True(t, got[0].ModTime.Equal(time.Unix(0, 0)))
		})
	}
}

func TestSourceTruncated(t *testing.T) {
	content := bytes.Repeat([]byte("x"), 1000)
	stream := buildTar(t, reg("a", string(content)), reg("b", "b"))
	start := bytes.Index(stream, content)
	t.Run("in content, read", func(t *testing.T) {
		_, err := walkAll(t, stream[:start+700])
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.ErrorContains(t, err, `"a"`)
	})
	t.Run("in content, not read", func(t *testing.T) {
		err := NewSource(bytes.NewReader(stream[:start+700]), "t").Walk(context.Background(), func(*source.Entry) error { return nil })
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.ErrorContains(t, err, `"a"`)
	})
	t.Run("in header", func(t *testing.T) {
		var seen []string
		err := NewSource(bytes.NewReader(stream[:start+1024+100]), "t").Walk(context.Background(), func(e *source.Entry) error {
			seen = append(seen, e.Path)
			return nil
		})
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.ErrorContains(t, err, `after "a"`)
		require.Equal(t, []string{".", "a"}, seen)
	})
}

func TestSourceContentOnlyDuringFn(t *testing.T) {
	var open func() (io.ReadCloser, error)
	var r io.ReadCloser
	err := NewSource(bytes.NewReader(buildTar(t, reg("a", "abc"), reg("b", "def"))), "t").Walk(context.Background(), func(e *source.Entry) error {
		if e.Path != "a" {
			return nil
		}
		open = e.Open
		var err error
		r, err = e.Open()
		require.NoError(t, err)
		_, err = e.Open()
		require.ErrorIs(t, err, errOpenedTwice)
		buf := make([]byte, 1)
		_, err = io.ReadFull(r, buf)
		require.NoError(t, err)
		require.Equal(t, "a", string(buf))
		return nil
	})
	require.NoError(t, err)
	_, err = io.ReadAll(r)
	require.ErrorIs(t, err, errExpired)
	_, err = open()
	require.ErrorIs(t, err, errExpired)
}

func TestSourceFnError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := NewSource(bytes.NewReader(buildTar(t, reg("a", ""), reg("b", ""))), "t").Walk(context.Background(), func(e *source.Entry) error {
		n++
		if e.Path == "a" {
			return stop
		}
		return nil
	})
	require.Equal(t, stop, err, "returned as is")
	require.Equal(t, 2, n)
}

func TestSourceWalkOnce(t *testing.T) {
	s := NewSource(bytes.NewReader(buildTar(t)), "t")
	nop := func(*source.Entry) error { return nil }
	require.NoError(t, s.Walk(context.Background(), nop))
	require.ErrorIs(t, s.Walk(context.Background(), nop), errWalked)
}

func TestSourceCancel(t *testing.T) {
	stream := buildTar(t, reg("a", ""), reg("b", ""))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := NewSource(bytes.NewReader(stream), "t").Walk(ctx, func(*source.Entry) error { called = true; return nil })
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, called)

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var seen []string
	err = NewSource(bytes.NewReader(stream), "t").Walk(ctx, func(e *source.Entry) error {
		seen = append(seen, e.Path)
		if e.Path == "a" {
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, []string{".", "a"}, seen)
}

func TestMakedev(t *testing.T) {
	for _, tt := range []struct {
		major, minor uint32
		dev          uint64
	}{
		{0, 0, 0},
		{1, 3, 0x103},
		{8, 1, 0x801},
		{259, 65536, 0x10010300},
		{0xfff, 0xff, 0xfffff},
		{1<<32 - 1, 1<<32 - 1, 1<<64 - 1},
	} {
		require.Equal(t, tt.dev, makedev(tt.major, tt.minor), "%d,%d", tt.major, tt.minor)
		require.Equal(t, tt.major, major(tt.dev))
		require.Equal(t, tt.minor, minor(tt.dev))
	}
}
