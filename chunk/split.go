package chunk

import (
	"context"
	"errors"
	"io"
	"runtime"
	"slices"

	"github.com/restic/chunker"
	"golang.org/x/sync/errgroup"
)

// DefaultSegment is how much input a Splitter worker cuts at once, unless
// twice Max is more.
const DefaultSegment = 16 << 20

// SplitOptions tune a Splitter. The zero value works.
type SplitOptions struct {
	Workers int // goroutines cutting ahead; default GOMAXPROCS
	Segment int // bytes per segment; default DefaultSegment, at least 2 × Max
}

// Splitter finds the chunks of random-access input on several cores:
// exactly the chunks a Chunker cuts the same bytes into.
//
// Where a chunk ends depends only on the bytes from where it starts: after
// a cut the Rabin state is that of a fresh chunker (restic/chunker resets
// window, digest and Min skip). So the input is split into segments, and
// each worker cuts its segment as if a chunk started at the segment's
// first byte, on into the next segment up to its first cut there. Those
// speculative cuts are wrong until the true cuts, coming from the segment
// before, meet one of them; from there on they are the true cuts. The
// merge, in input order, cuts sequentially from the last true cut until it
// lands on a speculative cut or leaves the segment. On random data the two
// meet within a chunk or two; on data whose cuts never meet (periodic
// content) the merge is as slow as a Chunker, never wrong.
//
// Workers read through small buffers and keep only the cuts, so a Split
// takes about (Workers+1) × 512 KiB whatever the input size; it cuts at
// most 2 × Workers segments ahead of the chunks it has reported.
type Splitter struct {
	pol     chunker.Pol
	params  Params
	workers int
	segment int
}

// NewSplitter returns a Splitter for the polynomial pol and limits p.
func NewSplitter(pol uint64, p Params, o SplitOptions) (*Splitter, error) {
	p, err := checked(pol, p)
	if err != nil {
		return nil, err
	}
	s := &Splitter{pol: chunker.Pol(pol), params: p, workers: o.Workers, segment: o.Segment}
	if s.workers <= 0 {
		s.workers = runtime.GOMAXPROCS(0)
	}
	if s.segment <= 0 {
		s.segment = DefaultSegment
	}
	s.segment = max(s.segment, 2*int(s.params.Max))
	return s, nil
}

// Segment returns the bytes each worker cuts at once. Input shorter than
// two segments gains little from a Splitter.
func (s *Splitter) Segment() int { return s.segment }

// Split calls fn with the offset and length of each chunk of the first
// size bytes of ra, in order, as soon as the chunk is known, and returns
// the bytes cut. fn runs on another goroutine than the caller's, one call
// at a time. Cutting reads each byte about once; fn reads the chunk again
// if it needs the bytes, most likely from the page cache.
//
// If ra ends before size (the file shrank), Split cuts what there was as
// a Chunker cuts a stream that ends there. A read error other than io.EOF,
// or an error from fn, ends Split with it.
func (s *Splitter) Split(ctx context.Context, ra io.ReaderAt, size int64, fn func(off int64, n int) error) (int64, error) {
	g, gctx := errgroup.WithContext(ctx)
	order := make(chan *segment, 2*s.workers) // to the merge, in input order
	work := make(chan *segment)               // to the workers
	g.Go(func() error { return s.plan(gctx, size, order, work) })
	for range s.workers {
		g.Go(func() error { return s.scanAll(gctx, s.newScanner(ra, size), work) })
	}
	var n int64
	g.Go(func() error {
		var err error
		n, err = s.mergeAll(gctx, s.newScanner(ra, size), order, fn)
		return err
	})
	err := g.Wait()
	if errors.Is(err, errEnded) {
		err = nil
	}
	if err == nil {
		err = ctx.Err()
	}
	return n, err
}

// errEnded stops the group once the merge is through.
var errEnded = errors.New("chunk: input ended")

// segment is a stretch of input and its speculative cuts.
type segment struct {
	off, end int64
	cuts     []int64 // chunk ends from off on, up to the first at or past end
	lim      int64   // where the input ended, as far as the worker saw
	done     chan struct{}
}

