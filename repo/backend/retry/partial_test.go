package retry_test

// Failures part-way through a call, after it reached the store: the cases
// where retrying must not change what the call means.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/repo/backend/retry"
	"github.com/stretchr/testify/require"
)

// flaky breaks calls part-way, after they reached the store: the first
// loads Loads hand fn a reader that yields half the range and then readErr
// (io.EOF: the range just ends early), the first saves Saves read half their
// input and fail, the first lists Lists fail after half the objects. With
// alternate, every other Load fails instead.
type flaky struct {
	backend.Backend
	readErr   error
	alternate bool

	mu                  sync.Mutex
	loads, saves, lists int
	loadCalls           int
}

func (f *flaky) take(n *int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n == &f.loads && f.alternate {
		f.loadCalls++
		return f.loadCalls%2 == 1
	}
	if *n == 0 {
		return false
	}
	*n--
	return true
}

func (f *flaky) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(io.Reader) error) error {
	if !f.take(&f.loads) {
		return f.Backend.Load(ctx, h, length, offset, fn)
	}
	return f.Backend.Load(ctx, h, length, offset, func(rd io.Reader) error {
		data, err := io.ReadAll(rd)
		if err != nil {
			return err
		}
		return fn(io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(f.readErr)))
	})
}

func (f *flaky) Save(ctx context.Context, h backend.Handle, rd backend.RewindReader) error {
	if !f.take(&f.saves) {
		return f.Backend.Save(ctx, h, rd)
	}
	if _, err := io.CopyN(io.Discard, rd, rd.Length()/2); err != nil {
		return err
	}
	return errReset
}

func (f *flaky) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if !f.take(&f.lists) {
		return f.Backend.List(ctx, t, fn)
	}
	var all []backend.FileInfo
	if err := f.Backend.List(ctx, t, func(fi backend.FileInfo) error {
		all = append(all, fi)
		return nil
	}); err != nil {
		return err
	}
	for _, fi := range all[:len(all)/2] {
		if err := fn(fi); err != nil {
			return err
		}
	}
	return errReset
}

func TestLoadReadFailsHalfWay(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	tests := []struct {
		name    string
		readErr error
		length  int
		offset  int64
	}{
		{"reset", errReset, 0, 0},
		{"unexpected EOF", io.ErrUnexpectedEOF, 0, 0},
		{"range ends early", io.EOF, 5000, 1000},
		{"range ends early, to the end", io.EOF, 0, 0}, // not known short: see below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := mem.New()
			require.NoError(t, inner.Save(t.Context(), pack, backend.NewByteReader(data)))
			f := &flaky{Backend: inner, readErr: tt.readErr, loads: 2}
			be := retry.New(f, fast)

			fnCalls := 0
			var got []byte
			err := be.Load(t.Context(), pack, tt.length, tt.offset, func(rd io.Reader) error {
				fnCalls++
				var err error
				got, err = io.ReadAll(rd)
				return err
			})
			if tt.length == 0 && tt.readErr == io.EOF {
				// Without a length, an early end cannot be told from the
				// real one: the store's reader has to say.
				require.NoError(t, err)
				require.Equal(t, 1, fnCalls)
				require.Len(t, got, len(data)/2)
				return
			}
			require.NoError(t, err)
			require.Equal(t, 3, fnCalls)
			end := len(data)
			if tt.length > 0 {
				end = int(tt.offset) + tt.length
			}
			require.Equal(t, data[tt.offset:end], got)
		})
	}
}

