package fault_test

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend { return fault.New(mem.New()) })
}

// TestConformanceWithHooks checks that hooks which inject nothing change
// nothing.
func TestConformanceWithHooks(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend {
		f := fault.New(mem.New())
		f.FailOn(func(fault.Op, backend.Handle) error { return nil })
		f.CorruptLoad(func(backend.Handle, int64, []byte) {})
		return f
	})
}

func packHandle(i int) backend.Handle {
	return backend.Handle{Type: backend.PackFile, Name: fmt.Sprintf("%04x", i)}
}

func save(f backend.Backend, t *testing.T, i int) error {
	return f.Save(t.Context(), packHandle(i), backend.NewByteReader([]byte(fmt.Sprint(i))))
}

func stat(f backend.Backend, t *testing.T, i int) error {
	_, err := f.Stat(t.Context(), packHandle(i))
	return err
}

func listed(t *testing.T, be backend.Backend) []string {
	var names []string
	require.NoError(t, be.List(t.Context(), backend.PackFile, func(fi backend.FileInfo) error {
		names = append(names, fi.Name)
		return nil
	}))
	return names
}

func TestStopAfter(t *testing.T) {
	for n := range 5 {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			inner := mem.New()
			f := fault.New(inner)
			f.StopAfter(n)
			require.Equal(t, n == 0, f.Stopped())

			// Four writes, each followed by a read of what it wrote.
			for i := range 4 {
				err := save(f, t, i)
				if i < n {
					require.NoError(t, err, "write %d", i)
				} else {
					require.ErrorIs(t, err, fault.ErrStopped, "write %d", i)
				}
				err = stat(f, t, i)
				if i < n-1 {
					require.NoError(t, err, "read after write %d", i)
				} else {
					require.ErrorIs(t, err, fault.ErrStopped, "read after write %d", i)
				}
			}
			require.True(t, f.Stopped(), "every n here is at most the number of writes")

			// The inner backend holds exactly the writes that went through.
			var want []string
			for i := range min(n, 4) {
				want = append(want, packHandle(i).Name)
			}
			require.Equal(t, want, listed(t, inner))
			require.Equal(t, min(n, 4), f.Counts().Save)

			// A restart lifts the stop.
			f.StopAfter(-1)
			require.False(t, f.Stopped())
			require.NoError(t, save(f, t, 100))
			require.NoError(t, stat(f, t, 100))
		})
	}
}

func TestStopAfterCountsRemoves(t *testing.T) {
	f := fault.New(mem.New())
	require.NoError(t, save(f, t, 1))
	f.StopAfter(2)
	require.NoError(t, f.Remove(t.Context(), packHandle(1)))
	require.NoError(t, save(f, t, 2))
	require.ErrorIs(t, f.Remove(t.Context(), packHandle(2)), fault.ErrStopped)
	require.ErrorIs(t, f.List(t.Context(), backend.PackFile, func(backend.FileInfo) error { return nil }), fault.ErrStopped)
	_, err := backend.LoadAll(t.Context(), f, packHandle(2))
	require.ErrorIs(t, err, fault.ErrStopped)
	require.ErrorContains(t, err, packHandle(2).String())
}

// TestStopAfterConcurrent checks that exactly n writes get through when many
// goroutines write at once.
func TestStopAfterConcurrent(t *testing.T) {
	const workers, perWorker, n = 16, 10, 50
	inner := mem.New()
	f := fault.New(inner)
	f.StopAfter(n)

	var wg sync.WaitGroup
	errs := make([]error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				k := w*perWorker + i
				errs[k] = save(f, t, k)
			}
		})
	}
	wg.Wait()

	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		require.ErrorIs(t, err, fault.ErrStopped)
	}
	require.Equal(t, n, ok)
	require.Len(t, listed(t, inner), n)
	c := f.Counts()
	require.Equal(t, n, c.Save)
	require.Equal(t, workers*perWorker-n, c.Failed)
}

func TestFailAfter(t *testing.T) {
	inner := mem.New()
	f := fault.New(inner)
	require.NoError(t, save(f, t, 0))

	f.FailAfter(2)
	require.NoError(t, stat(f, t, 0))
	require.NoError(t, save(f, t, 1))
	err := save(f, t, 2)
	require.ErrorIs(t, err, fault.ErrInjected)
	require.ErrorContains(t, err, packHandle(2).String())
	_, err = inner.Stat(t.Context(), packHandle(2))
	require.ErrorIs(t, err, backend.ErrNotFound, "the failed save reached the inner backend")

	// Transient: the retry and everything after it work.
	require.NoError(t, save(f, t, 2))
	for i := range 10 {
		require.NoError(t, stat(f, t, i%3))
	}

	f.FailAfter(0)
	require.ErrorIs(t, f.List(t.Context(), backend.PackFile, func(backend.FileInfo) error { return nil }), fault.ErrInjected)
	f.FailAfter(1)
	f.FailAfter(-1)
	for i := range 3 {
		require.NoError(t, stat(f, t, i))
	}
	require.Equal(t, 2, f.Counts().Failed)
}

