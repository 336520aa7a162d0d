package fs

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// stamp is what the walk saw of a regular file, to notice when the file
// read is not that file or no longer as it was.
type stamp struct {
	dev, ino     uint64
	size         int64
	mtime, ctime unix.Timespec
}

func stampOf(st *unix.Stat_t) stamp {
	return stamp{dev: uint64(st.Dev), ino: st.Ino, size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
}

// changed describes how st differs from s, or returns "".
func (s stamp) changed(st *unix.Stat_t) string {
	switch {
	case st.Size != s.size:
		return fmt.Sprintf("size %d, was %d", st.Size, s.size)
	case st.Mtim != s.mtime:
		return "modification time changed"
	case st.Ctim != s.ctime:
		return "change time changed"
	}
	return ""
}

// opener returns the Open of a regular file. It captures copies, not the
// entry, which the consumer may change, and nothing of the walker, so it
// may be called from any goroutine.
func opener(abs string, st *unix.Stat_t) func() (io.ReadCloser, error) {
	want := stampOf(st)
	return func() (io.ReadCloser, error) { return openFile(abs, want) }
}

// openFile opens abs for reading if it is still the file the walk saw.
// O_NONBLOCK keeps open from waiting for a writer should a FIFO have taken
// the file's place; it is cleared once the file is known to be regular.
func openFile(abs string, want stamp) (io.ReadCloser, error) {
	fd, err := openNoatime(abs, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC)
	if err != nil {
		return nil, &iofs.PathError{Op: "open", Path: abs, Err: err}
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	if err == nil && (st.Mode&unix.S_IFMT != unix.S_IFREG || uint64(st.Dev) != want.dev || st.Ino != want.ino) {
		err = fmt.Errorf("%w: replaced by another file", source.ErrChanged)
	}
	if err == nil {
		err = unix.SetNonblock(fd, false)
	}
	if err != nil {
		unix.Close(fd)
		return nil, &iofs.PathError{Op: "open", Path: abs, Err: err}
	}
	// Only a hint for read-ahead; a file system that ignores it reads as
	// well.
	_ = unix.Fadvise(fd, 0, 0, unix.FADV_SEQUENTIAL)
	return &fileReader{f: os.NewFile(uintptr(fd), abs), want: want}, nil
}

// fileReader reads a file's content and checks at Close that the file did
// not change meanwhile.
type fileReader struct {
	f    *os.File
	want stamp
}

func (r *fileReader) Read(p []byte) (int, error) { return r.f.Read(p) }

// ReadAt lets a consumer read a big file at several offsets at once.
func (r *fileReader) ReadAt(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }

// Close closes the file and reports an error wrapping source.ErrChanged if
// its size, modification time or change time differ from the entry's.
func (r *fileReader) Close() error {
	var st unix.Stat_t
	err := unix.Fstat(int(r.f.Fd()), &st)
	op := "fstat"
	if err == nil {
		if how := r.want.changed(&st); how != "" {
			err, op = fmt.Errorf("%w: %s", source.ErrChanged, how), "read"
		}
	}
	cerr := r.f.Close()
	if err == nil {
		return cerr
	}
	err = &iofs.PathError{Op: op, Path: r.f.Name(), Err: err}
	if cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}
