package limit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/limit"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts limit.Options
	}{
		{"none", limit.Options{}},
		{"generous", limit.Options{Upload: 256 << 20, Download: 256 << 20, Connections: 8}},
		// Two slots are what a Load fn that calls the backend needs.
		{"two connections", limit.Options{Connections: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			backendtest.Run(t, func(*testing.T) backend.Backend { return limit.New(mem.New(), tt.opts) })
		})
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func handle(name string) backend.Handle { return backend.Handle{Type: backend.PackFile, Name: name} }

// The rate tests move 192 KiB at 64 KiB/s with a burst of 64 KiB: at
// least 2 s. They only check a lower bound, with a margin.
const (
	testRate  = 64 << 10
	testBytes = 3 * testRate
	minTime   = 1500 * time.Millisecond
)

func TestUploadRate(t *testing.T) {
	for _, calls := range []int{1, 3} {
		t.Run(map[int]string{1: "one save", 3: "three saves share the rate"}[calls], func(t *testing.T) {
			t.Parallel()
			inner := mem.New()
			be := limit.New(inner, limit.Options{Upload: testRate})
			data := randomBytes(t, testBytes)
			part := len(data) / calls
			start := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, calls)
			for i := range calls {
				wg.Go(func() {
					errs[i] = be.Save(t.Context(), handle(string("abcdef"[i:i+2])), backend.NewByteReader(data[i*part:(i+1)*part]))
				})
			}
			wg.Wait()
			require.NoError(t, errors.Join(errs...))
			require.GreaterOrEqual(t, time.Since(start), minTime)
			for i := range calls {
				got, err := backend.LoadAll(t.Context(), inner, handle(string("abcdef"[i:i+2])))
				require.NoError(t, err)
				require.Equal(t, data[i*part:(i+1)*part], got)
			}
		})
	}
}

func TestDownloadRate(t *testing.T) {
	t.Parallel()
	inner := mem.New()
	data := randomBytes(t, testBytes)
	require.NoError(t, inner.Save(t.Context(), handle("ab"), backend.NewByteReader(data)))
	be := limit.New(inner, limit.Options{Download: testRate, Upload: 1}) // Upload does not slow loads

	start := time.Now()
	got, err := backend.LoadAll(t.Context(), be, handle("ab"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), minTime)
	require.Equal(t, data, got)
}

func TestSaveKeepsRewindReader(t *testing.T) {
	be := limit.New(&rewinder{Backend: mem.New()}, limit.Options{Upload: 1 << 20})
	require.NoError(t, be.Save(t.Context(), handle("ab"), backend.NewByteReader([]byte("twice"))))
	got, err := backend.LoadAll(t.Context(), be, handle("ab"))
	require.NoError(t, err)
	require.Equal(t, "twice", string(got))
}

// rewinder reads half of every object, rewinds and saves from the start,
// as a retrying backend would; it checks Length on the way.
type rewinder struct{ backend.Backend }

func (r *rewinder) Save(ctx context.Context, h backend.Handle, rd backend.RewindReader) error {
	if _, ok := rd.(interface{ Bytes() []byte }); ok {
		return errors.New("Bytes passed through: the limit can be bypassed")
	}
	if rd.Length() != 5 {
		return errors.New("wrong Length")
	}
	if _, err := io.CopyN(io.Discard, rd, 2); err != nil {
		return err
	}
	if err := rd.Rewind(); err != nil {
		return err
	}
	return r.Backend.Save(ctx, h, rd)
}

// gate counts the calls in flight on the inner backend and holds each
// until open is closed.
type gate struct {
	backend.Backend
	open      chan struct{}
	mu        sync.Mutex
	now, peak int
}

func (g *gate) enter(ctx context.Context) func() {
	g.mu.Lock()
	g.now++
	g.peak = max(g.peak, g.now)
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-ctx.Done():
	}
	return func() { g.mu.Lock(); g.now--; g.mu.Unlock() }
}

func (g *gate) counts() (now, peak int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.now, g.peak
}

func (g *gate) Save(ctx context.Context, h backend.Handle, rd backend.RewindReader) error {
	defer g.enter(ctx)()
	return g.Backend.Save(ctx, h, rd)
}

func (g *gate) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(io.Reader) error) error {
	defer g.enter(ctx)()
	return g.Backend.Load(ctx, h, length, offset, fn)
}

func (g *gate) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	defer g.enter(ctx)()
	return g.Backend.Stat(ctx, h)
}

func (g *gate) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	defer g.enter(ctx)()
	return g.Backend.List(ctx, t, fn)
}

func (g *gate) Remove(ctx context.Context, h backend.Handle) error {
	defer g.enter(ctx)()
	return g.Backend.Remove(ctx, h)
}

