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

// putFile writes a regular file under a temporary name, sets its metadata
// through the open descriptor and renames it over the entry's name; where
// nothing is in the way, it writes the file under its own name at once.
func (t *Target) putFile(ctx context.Context, e *source.Entry, content io.Reader) error {
	if e.Hardlink != "" {
		return t.putLink(e)
	}
	a, err := t.openParent(e.Path)
	if err != nil {
		return err
	}
	defer a.close()
	leave, err := t.prepare(a, func(st *unix.Stat_t) bool { return a.same(st, e) })
	if leave || err != nil {
		return err
	}
	var f *os.File
	tmp, err := a.fresh("openat", func(dirfd int, name string) error {
		fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == nil {
			f = os.NewFile(uintptr(fd), e.Path)
		}
		return err
	})
	if err != nil {
		return err
	}
	err = t.fill(ctx, a, tmp, f, e, content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		a.discard(tmp)
		return err
	}
	return a.place(tmp)
}

// fill writes the content of the file open as f, named tmp, and sets its
// metadata.
func (t *Target) fill(ctx context.Context, a *restoreAt, tmp string, f *os.File, e *source.Entry, content io.Reader) error {
	if err := restoreCopy(ctx, f, content, e.Size, e.Sparse); err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	m := restoreMetaOf(e)
	return t.setMeta(restoreObj{dirfd: a.fd, name: tmp, fd: int(f.Fd()), path: e.Path}, &m)
}

// restoreCopy writes exactly size bytes of r to f. Sparse, it seeks over
// (does not write) all-zero blocks and sets the size at the end, so they
// become holes.
func restoreCopy(ctx context.Context, f *os.File, r io.Reader, size int64, sparse bool) error {
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
		var err error
		if sparse {
			err = restoreWriteSparse(f, b, off)
		} else {
			_, err = f.WriteAt(b, off)
		}
		if err != nil {
			return err
		}
		off += int64(len(b))
	}
	if sparse {
		return f.Truncate(size)
	}
	return nil
}

// restoreWriteSparse writes the blocks of b that are not all zero at off,
// which is block aligned.
func restoreWriteSparse(f *os.File, b []byte, off int64) error {
	start := -1 // of the current run of blocks to write
	for i := 0; i < len(b); i += restoreBlock {
		blk := b[i:min(i+restoreBlock, len(b))]
		if !bytes.Equal(blk, restoreZero[:len(blk)]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if _, err := f.WriteAt(b[start:i], off+int64(start)); err != nil {
				return err
			}
			start = -1
		}
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
