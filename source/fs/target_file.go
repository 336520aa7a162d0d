package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// restoreBufSize is what a Put copies at a time; a multiple of
// restoreBlock, so every copy starts on a block boundary.
const (
	restoreBufSize = 1 << 20
	restoreBlock   = 4 << 10 // the unit of holes in a sparse file
)

var (
	restoreBufs = sync.Pool{New: func() any { b := make([]byte, restoreBufSize); return &b }}
	restoreZero [restoreBlock]byte
)

// putFile writes a regular file through a fileWriter: under its own name
// where nothing is in the way, else under a temporary name renamed over
// the entry's once content and metadata are in place.
func (t *Target) putFile(ctx context.Context, e *source.Entry, content io.Reader) error {
	if e.Hardlink != "" {
		return t.putLink(e)
	}
	w, err := t.create(e, true)
	if w == nil || err != nil {
		return err
	}
	if err := restoreCopy(ctx, w, content, e.Size); err != nil {
		return w.Finish(fmt.Errorf("%s: %w", e.Path, err))
	}
	return w.Finish(nil)
}

// restoreCopy writes exactly size bytes of r to w, a restoreBufSize piece
// at a time.
func restoreCopy(ctx context.Context, w io.WriterAt, r io.Reader, size int64) error {
	if size > 0 && r == nil {
		return errors.New("no content")
	}
	bp := restoreBufs.Get().(*[]byte)
	defer restoreBufs.Put(bp)
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := (*bp)[:min(int64(len(*bp)), size-off)]
		if n, err := io.ReadFull(r, b); err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("content ends after %d of %d bytes: %w", off+int64(n), size, io.ErrUnexpectedEOF)
		} else if err != nil {
			return err
		}
		if _, err := w.WriteAt(b, off); err != nil {
			return err
		}
		off += int64(len(b))
	}
	return nil
}

// restoreWriteSparse writes the parts of b, which goes at off, that are
// not whole all-zero blocks (by their place in the file); those stay holes.
func restoreWriteSparse(f *os.File, b []byte, off int64) error {
	start := -1 // of the current run of bytes to write
	for i := 0; i < len(b); {
		n := min(restoreBlock-int((off+int64(i))%restoreBlock), len(b)-i)
		if !bytes.Equal(b[i:i+n], restoreZero[:n]) {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			if _, err := f.WriteAt(b[start:i], off+int64(start)); err != nil {
				return err
			}
			start = -1
		}
		i += n
	}
	if start >= 0 {
		_, err := f.WriteAt(b[start:], off+int64(start))
		return err
	}
	return nil
}

// putLink makes a hard link to an entry restored earlier. It is made under a
// temporary name and renamed over the entry's; if the name is a link to the
// same file already, the rename does nothing and the temporary name is
// removed.
func (t *Target) putLink(e *source.Entry) error {
	if err := source.ValidPath(e.Hardlink); err != nil {
		return fmt.Errorf("%s: hard link: %w", e.Path, err)
	}
	src, err := t.openParent(e.Hardlink)
	if err != nil {
		return err
	}
	defer src.close()
	var sst unix.Stat_t
	if err := unix.Fstatat(src.fd, src.name, &sst, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return src.err("hard link target", err)
	}
	a, err := t.openParent(e.Path)
	if err != nil {
		return err
	}
	defer a.close()
	leave, err := t.prepare(a, func(st *unix.Stat_t) bool { return st.Dev == sst.Dev && st.Ino == sst.Ino })
	if leave || err != nil {
		return err
	}
	tmp, err := a.temp("linkat", func(dirfd int, name string) error {
		return unix.Linkat(src.fd, src.name, dirfd, name, 0)
	})
	if err != nil {
		return err
	}
	if err := a.place(tmp); err != nil {
		return err
	}
	a.discard(tmp)
	return nil
}
