package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/repo/backend/retry"
	"github.com/stretchr/testify/require"
)

// fast keeps the waits of tests short.
var fast = retry.Options{InitialDelay: time.Microsecond, MaxDelay: 10 * time.Microsecond}

var (
	errReset  = errors.New("connection reset by peer")
	errDenied = errors.New("access denied")
)

var pack = backend.Handle{Type: backend.PackFile, Name: "abcd"}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend { return retry.New(mem.New(), fast) })
}

// TestConformanceFailingCalls fails every other Load, Stat and List before
// it reaches the store: the retries must hide that completely. (Saves and
// removes that fail this way would turn the suite's second Save or Remove
// of an object into a success, as documented.)
func TestConformanceFailingCalls(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend {
		f := fault.New(mem.New())
		var mu sync.Mutex
		calls := 0
		f.FailOn(func(op fault.Op, h backend.Handle) error {
			if op == fault.OpSave || op == fault.OpRemove {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls%2 == 1 {
				return fault.ErrInjected
			}
			return nil
		})
		opts := fast
		opts.MaxAttempts = 50 // concurrent calls share the alternation
		return retry.New(f, opts)
	})
}

// TestConformanceFlakyReads hands fn a reader that breaks half-way on every
// other Load.
func TestConformanceFlakyReads(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend {
		opts := fast
		opts.MaxAttempts = 50
		return retry.New(&flaky{Backend: mem.New(), alternate: true, readErr: errReset}, opts)
	})
}

// notes collects what Notify reports.
type notes struct {
	mu       sync.Mutex
	attempts []int
	waits    []time.Duration
}

func (n *notes) options(o retry.Options) retry.Options {
	o.Notify = func(_ string, _ backend.Handle, attempt int, _ error, wait time.Duration) {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.attempts = append(n.attempts, attempt)
		n.waits = append(n.waits, wait)
	}
	return o
}

// ops calls each method once on pack, which the store holds (save: a new
// object).
var ops = []struct {
	op   fault.Op
	call func(ctx context.Context, be backend.Backend) error
}{
	{fault.OpSave, func(ctx context.Context, be backend.Backend) error {
		return be.Save(ctx, backend.Handle{Type: backend.PackFile, Name: "ef01"}, backend.NewByteReader([]byte("new")))
	}},
	{fault.OpLoad, func(ctx context.Context, be backend.Backend) error {
		_, err := backend.LoadAll(ctx, be, pack)
		return err
	}},
	{fault.OpStat, func(ctx context.Context, be backend.Backend) error {
		_, err := be.Stat(ctx, pack)
		return err
	}},
	{fault.OpList, func(ctx context.Context, be backend.Backend) error {
		return be.List(ctx, backend.PackFile, func(backend.FileInfo) error { return nil })
	}},
	{fault.OpRemove, func(ctx context.Context, be backend.Backend) error { return be.Remove(ctx, pack) }},
}

// newStore returns a fault backend over a store holding pack, failing the
// first n calls of op with err (n < 0: all).
func newStore(t *testing.T, op fault.Op, n int, err error) *fault.Backend {
	inner := mem.New()
	require.NoError(t, inner.Save(t.Context(), pack, backend.NewByteReader([]byte("pack"))))
	f := fault.New(inner)
	var mu sync.Mutex
	f.FailOn(func(o fault.Op, _ backend.Handle) error {
		mu.Lock()
		defer mu.Unlock()
		if o != op || n == 0 {
			return nil
		}
		n--
		return err
	})
	return f
}

func calls(c fault.Counts, op fault.Op) int {
	return map[fault.Op]int{
		fault.OpSave: c.Save, fault.OpLoad: c.Load, fault.OpStat: c.Stat,
		fault.OpList: c.List, fault.OpRemove: c.Remove,
	}[op]
}