func TestFailOn(t *testing.T) {
	f := fault.New(mem.New())
	for i := range 3 {
		require.NoError(t, save(f, t, i))
	}
	errDisk := errors.New("disk on fire")
	var listSeen backend.Handle
	f.FailOn(func(op fault.Op, h backend.Handle) error {
		switch {
		case op == fault.OpList:
			listSeen = h
		case op == fault.OpLoad && h == packHandle(1):
			// Hooks may call the backend; this must not deadlock.
			if _, err := f.Stat(t.Context(), h); err != nil {
				return err
			}
			return errDisk
		}
		return nil
	})
	before := f.Counts()

	_, err := backend.LoadAll(t.Context(), f, packHandle(1))
	require.ErrorIs(t, err, errDisk)
	require.ErrorContains(t, err, "load "+packHandle(1).String())
	got, err := backend.LoadAll(t.Context(), f, packHandle(2))
	require.NoError(t, err)
	require.Equal(t, "2", string(got))
	require.NoError(t, stat(f, t, 1))
	require.Len(t, listed(t, f), 3)
	require.Equal(t, backend.Handle{Type: backend.PackFile}, listSeen)

	after := f.Counts()
	require.Equal(t, before.Load+1, after.Load, "only the good load reached the inner backend")
	require.Equal(t, before.Stat+2, after.Stat, "the hook's stat and the test's")
	require.Equal(t, before.Failed+1, after.Failed)

	f.FailOn(nil)
	_, err = backend.LoadAll(t.Context(), f, packHandle(1))
	require.NoError(t, err)
}

func TestCorruptLoad(t *testing.T) {
	inner := mem.New()
	f := fault.New(inner)
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	target, other := packHandle(1), packHandle(2)
	for _, h := range []backend.Handle{target, other} {
		require.NoError(t, f.Save(t.Context(), h, backend.NewByteReader(data)))
	}
	f.CorruptLoad(func(h backend.Handle, off int64, p []byte) {
		if i := 10 - off; h == target && i >= 0 && i < int64(len(p)) {
			p[i] ^= 1
		}
	})

	load := func(h backend.Handle, length int, off int64) []byte {
		var got []byte
		require.NoError(t, f.Load(t.Context(), h, length, off, func(rd io.Reader) error {
			var err error
			got, err = io.ReadAll(rd)
			return err
		}))
		return got
	}
	flipped := func(from, to int) []byte {
		want := append([]byte{}, data[from:to]...)
		want[10-from] ^= 1
		return want
	}
	require.Equal(t, flipped(0, len(data)), load(target, 0, 0))
	require.Equal(t, flipped(5, 20), load(target, 15, 5))
	require.Equal(t, data[11:], load(target, 0, 11), "range without byte 10")
	require.Equal(t, data, load(other, 0, 0))

	stored, err := backend.LoadAll(t.Context(), inner, target)
	require.NoError(t, err)
	require.Equal(t, data, stored, "the stored object is untouched")
}

func TestCounts(t *testing.T) {
	f := fault.New(mem.New())
	for i, size := range []int{10, 20, 30} {
		require.NoError(t, f.Save(t.Context(), packHandle(i), backend.NewByteReader(make([]byte, size))))
	}
	require.NoError(t, f.Load(t.Context(), packHandle(2), 5, 3, func(rd io.Reader) error {
		_, err := io.Copy(io.Discard, rd)
		return err
	}))
	_, err := backend.LoadAll(t.Context(), f, packHandle(1))
	require.NoError(t, err)
	require.NoError(t, stat(f, t, 0))
	require.Len(t, listed(t, f), 3)
	require.NoError(t, f.Remove(t.Context(), packHandle(0)))
	require.ErrorIs(t, f.Remove(t.Context(), packHandle(0)), backend.ErrNotFound)
	f.FailAfter(0)
	require.Error(t, stat(f, t, 1))

	require.Equal(t, fault.Counts{
		Save: 3, Load: 2, Stat: 1, List: 1, Remove: 2,
		Failed:     1,
		BytesSaved: 60, BytesLoaded: 25,
	}, f.Counts())
}

func TestOpString(t *testing.T) {
	for op, want := range map[fault.Op]string{
		fault.OpSave: "save", fault.OpLoad: "load", fault.OpStat: "stat",
		fault.OpList: "list", fault.OpRemove: "remove", 0: "Op(0)",
	} {
		require.Equal(t, want, op.String())
	}
}