// plan hands out the segments, first to the merge, so that the merge's
// queue bounds how far the workers get ahead.
func (s *Splitter) plan(ctx context.Context, size int64, order, work chan<- *segment) error {
	defer close(work)
	defer close(order)
	for off := int64(0); off < size; off += int64(s.segment) {
		g := &segment{off: off, end: min(off+int64(s.segment), size), done: make(chan struct{})}
		for _, ch := range []chan<- *segment{order, work} {
			select {
			case ch <- g:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// scanAll finds the speculative cuts of segments until the queue closes.
func (s *Splitter) scanAll(ctx context.Context, sc *scanner, work <-chan *segment) error {
	for g := range work {
		if err := ctx.Err(); err != nil {
			return err
		}
		resetBase(&sc.bc, s.pol, s.params)
		for p := g.off; p < g.end; {
			c, err := sc.next(p)
			if err != nil {
				return err
			}
			if c == p {
				break // the input ended
			}
			g.cuts = append(g.cuts, c)
			p = c
		}
		g.lim = sc.lim
		close(g.done)
	}
	return nil
}

// mergeAll reports the true chunks segment by segment and returns the bytes
// cut.
func (s *Splitter) mergeAll(ctx context.Context, sc *scanner, order <-chan *segment, fn func(int64, int) error) (int64, error) {
	var p int64 // the last true cut
	for g := range order {
		select {
		case <-g.done:
		case <-ctx.Done():
			return p, ctx.Err()
		}
		var err error
		p, err = s.merge(g, sc, p, fn)
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// merge reports the true chunks that start in g, given the true cut p at
// or after g's start, and returns the next true cut, at or past g's end.
// It returns errEnded where the input ended.
func (s *Splitter) merge(g *segment, sc *scanner, p int64, fn func(int64, int) error) (int64, error) {
	resetBase(&sc.bc, s.pol, s.params) // and fresh again after every cut
	for p < g.end {
		i, met := slices.BinarySearch(g.cuts, p)
		if met || p == g.off {
			// From a shared cut on, the speculative cuts are the true ones.
			if met {
				i++
			}
			for _, c := range g.cuts[i:] {
				if err := fn(p, int(c-p)); err != nil {
					return p, err
				}
				p = c
			}
			if p >= g.lim {
				return p, errEnded
			}
			return p, nil
		}
		c, err := sc.next(p)
		if err != nil {
			return p, err
		}
		if c == p {
			return p, errEnded
		}
		if err := fn(p, int(c-p)); err != nil {
			return p, err
		}
		p = c
	}
	return p, nil
}

// scanner cuts input it reads at any offset through a small buffer.
type scanner struct {
	ra   io.ReaderAt
	lim  int64 // where the input ends: size, or less once a read came up short
	buf  []byte
	boff int64 // the offset of buf
	bc   chunker.BaseChunker
}

func (s *Splitter) newScanner(ra io.ReaderAt, size int64) *scanner {
	return &scanner{ra: ra, lim: size, buf: make([]byte, 0, readSize)}
}

// next returns where the chunk that starts at from ends, bc being fresh
// there; from itself if the input ends there.
func (sc *scanner) next(from int64) (int64, error) {
	pos := from
	for pos < sc.lim {
		if pos < sc.boff || pos >= sc.boff+int64(len(sc.buf)) {
			if err := sc.read(pos); err != nil {
				return 0, err
			}
			continue
		}
		b := sc.buf[pos-sc.boff:]
		if split := sc.bc.NextSplitPoint(b); split >= 0 {
			return pos + int64(split), nil
		}
		pos += int64(len(b))
	}
	return pos, nil
}

// read fills the buffer from offset at. A short read lowers lim to what
// was there.
func (sc *scanner) read(at int64) error {
	want := int(min(int64(cap(sc.buf)), sc.lim-at))
	n, err := sc.ra.ReadAt(sc.buf[:want], at)
	sc.buf, sc.boff = sc.buf[:n], at
	if n < want {
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		sc.lim = at + int64(n)
	}
	return nil
}
