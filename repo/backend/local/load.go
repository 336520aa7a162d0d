package local

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/cairnbackup/cairn/repo/backend"
	"golang.org/x/sys/unix"
)

// Load opens the object and calls fn with a reader of the requested range.
// The range is checked against the file's size first, so fn only runs when
// the object has the bytes asked for.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	if err := check(ctx, "load", h); err != nil {
		return err
	}
	if length < 0 || offset < 0 {
		return fmt.Errorf("load %v: invalid range %d+%d", h, offset, length)
	}
	f, err := openRaw(b.path(h))
	if err != nil {
		return objectError("load", h, err)
	}
	defer f.close()

	var st unix.Stat_t
	if err := unix.Fstat(int(f), &st); err != nil {
		return fmt.Errorf("load %v: %w", h, os.NewSyscallError("fstat", err))
	}
	size := st.Size
	n := size - offset
	if length > 0 {
		n = int64(length)
	}
	if offset > size || offset+n > size {
		return fmt.Errorf("load %v: range %d+%d beyond size %d: %w", h, offset, length, size, io.ErrUnexpectedEOF)
	}
	return fn(&rangeReader{ctx: ctx, h: h, r: io.NewSectionReader(f, offset, n), left: n})
}

// rawFile is a descriptor opened for reading. os.Open would also try to
// register a regular file with the network poller: four fcntl calls and an
// epoll_ctl that fails, more system calls than reading a small blob takes.
type rawFile int

func openRaw(path string) (rawFile, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return rawFile(fd), nil
	}
}

func (f rawFile) close() { unix.Close(int(f)) }

// ReadAt reads as os.File.ReadAt does.
func (f rawFile) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Pread(int(f), p[done:], off+int64(done))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return done, os.NewSyscallError("pread", err)
		case n == 0:
			return done, io.EOF
		}
		done += n
	}
	return done, nil
}

// rangeReader reads a range of an object. It checks ctx on every Read, so
// a cancel stops a long load, and it turns an early end, which means the
// file shrank after its size was checked, into io.ErrUnexpectedEOF: a
// truncated object must not pass for a complete one.
type rangeReader struct {
	ctx  context.Context
	h    backend.Handle
	r    io.Reader
	left int64
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("load %v: %w", r.h, err)
	}
	n, err := r.r.Read(p)
	r.left -= int64(n)
	switch {
	case err == io.EOF && r.left > 0:
		return n, fmt.Errorf("load %v: object ended %d bytes early: %w", r.h, r.left, io.ErrUnexpectedEOF)
	case err != nil && err != io.EOF:
		return n, fmt.Errorf("load %v: %w", r.h, err)
	}
	return n, err
}
