package tar

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/source"
)

// maxUSTARNumber is the largest number of an 8 byte octal header field.
const maxUSTARNumber = 0o7777777

// FuzzSource feeds arbitrary bytes to a Source. Whatever the stream, the
// walk must not panic and must yield only safe paths, in an order the
// consumer can build a tree from: the root first, a directory before its
// contents, every path once, hard links to earlier files. A stream that
// walks cleanly must survive Target and a second walk unchanged.
func FuzzSource(f *testing.F) {
	// Seeds are small and lack the trailer (archive/tar takes a clean end
	// of input as the end): the fuzzer minimizes every input that finds
	// new coverage, which takes long for big ones.
	seed := func(items ...item) {
		for i := range items {
			if items[i].hdr.Format == tar.FormatUnknown {
				items[i].hdr.Format = tar.FormatUSTAR
				items[i].hdr.ModTime = time.Unix(1700000000, 0)
			}
		}
		b := buildTar(f, items...)
		f.Add(b[:len(b)-1024])
	}
	pax := reg("x", "")
	pax.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.a": "1"}
	pax.hdr.Format = tar.FormatPAX
	gnu := reg(strings.Repeat("n", 101), "")
	gnu.hdr.Format = tar.FormatGNU
	f.Add([]byte{})
	seed(dir("./"))
	seed(reg("d/f", "hi"))
	seed(reg("f", ""), link("h", "f", tar.TypeLink))
	seed(link("s", "/x", tar.TypeSymlink))
	seed(item{hdr: tar.Header{Name: "c", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}})
	seed(item{hdr: tar.Header{Name: "p", Typeflag: tar.TypeFifo}})
	seed(pax)
	seed(gnu)
	seed(reg("../x", ""))
	f.Fuzz(func(t *testing.T, data []byte) {
		first, ok := checkWalk(t, data)
		if !ok {
			return
		}
		var out bytes.Buffer
		target := NewTarget(&out)
		for _, w := range first {
			err := target.Put(context.Background(), &w.Entry, bytes.NewReader(w.data))
			if err != nil && major(w.Rdev) <= maxUSTARNumber && minor(w.Rdev) <= maxUSTARNumber {
				t.Fatal(err)
			}
			if err != nil {
				return // PAX has no record for device numbers this big
			}
		}
		if err := target.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		second, ok := checkWalk(t, out.Bytes())
		if !ok {
			t.Fatalf("Target output does not walk")
		}
		if len(first) != len(second) {
			t.Fatalf("%d entries, %d after a round trip", len(first), len(second))
		}
		for i := range first {
			a, b := first[i], second[i]
			if a.Path != b.Path || a.Type != b.Type || a.Perm != b.Perm || a.Size != b.Size ||
				a.UID != b.UID || a.GID != b.GID || a.User != b.User || a.Group != b.Group ||
				!a.ModTime.Equal(b.ModTime) || !a.ChangeTime.Equal(b.ChangeTime) ||
				a.Hardlink != b.Hardlink || a.LinkTarget != b.LinkTarget || a.Rdev != b.Rdev ||
				!reflect.DeepEqual(a.Xattrs, b.Xattrs) || !bytes.Equal(a.data, b.data) {
				t.Fatalf("round trip changed an entry:\n%+v\n%+v", a.Entry, b.Entry)
			}
		}
	})
}

// checkWalk walks data, checks the invariants of what it yields, and
// returns the entries with content if the walk succeeded and all content
// was small enough to keep.
func checkWalk(t *testing.T, data []byte) ([]walked, bool) {
	var got []walked
	types := map[string]source.Type{}
	links := map[string]bool{}
	small := true
	err := NewSource(bytes.NewReader(data), "fuzz").Walk(context.Background(), func(e *source.Entry) error {
		if err := source.ValidPath(e.Path); err != nil {
			t.Fatalf("unsafe path yielded: %v", err)
		}
		if _, dup := types[e.Path]; dup {
			t.Fatalf("%q yielded twice", e.Path)
		}
		if len(types) == 0 && (e.Path != "." || e.Type != source.TypeDir) {
			t.Fatalf("first entry %q is a %s", e.Path, e.Type)
		}
		if e.Path != "." && types[path.Dir(e.Path)] != source.TypeDir {
			t.Fatalf("%q before its directory", e.Path)
		}
		if e.Hardlink != "" && (types[e.Hardlink] != source.TypeFile || links[e.Hardlink]) {
			t.Fatalf("%q links to %q, not an earlier file", e.Path, e.Hardlink)
		}
		types[e.Path], links[e.Path] = e.Type, e.Hardlink != ""
		w := walked{Entry: *e}
		if e.Open != nil {
			r, err := e.Open()
			if err != nil {
				t.Fatalf("open %q: %v", e.Path, err)
			}
			// Holes of a sparse file cost no input; do not read them all.
			w.data, err = io.ReadAll(io.LimitReader(r, 1<<20))
			if err != nil {
				return err
			}
			small = small && int64(len(w.data)) == e.Size
		}
		got = append(got, w)
		return nil
	})
	return got, err == nil && small
}
