package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/cairnbackup/cairn/repo/backend"
)

// dirMode is the mode of the folders the backend creates; the umask may
// narrow it further. Files need no constant: os.CreateTemp makes them 0600,
// and the link that publishes a file keeps its mode.
const dirMode = 0o700

// Backend stores objects in a directory. It keeps no state besides the
// path, so several Backends, and several processes, may share a directory.
type Backend struct {
	dir string
}

var _ backend.Nearby = (*Backend)(nil)

// New returns a backend on dir. Nothing is checked or created until the
// first call: a missing dir reads as an empty repository, and Save creates
// the folders it needs. Call Create to make the layout up front.
func New(dir string) *Backend {
	return &Backend{dir: filepath.Clean(dir)}
}

// Nearby reports true: reading a local file costs no round trip.
func (b *Backend) Nearby() bool { return true }

// Dir returns the directory the backend stores objects in.
func (b *Backend) Dir() string { return b.dir }

// Create makes the directory and the folder of every file type, so that a
// repository being initialised finds out at once if it cannot write there.
// Existing folders are left as they are.
func (b *Backend) Create(ctx context.Context) error {
	for _, t := range backend.FileTypes {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("create %s: %w", b.dir, err)
		}
		if t == backend.ConfigFile {
			continue
		}
		if err := ensureDir(filepath.Join(b.dir, t.String())); err != nil {
			return fmt.Errorf("create %s: %w", b.dir, err)
		}
	}
	return nil
}

// path returns where the object of a valid handle lives.
func (b *Backend) path(h backend.Handle) string {
	switch h.Type {
	case backend.ConfigFile:
		return filepath.Join(b.dir, "config")
	case backend.PackFile:
		return filepath.Join(b.dir, h.Type.String(), h.Name[:2], h.Name)
	}
	return filepath.Join(b.dir, h.Type.String(), h.Name)
}

// Stat returns the object's size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := check(ctx, "stat", h); err != nil {
		return backend.FileInfo{}, err
	}
	fi, err := os.Stat(b.path(h))
	if err != nil {
		return backend.FileInfo{}, objectError("stat", h, err)
	}
	return backend.FileInfo{Name: h.Name, Size: fi.Size()}, nil
}

// Remove deletes the object and waits until that is durable.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := check(ctx, "remove", h); err != nil {
		return err
	}
	p := b.path(h)
	if err := os.Remove(p); err != nil {
		return objectError("remove", h, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("remove %v: %w", h, err)
	}
	return nil
}

// check rejects a call before it touches the disk.
func check(ctx context.Context, op string, h backend.Handle) error {
	if err := h.Valid(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %v: %w", op, h, err)
	}
	return nil
}

func checkType(ctx context.Context, t backend.FileType) error {
	if !slices.Contains(backend.FileTypes, t) {
		return fmt.Errorf("list: unknown file type %v", t)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %v: %w", t, err)
	}
	return nil
}

// objectError names the object and turns "no such file" into ErrNotFound.
func objectError(op string, h backend.Handle, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %v: %w", op, h, backend.ErrNotFound)
	}
	return fmt.Errorf("%s %v: %w", op, h, err)
}
