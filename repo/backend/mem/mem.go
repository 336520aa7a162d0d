// Package mem is a Backend that keeps objects in memory, for tests and
// examples. It loses everything when the process ends.
//
// Objects are copied on the way in and handed out only through io.Reader, so
// no caller ever holds a slice the backend stores: a test cannot corrupt the
// store by reusing a buffer, and a bug that does so in a real backend is not
// hidden here. Every method is safe for concurrent use; callbacks run without
// the lock held, so they may call the backend again.
package mem

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Backend is an in-memory backend.Backend. The zero value is not ready; use
// New.
type Backend struct {
	mu sync.RWMutex
	// Stored slices are never modified, only dropped from the map, so a Load
	// may read one after dropping the lock.
	objects map[backend.Handle][]byte
}

var _ backend.Backend = (*Backend)(nil)

// New returns an empty backend.
func New() *Backend {
	return &Backend{objects: make(map[backend.Handle][]byte)}
}

// Save stores a copy of what rd yields.
func (b *Backend) Save(ctx context.Context, h backend.Handle, rd backend.RewindReader) error {
	if err := h.Valid(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	data, err := readExactly(rd)
	if err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	// The read may have taken long; a cancelled save must not publish.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[h]; ok {
		return fmt.Errorf("save %v: %w", h, backend.ErrExists)
	}
	b.objects[h] = data
	return nil
}

// readExactly reads the rd.Length() bytes rd promises and checks it has no
// more: a reader that disagrees with its length would store a wrong object.
func readExactly(rd backend.RewindReader) ([]byte, error) {
	n := rd.Length()
	if n < 0 {
		return nil, fmt.Errorf("reader has negative length %d", n)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(rd, data); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reader yielded fewer than its length of %d bytes: %w", n, err)
	}
	var extra [1]byte
	switch _, err := io.ReadFull(rd, extra[:]); err {
	case io.EOF:
		return data, nil
	case nil:
		return nil, fmt.Errorf("reader yielded more than its length of %d bytes", n)
	default:
		return nil, err
	}
}

// Load calls fn with a reader of the requested range.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	data, err := b.get(ctx, "load", h)
	if err != nil {
		return err
	}
	if length < 0 || offset < 0 {
		return fmt.Errorf("load %v: invalid range %d+%d", h, offset, length)
	}
	size := int64(len(data))
	end := size
	if length > 0 {
		end = offset + int64(length)
	}
	if offset > size || end > size {
		return fmt.Errorf("load %v: range %d+%d beyond size %d: %w", h, offset, length, size, io.ErrUnexpectedEOF)
	}
	// Only Read is exposed: bytes.Reader's WriteTo would hand the stored
	// slice itself to the caller's writer.
	return fn(struct{ io.Reader }{bytes.NewReader(data[offset:end])})
}

// Stat returns the object's size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	data, err := b.get(ctx, "stat", h)
	if err != nil {
		return backend.FileInfo{}, err
	}
	return backend.FileInfo{Name: h.Name, Size: int64(len(data))}, nil
}

func (b *Backend) get(ctx context.Context, op string, h backend.Handle) ([]byte, error) {
	if err := h.Valid(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s %v: %w", op, h, err)
	}
	b.mu.RLock()
	data, ok := b.objects[h]
	b.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%s %v: %w", op, h, backend.ErrNotFound)
	}
	return data, nil
}

// List calls fn for every object of type t, sorted by name so that tests
// are reproducible.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if !slices.Contains(backend.FileTypes, t) {
		return fmt.Errorf("list: unknown file type %v", t)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %v: %w", t, err)
	}
	// A snapshot, so fn runs without the lock and may change the backend.
	var infos []backend.FileInfo
	b.mu.RLock()
	for h, data := range b.objects {
		if h.Type == t {
			infos = append(infos, backend.FileInfo{Name: h.Name, Size: int64(len(data))})
		}
	}
	b.mu.RUnlock()
	slices.SortFunc(infos, func(a, b backend.FileInfo) int { return strings.Compare(a.Name, b.Name) })

	for _, fi := range infos {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list %v: %w", t, err)
		}
		if err := fn(fi); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes the object.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := h.Valid(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove %v: %w", h, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[h]; !ok {
		return fmt.Errorf("remove %v: %w", h, backend.ErrNotFound)
	}
	delete(b.objects, h)
	return nil
}