func TestTransientRetried(t *testing.T) {
	for _, tt := range ops {
		t.Run(tt.op.String(), func(t *testing.T) {
			f := newStore(t, tt.op, 3, fmt.Errorf("503 slow down: %w", fault.ErrInjected))
			var n notes
			require.NoError(t, tt.call(t.Context(), retry.New(f, n.options(fast))))
			require.Equal(t, 3, f.Counts().Failed)
			require.Equal(t, 1, calls(f.Counts(), tt.op))
			require.Equal(t, []int{1, 2, 3}, n.attempts)
		})
	}
}

func TestGiveUp(t *testing.T) {
	for _, tt := range ops {
		t.Run(tt.op.String(), func(t *testing.T) {
			f := newStore(t, tt.op, -1, fault.ErrInjected)
			opts := fast
			opts.MaxAttempts = 4
			err := tt.call(t.Context(), retry.New(f, opts))
			require.ErrorIs(t, err, fault.ErrInjected)
			require.ErrorContains(t, err, "gave up after 4 attempts")
			require.Equal(t, 4, f.Counts().Failed)
		})
	}
}

func TestPermanentNotRetried(t *testing.T) {
	for _, tt := range ops {
		t.Run(tt.op.String(), func(t *testing.T) {
			f := newStore(t, tt.op, -1, backend.Permanent(errDenied))
			var n notes
			err := tt.call(t.Context(), retry.New(f, n.options(fast)))
			require.ErrorIs(t, err, errDenied)
			require.True(t, backend.IsPermanent(err))
			require.Equal(t, 1, f.Counts().Failed)
			require.Empty(t, n.attempts)
		})
	}
}

func TestPermanent(t *testing.T) {
	require.NoError(t, backend.Permanent(nil))
	require.False(t, backend.IsPermanent(nil))
	require.False(t, backend.IsPermanent(errDenied))
	err := fmt.Errorf("stat: %w", backend.Permanent(errDenied))
	require.True(t, backend.IsPermanent(err))
	require.ErrorIs(t, err, errDenied)
	require.Equal(t, "stat: access denied", err.Error())
}

// TestFinalAnswersNotRetried checks the answers that no retry changes go
// to the inner backend once.
func TestFinalAnswersNotRetried(t *testing.T) {
	missing := backend.Handle{Type: backend.PackFile, Name: "0000"}
	tests := []struct {
		name string
		op   fault.Op
		call func(ctx context.Context, be backend.Backend) error
		want error
	}{
		{"stat missing", fault.OpStat, func(ctx context.Context, be backend.Backend) error {
			_, err := be.Stat(ctx, missing)
			return err
		}, backend.ErrNotFound},
		{"load missing", fault.OpLoad, func(ctx context.Context, be backend.Backend) error {
			_, err := backend.LoadAll(ctx, be, missing)
			return err
		}, backend.ErrNotFound},
		{"remove missing", fault.OpRemove, func(ctx context.Context, be backend.Backend) error {
			return be.Remove(ctx, missing)
		}, backend.ErrNotFound},
		{"save existing", fault.OpSave, func(ctx context.Context, be backend.Backend) error {
			return be.Save(ctx, pack, backend.NewByteReader([]byte("pack")))
		}, backend.ErrExists},
		{"load past the end", fault.OpLoad, func(ctx context.Context, be backend.Backend) error {
			return be.Load(ctx, pack, 10, 0, func(io.Reader) error { return nil })
		}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newStore(t, 0, 0, nil)
			err := tt.call(t.Context(), retry.New(f, fast))
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, 1, calls(f.Counts(), tt.op))
		})
	}
}

// lostReply makes the first call of op reach the store and then fail, as
// when the connection drops before the answer arrives.
func lostReply(t *testing.T, op fault.Op, h backend.Handle) (*fault.Backend, *mem.Backend) {
	inner := mem.New()
	f := fault.New(inner)
	var once sync.Once
	f.FailOn(func(o fault.Op, got backend.Handle) error {
		if o != op || got != h {
			return nil
		}
		var err error
		once.Do(func() {
			if op == fault.OpSave {
				require.NoError(t, inner.Save(t.Context(), h, backend.NewByteReader([]byte("data"))))
			} else {
				require.NoError(t, inner.Remove(t.Context(), h))
			}
			err = fault.ErrInjected
		})
		return err
	})
	return f, inner
}

