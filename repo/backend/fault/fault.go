package fault

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Errors of injected faults; test with errors.Is.
var (
	// ErrStopped is the error of every call after the simulated crash.
	ErrStopped = errors.New("fault: backend stopped (simulated crash)")
	// ErrInjected is the transient error of FailAfter; hooks may use it too.
	ErrInjected = errors.New("fault: injected error")
)

// Op names a Backend method.
type Op uint8

// The operations, one per method of backend.Backend.
const (
	OpSave Op = iota + 1
	OpLoad
	OpStat
	OpList
	OpRemove
)

func (op Op) String() string {
	switch op {
	case OpSave:
		return "save"
	case OpLoad:
		return "load"
	case OpStat:
		return "stat"
	case OpList:
		return "list"
	case OpRemove:
		return "remove"
	}
	return fmt.Sprintf("Op(%d)", uint8(op))
}

// mutating reports whether the operation changes what is stored; those are
// the steps at which a crash can leave a different state behind.
func (op Op) mutating() bool { return op == OpSave || op == OpRemove }

// Counts is what passed through a Backend.
type Counts struct {
	// Calls passed on to the inner backend, whether they then succeeded or
	// not: the requests a remote store would have seen.
	Save, Load, Stat, List, Remove int
	// Failed is the number of calls failed here by an injected fault.
	Failed int
	// Bytes read from the readers passed to the inner Save, and from the
	// readers the inner Load handed out, including failed attempts.
	BytesSaved, BytesLoaded int64
}

// Backend passes calls on to an inner backend, failing some on purpose.
type Backend struct {
	inner backend.Backend

	mu        sync.Mutex
	stopIn    int  // saves and removes still allowed; < 0: no limit
	stopped   bool // the simulated crash has happened
	failIn    int  // calls to pass before the injected failure; < 0: none
	failOn    func(Op, backend.Handle) error
	corrupt   func(h backend.Handle, offset int64, data []byte)
	counts    Counts
	bytesSent atomic.Int64
	bytesRecv atomic.Int64
}

var _ backend.Backend = (*Backend)(nil)

// New wraps inner with no faults set.
func New(inner backend.Backend) *Backend {
	return &Backend{inner: inner, stopIn: -1, failIn: -1}
}

// StopAfter lets n more saves and removes through and then stops the
// backend, as a crash right after the n-th of them would: from then on every
// call of any kind fails with an error wrapping ErrStopped and none reaches
// the inner backend. Other calls before that go through. n = 0 stops the
// backend at once. A negative n lifts the stop, as if the process had
// restarted.
func (b *Backend) StopAfter(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopIn = n
	b.stopped = n == 0
}

// Stopped reports whether the simulated crash has happened.
func (b *Backend) Stopped() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopped
}

// FailAfter lets n calls of any kind through and fails the next one, once,
// with an error wrapping ErrInjected; later calls go through again. A
// negative n cancels a failure not yet delivered. Calls failed by the FailOn
// hook do not count.
func (b *Backend) FailAfter(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failIn = n
}

// FailOn sets a hook consulted before every call; if it returns an error,
// the call fails with that error (wrapped, naming the object) instead of
// reaching the inner backend. List passes a Handle with only its Type set.
// The hook may call the Backend, and must be safe for concurrent use when
// the Backend is used concurrently. nil removes the hook.
func (b *Backend) FailOn(fn func(op Op, h backend.Handle) error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failOn = fn
}

// CorruptLoad sets a hook that may change the bytes a Load returns: data is
// the loaded range, which starts at offset in the object. The stored object
// stays as it is. The hook must be safe for concurrent use when the Backend
// is used concurrently. nil removes the hook.
//
// To flip bit 0 of byte 10 of an object:
//
//	f.CorruptLoad(func(h backend.Handle, off int64, data []byte) {
//		if i := 10 - off; h == target && i >= 0 && i < int64(len(data)) {
//			data[i] ^= 1
//		}
//	})
func (b *Backend) CorruptLoad(fn func(h backend.Handle, offset int64, data []byte)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.corrupt = fn
}

// Counts returns what has passed through so far.
func (b *Backend) Counts() Counts {
	b.mu.Lock()
	c := b.counts
	b.mu.Unlock()
	c.BytesSaved = b.bytesSent.Load()
	c.BytesLoaded = b.bytesRecv.Load()
	return c
}

// before decides whether a call may reach the inner backend, and counts it.
// The hook runs without the lock so that it may call the Backend.
func (b *Backend) before(op Op, h backend.Handle) error {
	b.mu.Lock()
	stopped, hook := b.stopped, b.failOn
	b.mu.Unlock()
	if stopped {
		return b.failed(op, h, ErrStopped)
	}
	if hook != nil {
		if err := hook(op, h); err != nil {
			return b.failed(op, h, err)
		}
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.stopped: // stopped by another call while the hook ran
		b.counts.Failed++
		return wrap(op, h, ErrStopped)
	case b.failIn == 0:
		b.failIn = -1
		b.counts.Failed++
		return wrap(op, h, ErrInjected)
	case b.failIn > 0:
		b.failIn--
	}
	if op.mutating() && b.stopIn > 0 {
		b.stopIn--
		b.stopped = b.stopIn == 0
	}
	switch op {
	case OpSave:
		b.counts.Save++
	case OpLoad:
		b.counts.Load++
	case OpStat:
		b.counts.Stat++
	case OpList:
		b.counts.List++
	case OpRemove:
		b.counts.Remove++
	}
	return nil
}

func (b *Backend) failed(op Op, h backend.Handle, err error) error {
	b.mu.Lock()
	b.counts.Failed++
	b.mu.Unlock()
	return wrap(op, h, err)
}

func wrap(op Op, h backend.Handle, err error) error {
	if op == OpList {
		return fmt.Errorf("%v %v: %w", op, h.Type, err)
	}
	return fmt.Errorf("%v %v: %w", op, h, err)
}
