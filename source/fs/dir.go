package fs

import (
	"context"
	"fmt"
	iofs "io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
)

// Options for Dir; the zero value backs up everything.
type Options struct {
	// Exclude lists source.Patterns, matched against the path relative to
	// the root. A matching entry is skipped with everything in it.
	Exclude []string
	// ExcludeIfPresent skips a directory, with its contents, that holds an
	// entry of one of these names, such as ".nobackup". The root is not
	// checked.
	ExcludeIfPresent []string
	// OneFileSystem keeps directories on another device than the root's as
	// empty directories: the mount point is backed up, not what is
	// mounted there.
	OneFileSystem bool
}

// Source is a directory tree of the local file system.
type Source struct {
	path    string // absolute, as given: what Info reports
	opts    Options
	exclude source.Patterns
	ahead   readAhead
	err     error // from Dir, returned by Walk and Count
}

var (
	_ source.Source  = (*Source)(nil)
	_ source.Counter = (*Source)(nil)
)

// Dir returns the source for the directory at path. It does no I/O; a bad
// pattern in opts is reported by Walk and Count.
func Dir(path string, opts Options) *Source {
	s := &Source{path: filepath.Clean(path), opts: opts, ahead: defaultReadAhead()}
	if abs, err := filepath.Abs(path); err == nil {
		s.path = abs
	} else {
		s.err = fmt.Errorf("dir %s: %w", path, err)
	}
	ps, err := source.ParsePatterns(opts.Exclude)
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("dir %s: exclude: %w", s.path, err)
	}
	s.exclude = ps
	return s
}

// Info describes the source: kind "dir" and the absolute path.
func (s *Source) Info() source.Info {
	return source.Info{Kind: "dir", Description: s.path, Paths: []string{s.path}}
}

// Walk calls fn for the root and everything selected below it, in the order
// the package documentation describes.
func (s *Source) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	return s.walk(ctx, true, fn)
}

// Count counts the regular files Walk would yield and their sizes; a file
// with several links counts once. It reads no extended attributes or names,
// so it costs about one lstat per entry.
func (s *Source) Count(ctx context.Context) (files, bytes uint64, err error) {
	err = s.walk(ctx, false, func(e *source.Entry) error {
		if e.Err == nil && e.Type == source.TypeFile && e.Hardlink == "" {
			files++
			bytes += uint64(e.Size)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return files, bytes, nil
}

// walk does Walk and Count; full asks for the metadata that Count does not
// need: names, link targets, xattrs and Open.
func (s *Source) walk(ctx context.Context, full bool, fn func(*source.Entry) error) error {
	if s.err != nil {
		return s.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Resolve a link at the root once, so that the walk stays in one
	// directory even if the link is changed meanwhile.
	root, err := filepath.EvalSymlinks(s.path)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := lstat(root, &st); err != nil {
		return &iofs.PathError{Op: "lstat", Path: root, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &iofs.PathError{Op: "walk", Path: s.path, Err: unix.ENOTDIR}
	}
	w := newWalker(s, full, uint64(st.Dev))
	e, err := w.entry(".", root, &st)
	if err != nil {
		return err
	}
	return newTraversal(s.ahead, w, fn).run(ctx, e, root)
}
