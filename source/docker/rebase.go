package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/tar"
)

// walkArchive walks the archive of a helper container's helperMount as
// the entries of the volume vol. An error from fn is returned as is.
func walkArchive(ctx context.Context, r io.Reader, vol string, fn func(*source.Entry) error) error {
	rb := &rebaser{fn: fn}
	err := tar.NewSource(r, "volume "+vol).Walk(ctx, rb.walkFn)
	switch {
	case err != nil && rb.fnErr != nil && errors.Is(err, rb.fnErr):
		return err
	case err != nil:
		return fmt.Errorf("docker: volume %q: %w", vol, err)
	case !rb.root:
		return fmt.Errorf("docker: volume %q: archive without %s", vol, helperMount)
	}
	return nil
}

// rebaser turns the entries of a helper's archive, which all lie under
// "volume", into entries of the volume: "volume" becomes the root ".",
// "volume/x" becomes "x". The tar source has validated the paths already;
// its own root "." is dropped, since "volume" takes its place.
type rebaser struct {
	fn    func(*source.Entry) error
	root  bool  // "volume" was seen
	fnErr error // the error fn returned, passed through unwrapped
}

func (r *rebaser) walkFn(e *source.Entry) error {
	if e.Path == "." {
		return nil
	}
	p, err := rebase(e.Path)
	if err != nil {
		return err
	}
	switch {
	case p == "." && e.Type != source.TypeDir:
		return fmt.Errorf("archive: %s is a %s: %w", helperMount, e.Type, source.ErrUnsafePath)
	case p == ".":
		r.root = true
	case !r.root:
		return fmt.Errorf("archive: %q before its root: %w", e.Path, source.ErrUnsafePath)
	}
	e.Path = p
	if e.Hardlink != "" {
		if e.Hardlink, err = rebase(e.Hardlink); err != nil {
			return err
		}
	}
	if err := r.fn(e); err != nil {
		r.fnErr = err
		return err
	}
	return nil
}

// rebase strips the leading "volume" element of p.
func rebase(p string) (string, error) {
	top := strings.TrimPrefix(helperMount, "/")
	if p == top {
		return ".", nil
	}
	if rest, ok := strings.CutPrefix(p, top+"/"); ok && rest != "" {
		return rest, nil
	}
	return "", fmt.Errorf("archive: %q is outside %s: %w", p, helperMount, source.ErrUnsafePath)
}
