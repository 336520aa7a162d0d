package tar

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairnbackup/cairn/source"
)

// Errors of a Source beyond source.ErrUnsafePath. They come wrapped with
// the name of the header at fault.
var (
	// ErrDuplicate is wrapped by the error about a second entry for a
	// path, unless both entries are directories.
	ErrDuplicate = errors.New("duplicate entry")
	// ErrUnknownHardlink is wrapped by the error about a hard link that
	// does not name a regular file earlier in the stream.
	ErrUnknownHardlink = errors.New("hardlink to unknown entry")
)

var errWalked = errors.New("tar: a stream source can be walked only once")

// synthPerm is the permission of the directories the Source makes up.
const synthPerm = 0o755

// Source is a tar stream as a backup source. See the package doc for the
// order it needs and the streams it refuses.
type Source struct {
	r      io.Reader
	name   string
	walked bool
}

var (
	_ source.Source     = (*Source)(nil)
	_ source.Sequential = (*Source)(nil)
)

// NewSource returns a Source reading the tar stream r; name describes the
// stream (a file name, "stdin") for the snapshot record.
func NewSource(r io.Reader, name string) *Source {
	return &Source{r: r, name: name}
}

// Info describes the stream.
func (s *Source) Info() source.Info {
	return source.Info{Kind: "tar", Description: s.name, Paths: []string{s.name}}
}

// Sequential marks the Source as readable in walk order only: an entry's
// Open works only while the walk function runs for that entry.
func (s *Source) Sequential() {}

// Walk reads the stream and calls fn for the root "." and then for every
// entry, in stream order. It can be called once. Any problem with the
// stream ends the walk with an error; an error from fn is returned as is.
// Entries never have Err set.
func (s *Source) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	if s.walked {
		return errWalked
	}
	s.walked = true
	w := &walker{tr: tar.NewReader(s.r), fn: fn, seen: make(map[string]seen)}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := w.tr.Next()
		if errors.Is(err, tar.ErrInsecurePath) && hdr != nil {
			err = nil // with GODEBUG=tarinsecurepath=0; w.header checks more strictly
		}
		switch {
		case err == io.EOF:
			if w.rootDone {
				return nil
			}
			return w.emit(dirEntry(".", time.Unix(0, 0)), nil)
		case err != nil && w.last == "":
			return fmt.Errorf("tar: reading the first header: %w", err)
		case err != nil:
			return fmt.Errorf("tar: reading the header after %q: %w", w.last, err)
		}
		w.last = hdr.Name
		if err := w.header(hdr); err != nil {
			return err
		}
	}
}

// seen is what the walker remembers of an entry it yielded.
type seen struct {
	typ source.Type
	// For regular files: the path of the file that holds the content
	// (the entry's own unless it is a hard link), its size and sparseness.
	file   string
	size   int64
	sparse bool
}

// walker is the state of one walk.
type walker struct {
	tr       *tar.Reader
	fn       func(*source.Entry) error
	seen     map[string]seen
	rootDone bool
	last     string // name of the last header read
}

// header turns one header into entries: the root and missing parents if
// they are due, then the entry itself.
func (w *walker) header(hdr *tar.Header) error {
	t, ok := entryType(hdr.Typeflag)
	if !ok {
		return nil
	}
	p, err := cleanPath(hdr.Name)
	if err != nil {
		return entryErr(hdr.Name, err)
	}
	e, err := newEntry(hdr, p, t)
	if err != nil {
		return entryErr(hdr.Name, err)
	}
	if !w.rootDone {
		if p == "." {
			if t != source.TypeDir {
				return entryErr(hdr.Name, fmt.Errorf("root is a %s: %w", t, source.ErrUnsafePath))
			}
			return w.emit(e, nil)
		}
		if err := w.emit(dirEntry(".", hdr.ModTime), nil); err != nil {
			return err
		}
	}
	if prev, ok := w.seen[p]; ok {
		if prev.typ == source.TypeDir && t == source.TypeDir {
			return nil // the first one's metadata stays
		}
		return entryErr(hdr.Name, ErrDuplicate)
	}
	var c *content
	switch {
	case hdr.Typeflag == tar.TypeLink:
		if err := w.hardlink(e, hdr); err != nil {
			return err
		}
	case t == source.TypeFile:
		e.Size, e.Sparse = hdr.Size, isSparse(hdr)
		c = &content{tr: w.tr, name: hdr.Name}
		e.Open = c.open
	}
	if err := w.parents(p, hdr); err != nil {
		return err
	}
	return w.emit(e, c)
}

// hardlink points e at the regular file hdr links to.
func (w *walker) hardlink(e *source.Entry, hdr *tar.Header) error {
	target, err := cleanPath(hdr.Linkname)
	if err != nil {
		return entryErr(hdr.Name, fmt.Errorf("hard link: %w", err))
	}
	f, ok := w.seen[target]
	if !ok || f.typ != source.TypeFile {
		return entryErr(hdr.Name, fmt.Errorf("%w %q", ErrUnknownHardlink, hdr.Linkname))
	}
	e.Hardlink, e.Size, e.Sparse = f.file, f.size, f.sparse
	return nil
}

// parents yields the directories above p that the stream has not had yet,
// and refuses a path that leads through something else.
func (w *walker) parents(p string, hdr *tar.Header) error {
	for i := range len(p) {
		if p[i] != '/' {
			continue
		}
		dir := p[:i]
		prev, ok := w.seen[dir]
		if !ok {
			if err := w.emit(dirEntry(dir, hdr.ModTime), nil); err != nil {
				return err
			}
		} else if prev.typ != source.TypeDir {
			return entryErr(hdr.Name, fmt.Errorf("%q is a %s, not a directory: %w", dir, prev.typ, source.ErrUnsafePath))
		}
	}
	return nil
}

// emit records e and hands it to fn; c, the content of e, is readable only
// until fn returns.
func (w *walker) emit(e *source.Entry, c *content) error {
	s := seen{typ: e.Type}
	if e.Type == source.TypeFile {
		s.file, s.size, s.sparse = e.Path, e.Size, e.Sparse
		if e.Hardlink != "" {
			s.file = e.Hardlink
		}
	}
	w.seen[e.Path] = s
	w.rootDone = true
	err := w.fn(e)
	if c != nil {
		c.expire()
	}
	return err
}

func dirEntry(p string, mtime time.Time) *source.Entry {
	return &source.Entry{Path: p, Type: source.TypeDir, Perm: synthPerm, ModTime: mtime}
}

func entryErr(name string, err error) error {
	return fmt.Errorf("tar entry %q: %w", name, err)
}
