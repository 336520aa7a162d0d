package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/compress"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
	"golang.org/x/sync/errgroup"
)

const (
	// packCheckers bounds how many pack headers a check reads at once.
	packCheckers = 8
	// packReaders bounds how many packs a check holds in memory at once,
	// each whole: about packReaders × Options.PackSize. The blobs of one
	// are verified on every core, so one at a time keeps them busy.
	packReaders = 1
)

// packs compares the packs the index names with the backend: each must
// exist and its header must agree with the index; the chosen ones are
// downloaded and verified whole. Packs that no index names are warned of.
func (c *checker) packs(ctx context.Context, chosen map[ID]bool) error {
	objs, stray, err := listObjects(ctx, c.r.be, backend.PackFile)
	if err != nil {
		return err
	}
	for _, p := range stray {
		c.add(p, harm{})
	}
	sizes := make(map[ID]int64, len(objs))
	for _, o := range objs {
		sizes[o.id] = o.size
	}
	c.rep.Packs = len(c.r.idx.PackIDs())
	c.start("packs", c.rep.Packs)

	seen := make(map[ID]bool, c.rep.Packs)
	readers := make(chan []byte, packReaders)
	for range packReaders {
		readers <- nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(packCheckers)
	for p := range c.r.idx.Packs() {
		if gctx.Err() != nil {
			break
		}
		// A pack that index files list with both blob types comes twice;
		// it is counted, and downloaded, once.
		first := !seen[p.ID]
		seen[p.ID] = true
		size, ok := sizes[p.ID]
		if !ok {
			if first {
				c.missingPack(p)
				c.step(0)
			}
			continue
		}
		g.Go(func() error {
			var n uint64
			var err error
			if first && chosen[p.ID] {
				n, err = c.readPack(gctx, p, size, readers)
			} else {
				err = c.checkHeader(gctx, p, size)
			}
			if err == nil && first {
				c.step(n)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, o := range objs {
		if !seen[o.id] {
			c.add(Problem{Kind: UnreferencedPack, Object: "pack " + o.id.String(),
				Err: &pack.Error{Pack: o.id, Op: "list", Err: errors.New("no index names it: it may belong to " +
					"a backup still running or to one that crashed; prune removes it")}}, harm{})
		}
	}
	return nil
}

// missingPack records that the index names a pack the backend lacks. A
// condemned pack may be gone legitimately: prune deletes condemned packs
// before the index file that condemns them.
func (c *checker) missingPack(p index.Pack) {
	err := &pack.Error{Pack: p.ID, Op: "list",
		Err: fmt.Errorf("the index names it, the backend does not hold it: %w", ErrNotFound)}
	c.add(Problem{Kind: MissingPack, Object: "pack " + p.ID.String(), Err: err},
		harm{pack: p.ID, onlyIfHarmful: p.Condemned})
}

// checkHeader reads a pack's header and compares it with the index.
func (c *checker) checkHeader(ctx context.Context, p index.Pack, size int64) error {
	h := backend.Handle{Type: backend.PackFile, Name: p.ID.String()}
	hdr, err := pack.ReadHeader(&readerAt{ctx: ctx, be: c.r.be, h: h}, p.ID, size, c.r.key)
	if err != nil {
		if !isDamage(err) {
			return err
		}
		c.add(Problem{Kind: UnreadablePack, Object: "pack " + p.ID.String(), Err: err},
			harm{pack: p.ID})
		return nil
	}
	c.compare(p, hdr)
	return nil
}

// compare reports the index entries of a pack that its header does not
// confirm. The header may list more blobs than the index: an index entry
// may name only some of a pack's blobs.
func (c *checker) compare(p index.Pack, hdr *pack.Header) {
	var bad []BlobHandle
	var first string
	if hdr.Type != p.Type {
		for _, b := range p.Blobs {
			bad = append(bad, BlobHandle{Type: p.Type, ID: b.ID})
		}
		first = fmt.Sprintf("the index lists %s blobs, the header holds %s blobs", p.Type, hdr.Type)
	} else {
		at := make(map[ID]pack.Blob, len(hdr.Blobs))
		for _, b := range hdr.Blobs {
			at[b.ID] = b
		}
		for _, b := range p.Blobs {
			hb, ok := at[b.ID]
			if ok && hb == b {
				continue
			}
			h := BlobHandle{Type: p.Type, ID: b.ID}
			bad = append(bad, h)
			switch {
			case first != "":
			case !ok:
				first = h.String() + " is not in the header"
			default:
				first = fmt.Sprintf("%s: the index says offset %d, length %d, raw length %d; the header %d, %d, %d",
					h, b.Offset, b.Length, b.RawLength, hb.Offset, hb.Length, hb.RawLength)
			}
		}
	}
	if len(bad) == 0 {
		return
	}
	err := &pack.Error{Pack: p.ID, Op: "compare with index", Err: fmt.Errorf(
		"%d of the index's %d entries disagree with the header, first %s: %w", len(bad), len(p.Blobs), first, ErrCorrupt)}
	c.add(Problem{Kind: PackHeaderMismatch, Object: "pack " + p.ID.String(), Err: err}, harm{blobs: bad})
}

// readPack downloads a pack of the listed size whole, into one of the
// buffers readers hands out, and verifies its name, its header and every
// blob in it, and returns its size. Only blobs that fail harm snapshots:
// each is verified on its own, so a damaged header or name condemns
// nothing that can still be read.
func (c *checker) readPack(ctx context.Context, p index.Pack, size int64, readers chan []byte) (uint64, error) {
	var data []byte
	select {
	case data = <-readers:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { readers <- data[:0] }()
	h := backend.Handle{Type: backend.PackFile, Name: p.ID.String()}
	data, err := loadInto(ctx, c.r.be, h, data, size)
	if err != nil {
		err = &pack.Error{Pack: p.ID, Op: "load", Err: err}
		if !isDamage(err) {
			return 0, err
		}
		kind := UnreadablePack
		if errors.Is(err, ErrNotFound) {
			kind = MissingPack
		}
		c.add(Problem{Kind: kind, Object: "pack " + p.ID.String(), Err: err}, harm{pack: p.ID})
		return 0, nil
	}
	c.mu.Lock()
	c.rep.PacksRead++
	c.mu.Unlock()

	t, blobs := p.Type, p.Blobs
	hdr, err := pack.ReadHeader(bytes.NewReader(data), p.ID, int64(len(data)), c.r.key)
	if err != nil {
		c.add(Problem{Kind: UnreadablePack, Object: "pack " + p.ID.String(), Err: err}, harm{})
	} else {
		c.compare(p, hdr)
		t, blobs = hdr.Type, hdr.Blobs
	}
	// The name is checked first: verifying decrypts the blobs in place.
	nameErr := pack.CheckName(bytes.NewReader(data), p.ID)
	bad := c.verifyBlobs(data, p.ID, t, blobs, err == nil)
	if nameErr != nil {
		c.add(Problem{Kind: CorruptPack, Object: "pack " + p.ID.String(), Err: nameErr}, harm{blobs: bad})
	}
	return uint64(len(data)), nil
}

// verifyBlobs verifies the blobs of a pack held whole in data, on every
// core, records each failure, and returns the failed blobs that reads use.
// Blobs from the pack's own header never overlap, so they are decrypted in
// place; those from the index, used when the header is unreadable, are
// copied first.
func (c *checker) verifyBlobs(data []byte, packID ID, t BlobType, blobs []pack.Blob, fromHeader bool) []BlobHandle {
	var (
		mu   sync.Mutex
		bad  []BlobHandle
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(blobs)) {
		wg.Go(func() {
			buf := blobScratches.Get().(*blobScratch)
			defer blobScratches.Put(buf)
			for i := next.Add(1) - 1; i < int64(len(blobs)); i = next.Add(1) - 1 {
				b := blobs[i]
				err := c.r.verifyBlob(buf, data, packID, t, b, fromHeader)
				if err == nil {
					continue
				}
				bh := BlobHandle{Type: t, ID: b.ID}
				var harmed []BlobHandle
				if loc, ok := c.r.idx.Lookup(bh); ok && loc.Pack == packID {
					harmed = []BlobHandle{bh} // what reads use; a copy elsewhere is unharmed
					mu.Lock()
					bad = append(bad, bh)
					mu.Unlock()
				}
				c.add(Problem{Kind: CorruptBlob, Object: bh.String(), Err: err}, harm{blobs: harmed})
			}
		})
	}
	wg.Wait()
	return bad
}

var blobScratches = sync.Pool{New: func() any { return new(blobScratch) }}

// loadInto reads the object h, expected to be size bytes long, into buf,
// grown if need be, and returns it. Reading a known size into a reused
// buffer spares the garbage of growing one to each pack's size.
func loadInto(ctx context.Context, be backend.Backend, h backend.Handle, buf []byte, size int64) ([]byte, error) {
	err := be.Load(ctx, h, 0, 0, func(rd io.Reader) error {
		b := bytes.NewBuffer(slices.Grow(buf[:0], int(size)+bytes.MinRead))
		_, err := b.ReadFrom(rd)
		buf = b.Bytes()
		return err
	})
	return buf, err
}

// blobScratch holds the buffers for verifying blobs one after another.
type blobScratch struct{ sealed, raw []byte }

// verifyBlob opens blob b of a pack held whole in data, as LoadBlob does: it
// authenticates, decompresses and checks the length and the ID hash. With
// inPlace it decrypts in data, overwriting the blob's bytes there.
func (r *Repository) verifyBlob(buf *blobScratch, data []byte, packID ID, t BlobType, b pack.Blob, inPlace bool) error {
	h := BlobHandle{Type: t, ID: b.ID}
	fail := func(err error) error { return &BlobError{Blob: h, Pack: packID, Err: err} }
	end := uint64(b.Offset) + uint64(b.Length)
	if end > uint64(len(data)) {
		return fail(fmt.Errorf("ends at byte %d of a pack of %d: %w", end, len(data), ErrCorrupt))
	}
	sealed := data[b.Offset:end]
	if !inPlace {
		buf.sealed = append(buf.sealed[:0], sealed...)
		sealed = buf.sealed
	}
	plain, err := pack.OpenBlobInPlace(r.key, h, sealed)
	if err != nil {
		return fail(err)
	}
	if buf.raw, err = compress.Decode(buf.raw[:0], plain, int(b.RawLength)); err != nil {
		return fail(fmt.Errorf("%w: %w", err, ErrCorrupt))
	}
	if len(buf.raw) != int(b.RawLength) {
		return fail(fmt.Errorf("%d bytes, the header says %d: %w", len(buf.raw), b.RawLength, ErrCorrupt))
	}
	if got := r.key.BlobID(buf.raw); got != b.ID {
		return fail(fmt.Errorf("content hashes to %s: %w", got.Short(), ErrCorrupt))
	}
	return nil
}