// TestLoadFnHidesReadError checks a read failure is retried also when fn
// reports it as an error of its own, as decoders do.
func TestLoadFnHidesReadError(t *testing.T) {
	inner := mem.New()
	require.NoError(t, inner.Save(t.Context(), pack, backend.NewByteReader([]byte("some data"))))
	be := retry.New(&flaky{Backend: inner, readErr: errReset, loads: 1}, fast)
	calls := 0
	err := be.Load(t.Context(), pack, 0, 0, func(rd io.Reader) error {
		calls++
		if _, err := io.ReadAll(rd); err != nil {
			return errors.New("decode: bad input")
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, calls)
}

func TestLoadFnErrorNotRetried(t *testing.T) {
	errDecode := errors.New("decode: bad magic")
	for _, readFirst := range []bool{false, true} {
		f := newStore(t, 0, 0, nil)
		var n notes
		err := retry.New(f, n.options(fast)).Load(t.Context(), pack, 0, 0, func(rd io.Reader) error {
			if readFirst {
				if _, err := io.ReadAll(rd); err != nil {
					return err
				}
			}
			return errDecode
		})
		require.Same(t, errDecode, err)
		require.Equal(t, 1, f.Counts().Load)
		require.Empty(t, n.attempts)
	}
}

func TestLoadReadErrorPermanent(t *testing.T) {
	inner := mem.New()
	require.NoError(t, inner.Save(t.Context(), pack, backend.NewByteReader([]byte("some data"))))
	f := &flaky{Backend: inner, readErr: backend.Permanent(errDenied), loads: 5}
	_, err := backend.LoadAll(t.Context(), retry.New(f, fast), pack)
	require.ErrorIs(t, err, errDenied)
	require.Equal(t, 4, f.loads, "one attempt")
}

func TestSaveRewinds(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100)
	for name, rd := range map[string]backend.RewindReader{
		"ByteReader": backend.NewByteReader(data),
		"other":      struct{ backend.RewindReader }{backend.NewByteReader(data)},
	} {
		t.Run(name, func(t *testing.T) {
			inner := mem.New()
			f := &flaky{Backend: inner, saves: 2}
			require.NoError(t, retry.New(f, fast).Save(t.Context(), pack, rd))
			require.Zero(t, f.saves)
			got, err := backend.LoadAll(t.Context(), inner, pack)
			require.NoError(t, err)
			require.Equal(t, data, got)
		})
	}
}

// badSource fails as the caller's own data does: the same on every try.
type badSource struct{ *backend.ByteReader }

func (badSource) Read([]byte) (int, error) { return 0, errDenied }

// shortSource claims a byte more than it has.
type shortSource struct{ *backend.ByteReader }

func (s shortSource) Length() int64 { return s.ByteReader.Length() + 1 }

func TestSaveSourceErrorNotRetried(t *testing.T) {
	for name, rd := range map[string]backend.RewindReader{
		"read error": badSource{backend.NewByteReader([]byte("data"))},
		"short":      shortSource{backend.NewByteReader([]byte("data"))},
	} {
		t.Run(name, func(t *testing.T) {
			f := newStore(t, 0, 0, nil)
			require.Error(t, retry.New(f, fast).Save(t.Context(), backend.Handle{Type: backend.PackFile, Name: "ef01"}, rd))
			require.Equal(t, 1, f.Counts().Save)
		})
	}
}

func TestListRetryDeduplicates(t *testing.T) {
	inner := mem.New()
	want := make(map[string]int)
	for i := range 10 {
		h := backend.Handle{Type: backend.IndexFile, Name: fmt.Sprintf("%04x", i)}
		require.NoError(t, inner.Save(t.Context(), h, backend.NewByteReader([]byte("index"))))
		want[h.Name] = 1
	}
	f := &flaky{Backend: inner, lists: 2}
	seen := make(map[string]int)
	err := retry.New(f, fast).List(t.Context(), backend.IndexFile, func(fi backend.FileInfo) error {
		seen[fi.Name]++
		return nil
	})
	require.NoError(t, err)
	require.Zero(t, f.lists)
	require.Equal(t, want, seen)
}

func TestListFnErrorNotRetried(t *testing.T) {
	f := newStore(t, 0, 0, nil)
	errStop := errors.New("stop")
	err := retry.New(f, fast).List(t.Context(), backend.PackFile, func(backend.FileInfo) error { return errStop })
	require.Same(t, errStop, err)
	require.Equal(t, 1, f.Counts().List)
}
