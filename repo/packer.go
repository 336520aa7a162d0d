package repo

import (
	"bytes"
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

// packer is one open pack being filled in memory.
type packer struct {
	mu  sync.Mutex
	buf *bytes.Buffer
	pw  *pack.Writer
}

// finishedPack is a complete pack waiting to be stored.
type finishedPack struct {
	id    crypto.ID
	typ   pack.BlobType
	blobs []pack.Blob
	buf   *bytes.Buffer
}

var packBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

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
		p.buf = packBuffers.Get().(*bytes.Buffer)
		p.buf.Reset()
		p.pw = pack.NewWriter(p.buf, ps.w.r.key, ps.typ)
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

// finish closes p's pack; p.mu must be held.
func (ps *packerSet) finish(p *packer) *finishedPack {
	id, blobs, err := p.pw.Finalize()
	fp := &finishedPack{id: id, typ: ps.typ, blobs: blobs, buf: p.buf}
	p.pw, p.buf = nil, nil
	if err != nil {
		// Writing to a bytes.Buffer cannot fail and a pack in p is never
		// empty, so this is a bug; store will report it.
		fp.blobs = nil
	}
	return fp
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

// store re-reads the pack's header from memory as a check, saves the pack
// and hands it to the Writer for indexing.
func (ps *packerSet) store(ctx context.Context, fp *finishedPack) error {
	defer packBuffers.Put(fp.buf)
	data := fp.buf.Bytes()
	h := backend.Handle{Type: backend.PackFile, Name: fp.id.String()}
	hdr, err := pack.ReadHeader(bytes.NewReader(data), fp.id, int64(len(data)), ps.w.r.key)
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
	err = ps.w.r.be.Save(ctx, h, backend.NewByteReader(data))
	<-ps.w.uploads
	if err != nil && !errors.Is(err, backend.ErrExists) {
		// ErrExists means a retried save had landed: same name, same bytes.
		return &FileError{File: h, Op: "save", Err: err}
	}
	return ps.w.stored(ctx, index.Pack{ID: fp.id, Type: fp.typ, Blobs: fp.blobs})
}