func TestSaveExistsAfterLostReply(t *testing.T) {
	f, inner := lostReply(t, fault.OpSave, pack)
	require.NoError(t, retry.New(f, fast).Save(t.Context(), pack, backend.NewByteReader([]byte("data"))))
	require.Equal(t, 1, f.Counts().Failed)
	got, err := backend.LoadAll(t.Context(), inner, pack)
	require.NoError(t, err)
	require.Equal(t, "data", string(got))

	// The config is not named by its content: someone else's config may be
	// the one in the way.
	config := backend.Handle{Type: backend.ConfigFile}
	f, _ = lostReply(t, fault.OpSave, config)
	err = retry.New(f, fast).Save(t.Context(), config, backend.NewByteReader([]byte("data")))
	require.ErrorIs(t, err, backend.ErrExists)

	// Without an earlier failure, ErrExists stands.
	err = retry.New(f, fast).Save(t.Context(), config, backend.NewByteReader([]byte("data")))
	require.ErrorIs(t, err, backend.ErrExists)
}

func TestRemoveNotFoundAfterLostReply(t *testing.T) {
	f, inner := lostReply(t, fault.OpRemove, pack)
	require.NoError(t, inner.Save(t.Context(), pack, backend.NewByteReader([]byte("data"))))
	be := retry.New(f, fast)
	require.NoError(t, be.Remove(t.Context(), pack))
	require.Equal(t, 1, f.Counts().Failed)
	_, err := inner.Stat(t.Context(), pack)
	require.ErrorIs(t, err, backend.ErrNotFound)
	require.ErrorIs(t, be.Remove(t.Context(), pack), backend.ErrNotFound, "a second remove")
}

func TestContextEndsDuringWait(t *testing.T) {
	slow := retry.Options{InitialDelay: time.Hour, MaxDelay: time.Hour}
	t.Run("cancel", func(t *testing.T) {
		f := newStore(t, fault.OpStat, -1, fault.ErrInjected)
		ctx, cancel := context.WithCancel(t.Context())
		slow := slow
		slow.Notify = func(string, backend.Handle, int, error, time.Duration) { cancel() }
		err := promptly(t, func() error {
			_, err := retry.New(f, slow).Stat(ctx, pack)
			return err
		})
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, err, fault.ErrInjected, "the last error")
		require.Equal(t, 1, f.Counts().Failed)
	})
	t.Run("cancel during the call", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		f := fault.New(mem.New())
		f.FailOn(func(fault.Op, backend.Handle) error { cancel(); return fault.ErrInjected })
		var n notes
		err := retry.New(f, n.options(slow)).Remove(ctx, pack)
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, err, fault.ErrInjected)
		require.Empty(t, n.attempts, "no retry announced")
	})
	t.Run("deadline", func(t *testing.T) {
		f := newStore(t, fault.OpLoad, -1, fault.ErrInjected)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		err := promptly(t, func() error {
			_, err := backend.LoadAll(ctx, retry.New(f, slow), pack)
			return err
		})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorIs(t, err, fault.ErrInjected)
	})
}

// promptly runs call and fails the test if it takes more than a few seconds
// (a leaked goroutine is then the lesser evil than a hanging test).
func promptly(t *testing.T, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not return when its context ended")
		return nil
	}
}

func TestBackoff(t *testing.T) {
	f := newStore(t, fault.OpStat, -1, fault.ErrInjected)
	var n notes
	opts := retry.Options{MaxAttempts: 7, InitialDelay: time.Microsecond, MaxDelay: 5 * time.Microsecond}
	_, err := retry.New(f, n.options(opts)).Stat(t.Context(), pack)
	require.ErrorIs(t, err, fault.ErrInjected)
	require.Equal(t, []int{1, 2, 3, 4, 5, 6}, n.attempts)
	for i, bound := range []time.Duration{1, 2, 4, 5, 5, 5} {
		require.GreaterOrEqual(t, n.waits[i], time.Duration(0))
		require.Less(t, n.waits[i], bound*time.Microsecond, "wait %d", i)
	}
}
