package fs

import (
	"context"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// fileWriter is a regular file being restored, as a source.FileWriter.
// The file is made on the first write, or by Finish when nothing is
// written, so that a restore can start many files for the cost of none.
// Under OverwriteIfChanged and OverwriteNever, Create looks at what is in
// the way at once, so that a file left alone is not fetched.
type fileWriter struct {
	t       *Target
	path    string
	size    int64
	sparse  bool
	same    func(*unix.Stat_t) bool // is what is there already the entry
	checked bool                    // the overwrite policy has looked
	meta    restoreMeta

	mu   sync.Mutex // guards the fields below while the file is made
	a    *restoreAt // the parent directory, held from the check on
	tmp  string     // the name the file was made under
	f    *os.File
	werr error // the first error of a write, or of making the file
}

// Create starts regular file e. See source.WriterAtTarget.
func (t *Target) Create(ctx context.Context, e *source.Entry) (source.FileWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := source.ValidPath(e.Path); err != nil {
		return nil, err
	}
	if e.Type != source.TypeFile || e.Hardlink != "" || e.Path == "." {
		return nil, fmt.Errorf("%s: Create takes a regular file that is not a hard link", e.Path)
	}
	t.open.forget(e.Path)
	w, err := t.create(e, false)
	if w == nil {
		return nil, err // not a nil *fileWriter in a non-nil interface
	}
	return w, nil
}

// create returns the writer of regular file e, or nil if the overwrite
// policy leaves what is there. Eager, it looks at what is in the way at
// once under every policy, so that a file that cannot be made fails
// before its content is read.
func (t *Target) create(e *source.Entry, eager bool) (*fileWriter, error) {
	w := &fileWriter{t: t, path: e.Path, size: e.Size, sparse: e.Sparse, meta: restoreMetaOf(e)}
	w.same = func(st *unix.Stat_t) bool { return w.a.same(st, e) }
	if t.opts.Overwrite == OverwriteAlways && !eager {
		return w, nil
	}
	leave, err := w.check()
	if leave || err != nil {
		w.release()
		return nil, err
	}
	if !eager {
		// The file may wait long for its content: hold no directory.
		w.release()
		w.a = nil
	}
	return w, nil
}

// check opens the parent directory and looks at what is in the way.
func (w *fileWriter) check() (leave bool, err error) {
	if w.a, err = w.t.openParent(w.path); err != nil {
		return false, err
	}
	same := w.same
	w.same = nil // e is not needed any more
	w.checked = true
	return w.t.prepare(w.a, same)
}

// reopen opens the parent directory again after check let it go, and
// looks whether the name is still vacant.
func (w *fileWriter) reopen() (err error) {
	if w.a, err = w.t.openParent(w.path); err != nil {
		return err
	}
	st, err := w.a.lstat()
	w.a.vacant = st == nil && err == nil
	return err
}

// open makes the file, once. w.mu held.
func (w *fileWriter) open() error {
	if w.f != nil || w.werr != nil {
		return w.werr
	}
	if w.a == nil {
		var err error
		if w.checked {
			err = w.reopen()
		} else {
			_, err = w.check() // OverwriteAlways: never leaves
		}
		if err != nil {
			w.werr = err
			return err
		}
	}
	w.tmp, w.werr = w.a.fresh("openat", func(dirfd int, name string) error {
		fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == nil {
			w.f = os.NewFile(uintptr(fd), w.path)
		}
		return err
	})
	return w.werr
}

// WriteAt writes p at off, making the file first if need be. All-zero
// blocks of a sparse file are skipped: they stay holes.
func (w *fileWriter) WriteAt(p []byte, off int64) (int, error) {
	w.mu.Lock()
	err := w.open()
	f := w.f
	w.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if off < 0 || off+int64(len(p)) > w.size {
		return 0, w.fail(fmt.Errorf("%s: write of %d bytes at %d is beyond its size %d", w.path, len(p), off, w.size))
	}
	if w.sparse {
		err = restoreWriteSparse(f, p, off)
	} else {
		_, err = f.WriteAt(p, off)
	}
	if err != nil {
		return 0, w.fail(err)
	}
	return len(p), nil
}

// fail records err as the file's first error and returns it.
func (w *fileWriter) fail(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.werr == nil {
		w.werr = err
	}
	return err
}

// Finish completes the file (its size, metadata and name) or, given an
// error or after a failed write, removes it.
func (w *fileWriter) Finish(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.release()
	if err == nil {
		err = w.open() // an empty file is made here
	}
	if err == nil {
		err = w.complete()
	}
	if w.f != nil {
		if cerr := w.f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			w.a.discard(w.tmp)
			return err
		}
		return w.a.place(w.tmp)
	}
	return err
}

// complete sets the size of a sparse file and the metadata. w.mu held.
func (w *fileWriter) complete() error {
	if w.sparse {
		if err := w.f.Truncate(w.size); err != nil {
			return err
		}
	}
	return w.t.setMeta(restoreObj{dirfd: w.a.fd, name: w.tmp, fd: int(w.f.Fd()), path: w.path}, &w.meta)
}

// release lets the parent directory go.
func (w *fileWriter) release() {
	if w.a != nil {
		w.a.close()
	}
}
