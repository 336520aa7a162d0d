package tar_test

import (
	archivetar "archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/tar"
)

func ExampleSource() {
	var stream bytes.Buffer
	tw := archivetar.NewWriter(&stream)
	_ = tw.WriteHeader(&archivetar.Header{Name: "./docs/readme", Mode: 0o644, Size: 5, ModTime: time.Unix(0, 0)})
	_, _ = tw.Write([]byte("hello"))
	_ = tw.Close()

	src := tar.NewSource(&stream, "docs.tar")
	err := src.Walk(context.Background(), func(e *source.Entry) error {
		if e.Type != source.TypeFile {
			fmt.Println(e.Path, e.Type)
			return nil
		}
		// The content of a stream must be read before fn returns.
		r, err := e.Open()
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		fmt.Println(e.Path, e.Type, string(b))
		return err
	})
	fmt.Println(err)
	// Output:
	// . dir
	// docs dir
	// docs/readme file hello
	// <nil>
}

func ExampleTarget() {
	var out bytes.Buffer
	ctx := context.Background()
	target := tar.NewTarget(&out)
	mtime := time.Unix(1700000000, 5) // nanoseconds survive: the stream is PAX
	entries := []*source.Entry{
		{Path: ".", Type: source.TypeDir, Perm: 0o755, ModTime: mtime},
		{Path: "notes.txt", Type: source.TypeFile, Perm: 0o644, Size: 3, ModTime: mtime},
		{Path: "again.txt", Type: source.TypeFile, Perm: 0o644, Hardlink: "notes.txt", ModTime: mtime},
	}
	for _, e := range entries {
		if err := target.Put(ctx, e, strings.NewReader("abc")); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := target.Close(ctx); err != nil {
		fmt.Println(err)
		return
	}

	tr := archivetar.NewReader(&out)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		fmt.Printf("%q %c %d %d\n", hdr.Name, hdr.Typeflag, hdr.Size, hdr.ModTime.Nanosecond())
	}
	// Output:
	// "./" 5 0 5
	// "notes.txt" 0 3 5
	// "again.txt" 1 0 5
}
