package backendtest

import (
	"context"

	"github.com/cairnbackup/cairn/repo/backend"
)

// The readers below are RewindReaders that misbehave in one way each. They
// hide ByteReader's Bytes method, so a backend cannot take a shortcut past
// the failure, and they fail again after every Rewind, so a backend that
// retries cannot succeed either.

// failingReader yields good bytes, then fails with err after n of them.
type failingReader struct {
	data []byte
	n    int
	pos  int
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.pos >= r.n {
		return 0, r.err
	}
	k := copy(p, r.data[r.pos:r.n])
	r.pos += k
	return k, nil
}

func (r *failingReader) Length() int64 { return int64(len(r.data)) }
func (r *failingReader) Rewind() error { r.pos = 0; return nil }

// shortReader claims Length bytes but ends with io.EOF before that: the
// object it would store is truncated, so the save must fail.
type shortReader struct {
	*backend.ByteReader
	claimed int64
}

func (r shortReader) Length() int64 { return r.claimed }

// cancellingReader cancels a context on its first Read and then keeps
// yielding good bytes, as if the cancellation came from elsewhere while the
// save was under way.
type cancellingReader struct {
	rd     *backend.ByteReader
	cancel context.CancelFunc
}

func (r cancellingReader) Read(p []byte) (int, error) {
	r.cancel()
	// Small reads keep the backend busy for many calls after the cancel.
	if len(p) > 4096 {
		p = p[:4096]
	}
	return r.rd.Read(p)
}

func (r cancellingReader) Length() int64 { return r.rd.Length() }
func (r cancellingReader) Rewind() error { return r.rd.Rewind() }

var (
	_ backend.RewindReader = (*failingReader)(nil)
	_ backend.RewindReader = shortReader{}
	_ backend.RewindReader = cancellingReader{}
)