func TestConnections(t *testing.T) {
	const slots, calls = 3, 12
	inner := mem.New()
	for i := range calls {
		require.NoError(t, inner.Save(t.Context(), handle(fmt.Sprintf("c%x", i)), backend.NewByteReader([]byte("c"))))
	}
	g := &gate{Backend: inner, open: make(chan struct{})}
	be := limit.New(g, limit.Options{Connections: slots})

	ops := []func(i int) error{
		func(i int) error { _, err := be.Stat(t.Context(), handle(fmt.Sprintf("c%x", i))); return err },
		func(i int) error {
			_, err := backend.LoadAll(t.Context(), be, handle(fmt.Sprintf("c%x", i)))
			return err
		},
		// No index files: List lets go of its slot while its fn runs.
		func(int) error {
			return be.List(t.Context(), backend.IndexFile, func(backend.FileInfo) error { return nil })
		},
		func(i int) error {
			return be.Save(t.Context(), handle(fmt.Sprintf("d%x", i)), backend.NewByteReader([]byte("d")))
		},
		func(i int) error { return be.Remove(t.Context(), handle(fmt.Sprintf("c%x", i))) },
	}
	var wg sync.WaitGroup
	errs := make([]error, calls)
	for i := range calls {
		wg.Go(func() { errs[i] = ops[i%len(ops)](i) })
	}
	require.Eventually(t, func() bool { now, _ := g.counts(); return now == slots }, 5*time.Second, time.Millisecond)
	time.Sleep(100 * time.Millisecond) // time for a call to get past the limit, if it could
	_, peak := g.counts()
	require.Equal(t, slots, peak)

	close(g.open)
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	_, peak = g.counts()
	require.Equal(t, slots, peak)
}

// holdSlot starts a Load on be whose fn blocks until the returned func is
// called, and returns once fn runs: the Load's slot is taken.
func holdSlot(t *testing.T, be backend.Backend) (release func()) {
	inFn, done := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- be.Load(t.Context(), handle("aa"), 0, 0, func(io.Reader) error {
			close(inFn)
			<-done
			return nil
		})
	}()
	<-inFn
	return func() {
		close(done)
		require.NoError(t, <-errc)
	}
}

func TestLoadFnHoldsSlot(t *testing.T) {
	inner := mem.New()
	require.NoError(t, inner.Save(t.Context(), handle("aa"), backend.NewByteReader([]byte("a"))))
	be := limit.New(inner, limit.Options{Connections: 1})

	release := holdSlot(t, be)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := be.Stat(ctx, handle("aa"))
	require.ErrorIs(t, err, context.DeadlineExceeded)

	release()
	_, err = be.Stat(t.Context(), handle("aa"))
	require.NoError(t, err)
}

func TestListFnMayCallBackend(t *testing.T) {
	inner := mem.New()
	for _, name := range []string{"aa", "bb"} {
		require.NoError(t, inner.Save(t.Context(), handle(name), backend.NewByteReader([]byte(name))))
	}
	be := limit.New(inner, limit.Options{Connections: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // fail, not hang
	defer cancel()
	var got []string
	err := be.List(ctx, backend.PackFile, func(fi backend.FileInfo) error {
		data, err := backend.LoadAll(ctx, be, handle(fi.Name))
		got = append(got, string(data))
		return err
	})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"aa", "bb"}, got)
}

// TestCancelWhileWaiting cancels calls that wait for a slot or for tokens
// that would take minutes; they must return at once with context.Canceled.
func TestCancelWhileWaiting(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 1<<20)
	for _, tt := range []struct {
		name string
		opts limit.Options
		call func(ctx context.Context, be backend.Backend) error
	}{
		{"slot", limit.Options{Connections: 1}, func(ctx context.Context, be backend.Backend) error {
			_, err := be.Stat(ctx, handle("aa"))
			return err
		}},
		{"upload", limit.Options{Upload: 1 << 10}, func(ctx context.Context, be backend.Backend) error {
			return be.Save(ctx, handle("bb"), backend.NewByteReader(big))
		}},
		{"download", limit.Options{Download: 1 << 10}, func(ctx context.Context, be backend.Backend) error {
			_, err := backend.LoadAll(ctx, be, handle("aa"))
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inner := mem.New()
			require.NoError(t, inner.Save(t.Context(), handle("aa"), backend.NewByteReader(big)))
			be := limit.New(inner, tt.opts)
			if tt.opts.Connections > 0 {
				defer holdSlot(t, be)()
			}
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			err := tt.call(ctx, be)
			require.ErrorIs(t, err, context.Canceled)
			require.Less(t, time.Since(start), 30*time.Second, "waited for the tokens")
			_, err = inner.Stat(t.Context(), handle("bb"))
			require.ErrorIs(t, err, backend.ErrNotFound, "no object from a cancelled save")
		})
	}
}

func TestNewLimiter(t *testing.T) {
	require.Nil(t, limit.NewLimiter(0))
	require.Nil(t, limit.NewLimiter(-1))
	require.Equal(t, 64<<10, limit.NewLimiter(1).Burst())
	require.Equal(t, 1<<20, limit.NewLimiter(1<<20).Burst())
	require.Equal(t, 1<<30, limit.NewLimiter(1<<40).Burst())
}

func TestNewReaderNil(t *testing.T) {
	r := bytes.NewReader(nil)
	require.Same(t, r, limit.NewReader(t.Context(), r, nil))
}

func TestNearbyPassesThrough(t *testing.T) {
	require.True(t, backend.IsNearby(limit.New(local.New(t.TempDir()), limit.Options{Download: 1 << 20})))
	require.False(t, backend.IsNearby(limit.New(mem.New(), limit.Options{})))
}
