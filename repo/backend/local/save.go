package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cairnbackup/cairn/repo/backend"
)

// copyChunk is how much Save writes between checks of the context.
const copyChunk = 1 << 20

// Save writes the object to a temporary file and links it into place; see
// the package documentation for why each step is there.
func (b *Backend) Save(ctx context.Context, h backend.Handle, rd backend.RewindReader) error {
	if err := check(ctx, "save", h); err != nil {
		return err
	}
	final := b.path(h)
	tmp, err := writeTemp(ctx, final, rd)
	if err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	// A cancel that arrived during the last write must still stop the save.
	err = ctx.Err()
	if err == nil {
		err = os.Link(tmp, final)
	}
	// The temporary name has served its purpose either way. Removing it
	// before the directory sync lets one sync cover both changes; if it
	// fails, a stray file remains that List ignores.
	_ = os.Remove(tmp)
	return published(h, final, err)
}

// published ends a save whose link to final returned err: an existing
// object is ErrExists, and a new one is made durable by syncing its folder.
func published(h backend.Handle, final string, err error) error {
	switch {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("save %v: %w", h, backend.ErrExists)
	case err != nil:
		return fmt.Errorf("save %v: %w", h, err)
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	return nil
}

// writeTemp writes rd to a new temporary file beside final, fsyncs it and
// returns its path. On error it leaves no file behind.
func writeTemp(ctx context.Context, final string, rd backend.RewindReader) (path string, err error) {
	dir, base := filepath.Split(final)
	pattern := "." + base + ".tmp-*"
	f, err := os.CreateTemp(dir, pattern)
	if errors.Is(err, fs.ErrNotExist) {
		// First object in this folder, or a repository never Created.
		if err = ensureDir(dir); err == nil {
			f, err = os.CreateTemp(dir, pattern)
		}
	}
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	n, err := copyContext(ctx, f, rd)
	if err != nil {
		return "", err
	}
	switch want := rd.Length(); {
	case n < want:
		return "", fmt.Errorf("reader ended after %d of its %d bytes: %w", n, want, io.ErrUnexpectedEOF)
	case n > want:
		return "", fmt.Errorf("reader yielded more than its length of %d bytes", want)
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// copyContext copies src to dst in chunks, checking ctx between them, so a
// cancel stops a large save within one chunk. It stops after one byte more
// than src's length, enough to see that src is too long.
func copyContext(ctx context.Context, dst io.Writer, src backend.RewindReader) (int64, error) {
	limit := src.Length() + 1
	buf := make([]byte, min(copyChunk, max(limit, 1)))
	var n int64
	for n < limit {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, rerr := src.Read(buf[:min(int64(len(buf)), limit-n)])
		if k > 0 {
			if _, err := dst.Write(buf[:k]); err != nil {
				return n, err
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, rerr
		}
	}
	return n, nil
}

// ensureDir creates dir and any missing parents, fsyncing the parent of each
// folder it creates: a file fsynced into a folder whose own entry was lost
// in a crash would be lost with it.
func ensureDir(dir string) error {
	dir = filepath.Clean(dir)
	err := os.Mkdir(dir, dirMode)
	if errors.Is(err, fs.ErrNotExist) && filepath.Dir(dir) != dir {
		if err = ensureDir(filepath.Dir(dir)); err == nil {
			err = os.Mkdir(dir, dirMode)
		}
	}
	switch {
	case err == nil:
		return syncDir(filepath.Dir(dir))
	case errors.Is(err, fs.ErrExist):
		// Already there, or made by someone else meanwhile; a file in its
		// place would only fail later with a vaguer message.
		fi, err := os.Stat(dir)
		if err == nil && !fi.IsDir() {
			err = fmt.Errorf("%s: %w", dir, syscall.ENOTDIR)
		}
		return err
	}
	return err
}

// syncDir makes the entries of a directory durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems (certain network and FUSE ones) cannot sync a
	// directory and say so with EINVAL or ENOTSUP; they give no stronger
	// promise to ask for, so that is not an error.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
