package tar

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/cairnbackup/cairn/source"
)

// Target writes a snapshot as a tar stream in PAX format, so that long
// names, nanosecond times, large ids and extended attributes survive.
// Sockets have no tar representation and are left out; sparse files are
// written in full. A Target is not safe for concurrent use.
type Target struct {
	tw  *tar.Writer
	err error // sticky: once the stream is broken, every call says why
}

var _ source.Target = (*Target)(nil)

// NewTarget returns a Target writing to w.
func NewTarget(w io.Writer) *Target {
	return &Target{tw: tar.NewWriter(w)}
}

// Put writes the header of e and, for a regular file that is not a hard
// link, exactly e.Size bytes of content. After an error the stream is
// broken and every later call returns that error.
func (t *Target) Put(ctx context.Context, e *source.Entry, content io.Reader) error {
	if t.err != nil {
		return t.err
	}
	if err := t.put(ctx, e, content); err != nil {
		t.err = fmt.Errorf("tar target: %q: %w", e.Path, err)
	}
	return t.err
}

func (t *Target) put(ctx context.Context, e *source.Entry, content io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	hdr, err := header(e)
	if err != nil || hdr == nil {
		return err
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	if content == nil {
		return errors.New("no content")
	}
	n, err := io.CopyN(t.tw, ctxReader{ctx, content}, hdr.Size)
	if err == io.EOF {
		return fmt.Errorf("content ended after %d of %d bytes", n, hdr.Size)
	}
	return err
}

// Close writes the tar trailer. It does not close the underlying writer.
func (t *Target) Close(ctx context.Context) error {
	if t.err != nil {
		return t.err
	}
	if err := ctx.Err(); err != nil {
		t.err = fmt.Errorf("tar target: %w", err)
		return t.err
	}
	if err := t.tw.Close(); err != nil {
		t.err = fmt.Errorf("tar target: %w", err)
	}
	return t.err
}

// header builds the tar header for e; nil for an entry tar cannot hold.
func header(e *source.Entry) (*tar.Header, error) {
	if err := source.ValidPath(e.Path); err != nil {
		return nil, err
	}
	if e.Path == "." && e.Type != source.TypeDir {
		return nil, fmt.Errorf("root is a %s, not a directory", e.Type)
	}
	if uint64(e.UID) > math.MaxInt || uint64(e.GID) > math.MaxInt {
		return nil, fmt.Errorf("uid %d or gid %d too large for this platform", e.UID, e.GID)
	}
	hdr := &tar.Header{
		Name:       e.Path,
		Mode:       int64(source.UnixPerm(e.Perm)),
		Uid:        int(e.UID),
		Gid:        int(e.GID),
		Uname:      e.User,
		Gname:      e.Group,
		ModTime:    e.ModTime,
		ChangeTime: e.ChangeTime,
		Format:     tar.FormatPAX,
	}
	switch e.Type {
	case source.TypeFile:
		if e.Hardlink != "" {
			if err := source.ValidPath(e.Hardlink); err != nil || e.Hardlink == "." {
				return nil, fmt.Errorf("hard link to %q: %w", e.Hardlink, source.ErrUnsafePath)
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, e.Hardlink
			break
		}
		if e.Size < 0 {
			return nil, fmt.Errorf("negative size %d", e.Size)
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, e.Size
	case source.TypeDir:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/" // "./" for the root
	case source.TypeSymlink:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.LinkTarget
	case source.TypeFIFO:
		hdr.Typeflag = tar.TypeFifo
	case source.TypeCharDevice, source.TypeBlockDevice:
		hdr.Typeflag = tar.TypeChar
		if e.Type == source.TypeBlockDevice {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(major(e.Rdev)), int64(minor(e.Rdev))
	case source.TypeSocket:
		return nil, nil
	default:
		return nil, fmt.Errorf("invalid entry type %s", e.Type)
	}
	if len(e.Xattrs) > 0 {
		hdr.PAXRecords = make(map[string]string, len(e.Xattrs))
		for _, x := range e.Xattrs {
			hdr.PAXRecords[xattrPrefix+x.Name] = string(x.Value)
		}
	}
	return hdr, nil
}

// ctxReader stops a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
