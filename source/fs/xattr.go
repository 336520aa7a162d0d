package fs

import (
	"bytes"
	"errors"
	"fmt"
	iofs "io/fs"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// xattrs reads the extended attributes of abs, not following a symbolic
// link, sorted by name. A file system without xattrs has none.
func (w *walker) xattrs(abs string) ([]source.Xattr, error) {
	list, err := w.xattrCall(func(buf []byte) (int, error) { return unix.Llistxattr(abs, buf) })
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}
	if err != nil {
		return nil, &iofs.PathError{Op: "llistxattr", Path: abs, Err: err}
	}
	if len(list) == 0 {
		return nil, nil
	}
	// The names become strings, copies, before the buffer is reused for
	// the values.
	var names []string
	for name := range bytes.SplitSeq(bytes.TrimSuffix(list, []byte{0}), []byte{0}) {
		names = append(names, string(name))
	}
	slices.Sort(names)
	xattrs := make([]source.Xattr, 0, len(names))
	for _, name := range names {
		value, err := w.xattrCall(func(buf []byte) (int, error) { return unix.Lgetxattr(abs, name, buf) })
		if errors.Is(err, unix.ENODATA) {
			continue // removed since it was listed
		}
		if err != nil {
			return nil, &iofs.PathError{Op: "lgetxattr", Path: abs, Err: fmt.Errorf("%s: %w", name, err)}
		}
		xattrs = append(xattrs, source.Xattr{Name: name, Value: bytes.Clone(value)})
	}
	return xattrs, nil
}

// xattrCall calls an xattr syscall with the walker's scratch buffer,
// growing it when the kernel says it is too small. The result is only valid
// until the next call.
func (w *walker) xattrCall(call func([]byte) (int, error)) ([]byte, error) {
	if w.xbuf == nil {
		w.xbuf = make([]byte, 1024)
	}
	for {
		n, err := call(w.xbuf)
		switch err {
		case nil:
			return w.xbuf[:n], nil
		case unix.EINTR:
			continue
		case unix.ERANGE:
			// It grew since asked; ask how big it is now.
			size, err := call(nil)
			if err != nil && err != unix.EINTR {
				return nil, err
			}
			w.xbuf = make([]byte, max(size, 2*len(w.xbuf)))
		default:
			return nil, err
		}
	}
}
