package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Defaults for the zero fields of Options. With them a call that keeps
// failing gives up after about half a minute of waiting on average (the
// bounds of the seven waits add up to a minute).
const (
	DefaultMaxAttempts  = 8
	DefaultInitialDelay = 500 * time.Millisecond
	DefaultMaxDelay     = 30 * time.Second
)

// Options tune a Backend. The zero value selects the defaults.
type Options struct {
	// MaxAttempts is how often a call is tried in all, the first attempt
	// included; 1 turns retrying off. Zero or less: DefaultMaxAttempts.
	MaxAttempts int

	// InitialDelay bounds the wait after the first failure; the bound
	// doubles after every further failure, up to MaxDelay, which caps every
	// wait, the first included. Each wait is drawn at random between zero
	// and its bound. Zero or less: DefaultInitialDelay and DefaultMaxDelay,
	// each on its own.
	InitialDelay time.Duration
	MaxDelay     time.Duration

	// Notify, if not nil, is called after each failed attempt that will be
	// retried, before the wait: op is the method ("save", "load", "stat",
	// "list" or "remove"), h the object (only its Type for list), attempt
	// the number of the attempt that failed, from 1. It is meant for
	// logging and must be safe for concurrent use when the Backend is used
	// concurrently.
	Notify func(op string, h backend.Handle, attempt int, err error, wait time.Duration)
}

// Backend is a backend.Backend that retries the calls of an inner one.
type Backend struct {
	be           backend.Backend
	maxAttempts  int
	initialDelay time.Duration
	maxDelay     time.Duration
	notify       func(op string, h backend.Handle, attempt int, err error, wait time.Duration)
}

var _ backend.Backend = (*Backend)(nil)

// New wraps be.
func New(be backend.Backend, opts Options) *Backend {
	b := &Backend{
		be:           be,
		maxAttempts:  opts.MaxAttempts,
		initialDelay: opts.InitialDelay,
		maxDelay:     opts.MaxDelay,
		notify:       opts.Notify,
	}
	if b.maxAttempts <= 0 {
		b.maxAttempts = DefaultMaxAttempts
	}
	if b.initialDelay <= 0 {
		b.initialDelay = DefaultInitialDelay
	}
	if b.maxDelay <= 0 {
		b.maxDelay = DefaultMaxDelay
	}
	return b
}

// Save stores the object, rewinding rd before every retry.
func (b *Backend) Save(ctx context.Context, h backend.Handle, rd backend.RewindReader) error {
	if err := h.Valid(); err != nil {
		return err
	}
	return b.do(ctx, "save", h, func(attempt int) (bool, error) {
		if attempt > 1 {
			if err := rd.Rewind(); err != nil {
				return false, fmt.Errorf("save %v: rewind: %w", h, err)
			}
		}
		var src backend.RewindReader = rd
		var sr *sourceReader
		if _, ok := rd.(*backend.ByteReader); !ok {
			// A ByteReader cannot fail, and hiding it would hide Bytes.
			sr = &sourceReader{RewindReader: rd}
			src = sr
		}
		err := b.be.Save(ctx, h, src)
		switch {
		case err == nil:
			return false, nil
		case attempt > 1 && h.Type != backend.ConfigFile && errors.Is(err, backend.ErrExists):
			// An earlier attempt stored it; same name, same bytes.
			return false, nil
		case sr.failed():
			return false, err
		}
		return transient(err), err
	})
}

// Load calls fn with a reader of the range, again after a failure.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	if err := h.Valid(); err != nil {
		return err
	}
	if length < 0 || offset < 0 {
		return fmt.Errorf("load %v: invalid range %d+%d", h, offset, length)
	}
	return b.do(ctx, "load", h, func(int) (bool, error) {
		var rd *loadReader
		var fnErr error
		err := b.be.Load(ctx, h, length, offset, func(r io.Reader) error {
			rd = &loadReader{rd: r, want: int64(length)}
			fnErr = fn(rd)
			return fnErr
		})
		switch {
		case err == nil:
			return false, nil
		case fnErr != nil && rd.err != nil:
			// fn failed after a read did: whatever it made of the read
			// error, reading again may get past it.
			return !backend.IsPermanent(rd.err) && !backend.IsPermanent(err), err
		case fnErr != nil && errors.Is(err, fnErr):
			return false, err
		case errors.Is(err, io.ErrUnexpectedEOF):
			// Not from a reader fn used: the range is past the object's end.
			return false, err
		}
		return transient(err), err
	})
}

// Stat returns the object's size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := h.Valid(); err != nil {
		return backend.FileInfo{}, err
	}
	var fi backend.FileInfo
	err := b.do(ctx, "stat", h, func(int) (bool, error) {
		var err error
		fi, err = b.be.Stat(ctx, h)
		return transient(err), err
	})
	return fi, err
}

