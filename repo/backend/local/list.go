package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairnbackup/cairn/repo/backend"
)

// List calls fn for every object of type t. It reports only files with a
// valid name in the folder where Load looks for that name, so temporary
// files, and whatever else someone put there, never show up as objects.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if err := checkType(ctx, t); err != nil {
		return err
	}
	switch t {
	case backend.ConfigFile:
		return b.listConfig(fn)
	case backend.PackFile:
		return b.listPacks(ctx, fn)
	}
	return listDir(ctx, t, filepath.Join(b.dir, t.String()), "", fn)
}

func (b *Backend) listConfig(fn func(backend.FileInfo) error) error {
	h := backend.Handle{Type: backend.ConfigFile}
	fi, err := os.Stat(b.path(h))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("list config: %w", err)
	case !fi.Mode().IsRegular():
		return nil
	}
	return fn(backend.FileInfo{Name: h.Name, Size: fi.Size()})
}

// listPacks walks the fan-out folders of data/.
func (b *Backend) listPacks(ctx context.Context, fn func(backend.FileInfo) error) error {
	top := filepath.Join(b.dir, backend.PackFile.String())
	entries, err := os.ReadDir(top)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %v: %w", backend.PackFile, err)
	}
	for _, e := range entries {
		// listDir drops any name that is not hex or not in its folder, so a
		// stray folder yields nothing without a check of its own here.
		prefix := e.Name()
		if !e.IsDir() || len(prefix) != 2 {
			continue
		}
		if err := listDir(ctx, backend.PackFile, filepath.Join(top, prefix), prefix, fn); err != nil {
			return err
		}
	}
	return nil
}

// listDir reports the objects of type t in dir whose names start with
// prefix. A missing dir has no objects.
func listDir(ctx context.Context, t backend.FileType, dir, prefix string, fn func(backend.FileInfo) error) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %v: %w", t, err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list %v: %w", t, err)
		}
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) ||
			(backend.Handle{Type: t, Name: name}).Valid() != nil {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir
		}
		if err != nil {
			return fmt.Errorf("list %v: %w", t, err)
		}
		if err := fn(backend.FileInfo{Name: name, Size: info.Size()}); err != nil {
			return err
		}
	}
	return nil
}
