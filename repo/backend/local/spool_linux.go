package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cairnbackup/cairn/repo/backend"
	"golang.org/x/sys/unix"
)

var _ backend.Spooler = (*Backend)(nil)

// Spool returns an unnamed file (O_TMPFILE) in the folder of type t, so
// that SaveSpool can give it its name without copying a byte. Should the
// process die first, the file system frees it: nothing is left behind.
func (b *Backend) Spool(t backend.FileType) (*os.File, error) {
	dir := filepath.Join(b.dir, t.String())
	fd, err := openTmpfile(dir)
	if errors.Is(err, unix.ENOENT) {
		if err = ensureDir(dir); err == nil {
			fd, err = openTmpfile(dir)
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "spool", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir, "(spool)")), nil
}

func openTmpfile(dir string) (int, error) {
	for {
		fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// SaveSpool fsyncs f, links it into place as h and syncs the folder, then
// closes f. A file from Spool has no name, so there is nothing to remove
// when this fails.
func (b *Backend) SaveSpool(ctx context.Context, h backend.Handle, f *os.File) error {
	defer f.Close()
	if err := check(ctx, "save", h); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	final := b.path(h)
	err := ctx.Err()
	if err == nil {
		err = linkFile(f, final)
	}
	if errors.Is(err, fs.ErrNotExist) {
		if err = ensureDir(filepath.Dir(final)); err == nil {
			err = linkFile(f, final)
		}
	}
	return published(h, final, err)
}

// linkFile gives the open file f the name path. Linking a descriptor
// directly needs CAP_DAC_READ_SEARCH; otherwise it goes through /proc.
func linkFile(f *os.File, path string) error {
	fd := int(f.Fd())
	err := unix.Linkat(fd, "", unix.AT_FDCWD, path, unix.AT_EMPTY_PATH)
	if err == unix.EPERM || err == unix.EACCES {
		proc := "/proc/self/fd/" + strconv.Itoa(fd)
		err = unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
	}
	if err != nil {
		return &os.LinkError{Op: "link", Old: f.Name(), New: path, Err: err}
	}
	return nil
}