// List calls fn once for every object of type t, also when the listing is
// retried after fn has seen part of it.
//
// To skip on a retry what fn has already seen, List keeps the name of every
// object listed until it returns, some 100 bytes each with its set entry: a
// million packs cost about 100 MB for the duration of the call, little
// beside what a caller keeps per pack.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if !slices.Contains(backend.FileTypes, t) {
		return fmt.Errorf("list: unknown file type %v", t)
	}
	seen := make(map[string]struct{})
	return b.do(ctx, "list", backend.Handle{Type: t}, func(int) (bool, error) {
		var fnErr error
		err := b.be.List(ctx, t, func(fi backend.FileInfo) error {
			if _, ok := seen[fi.Name]; ok {
				return nil
			}
			seen[fi.Name] = struct{}{}
			fnErr = fn(fi)
			return fnErr
		})
		if fnErr != nil && errors.Is(err, fnErr) {
			return false, err
		}
		return transient(err), err
	})
}

// Remove deletes the object.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := h.Valid(); err != nil {
		return err
	}
	return b.do(ctx, "remove", h, func(attempt int) (bool, error) {
		err := b.be.Remove(ctx, h)
		if attempt > 1 && errors.Is(err, backend.ErrNotFound) {
			return false, nil // an earlier attempt removed it
		}
		return transient(err), err
	})
}

// transient reports whether err may go away on retry, judging by the error
// alone. Errors wrapping context.Canceled or DeadlineExceeded count as
// transient here: a backend's own request timeout is worth retrying, and
// do stops anyway once the caller's context is done.
func transient(err error) bool {
	return err != nil &&
		!errors.Is(err, backend.ErrNotFound) &&
		!errors.Is(err, backend.ErrExists) &&
		!backend.IsPermanent(err)
}

// do runs try until it succeeds, fails with an error it reports as not worth
// retrying, the attempts run out or ctx ends.
func (b *Backend) do(ctx context.Context, op string, h backend.Handle, try func(attempt int) (retry bool, err error)) error {
	for attempt := 1; ; attempt++ {
		retry, err := try(attempt)
		if err == nil || !retry {
			return err
		}
		if ctx.Err() != nil {
			return stopped(ctx, err)
		}
		if attempt >= b.maxAttempts {
			if attempt == 1 {
				return err
			}
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		wait := b.backoff(attempt)
		if b.notify != nil {
			b.notify(op, h, attempt, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return stopped(ctx, err)
		case <-t.C:
		}
	}
}

// stopped is the error of a call whose context ended: it wraps the
// context's error, so callers can tell, and the last error, which says what
// went wrong before.
func stopped(ctx context.Context, err error) error {
	if errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("%w; last error: %w", ctx.Err(), err)
}

// backoff returns the wait after the given failed attempt: full jitter, a
// random duration below an exponentially growing bound.
func (b *Backend) backoff(attempt int) time.Duration {
	bound := b.initialDelay
	for range attempt - 1 {
		if bound >= b.maxDelay/2 {
			bound = b.maxDelay
			break
		}
		bound *= 2
	}
	bound = min(bound, b.maxDelay)
	return rand.N(bound)
}

// sourceReader notes whether the reader given to Save failed: an error of
// its own, or fewer or more bytes than its Length. A retry would read the
// same again, so such a Save is not retried.
type sourceReader struct {
	backend.RewindReader
	n   int64
	bad bool
}

func (r *sourceReader) Read(p []byte) (int, error) {
	n, err := r.RewindReader.Read(p)
	r.n += int64(n)
	switch {
	case err != nil && err != io.EOF,
		err == io.EOF && r.n < r.Length(),
		r.n > r.Length():
		r.bad = true
	}
	return n, err
}

// Rewind forgets a failure: the inner backend may retry on its own.
func (r *sourceReader) Rewind() error {
	r.n, r.bad = 0, false
	return r.RewindReader.Rewind()
}

func (r *sourceReader) failed() bool { return r != nil && r.bad }

// loadReader is the reader Load's fn gets. It keeps the first error it hands
// out, so that Load can tell read failures from fn's own errors, and it turns
// a range that ends early into io.ErrUnexpectedEOF, so that a truncated
// transfer is not taken for the whole range.
type loadReader struct {
	rd   io.Reader
	want int64 // the range's length; 0: up to the end, not known here
	n    int64
	err  error // sticky
}

func (r *loadReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.rd.Read(p)
	r.n += int64(n)
	if err == io.EOF && r.n < r.want {
		err = fmt.Errorf("range ended %d bytes early: %w", r.want-r.n, io.ErrUnexpectedEOF)
	}
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
