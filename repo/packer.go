package repo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
	"golang.org/x/sync/errgroup"
)

// packerSet is a Writer's open packs for one blob type. Each blob goes to
// one of them at random, so neither the order nor the sizes of consecutive
// chunks show in the packs (see DESIGN.md on chunk-size fingerprinting).
type packerSet struct {
	w      *Writer
	typ    pack.BlobType
	open   []*packer
	target int
}

// packer is one open pack being filled.
type packer struct {
	mu  sync.Mutex
	out *packOut
	pw  *pack.Writer
}

// finishedPack is a complete pack waiting to be stored.
type finishedPack struct {
	id    crypto.ID
	typ   pack.BlobType
	blobs []pack.Blob
	out   *packOut
	err   error // finishing failed
}

func newPackerSet(w *Writer, t pack.BlobType, n int) *packerSet {
	ps := &packerSet{w: w, typ: t, target: w.r.opts.PackSize}
	for range n {
		ps.open = append(ps.open, &packer{})
	}
	return ps
}

// add appends a sealed blob to a random open pack and stores the pack if it
// is full. A pack stays under the target size unless a single blob is larger.
func (ps *packerSet) add(ctx context.Context, id crypto.ID, rawLength uint32, sealed []byte) error {
	p := ps.open[rand.IntN(len(ps.open))]
	var full []*finishedPack
	p.mu.Lock()
	if p.pw != nil && p.pw.Size()+int64(len(sealed)) > int64(ps.target) {
		full = append(full, ps.finish(p))
	}
	if p.pw == nil {
		p.out = newPackOut(ps.w.r.be, ps.target)
		p.pw = pack.NewWriter(p.out, ps.w.r.key, ps.typ)
	}
	err := p.pw.Add(id, rawLength, sealed)
	if err == nil && p.pw.Size() >= int64(ps.target) {
		full = append(full, ps.finish(p))
	}
	p.mu.Unlock()
	for _, fp := range full {
		if serr := ps.store(ctx, fp); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	return err
}

// finish closes p's pack; p.mu must be held. An error (a spool file that
// could not be written) is left for store to report.
func (ps *packerSet) finish(p *packer) *finishedPack {
	id, blobs, err := p.pw.Finalize()
	fp := &finishedPack{id: id, typ: ps.typ, blobs: blobs, out: p.out}
	p.pw, p.out = nil, nil
	fp.err = errors.Join(err, fp.out.close())
	return fp
}

// discard drops the open packs, unstored.
func (ps *packerSet) discard() {
	for _, p := range ps.open {
		p.mu.Lock()
		if p.out != nil {
			p.out.release()
		}
		p.pw, p.out = nil, nil
		p.mu.Unlock()
	}
}

// flush stores every open pack, in parallel.
func (ps *packerSet) flush(ctx context.Context) error {
	var full []*finishedPack
	for _, p := range ps.open {
		p.mu.Lock()
		if p.pw != nil {
			full = append(full, ps.finish(p))
		}
		p.mu.Unlock()
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, fp := range full {
		g.Go(func() error { return ps.store(gctx, fp) })
	}
	return g.Wait()
}

// store re-reads the pack's header as a check, saves the pack and hands
// it to the Writer for indexing.
func (ps *packerSet) store(ctx context.Context, fp *finishedPack) error {
	defer fp.out.release()
	h := backend.Handle{Type: backend.PackFile, Name: fp.id.String()}
	if fp.err != nil {
		return &FileError{File: h, Op: "write", Err: fp.err}
	}
	hdr, err := pack.ReadHeader(fp.out, fp.id, fp.out.Size(), ps.w.r.key)
	if err == nil && (hdr.Type != fp.typ || len(hdr.Blobs) != len(fp.blobs)) {
		err = fmt.Errorf("header does not match the blobs written")
	}
	if err != nil {
		return &FileError{File: h, Op: "verify before save", Err: err}
	}
	select {
	case ps.w.uploads <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	err = fp.out.save(ctx, ps.w.r.be, h)
	<-ps.w.uploads
	if err != nil && !errors.Is(err, backend.ErrExists) {
		// ErrExists means a retried save had landed: same name, same bytes.
		return &FileError{File: h, Op: "save", Err: err}
	}
	return ps.w.stored(ctx, index.Pack{ID: fp.id, Type: fp.typ, Blobs: fp.blobs})
}
