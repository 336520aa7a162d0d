package repo

import (
	"cmp"
	"context"
	"fmt"
	"io"

	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
)

// work runs pack jobs until the queue closes.
func (p *packedRestore) work(ctx context.Context) error {
	var scratch []byte // what compressed blobs decompress into
	for job := range p.jobs {
		if err := p.fetch(ctx, job, &scratch); err != nil {
			return err
		}
	}
	return nil
}

// fetch reads the blobs of job, one ranged read per run of blobs whose
// gaps are at most p.gap, and writes them.
func (p *packedRestore) fetch(ctx context.Context, job *packJob, scratch *[]byte) error {
	for blobs := job.blobs; len(blobs) > 0; {
		n := 1
		for n < len(blobs) && blobs[n].loc.Offset-end(blobs[n-1]) <= p.gap {
			n++
		}
		if err := p.fetchRange(ctx, job.pack, blobs[:n], scratch); err != nil {
			return err
		}
		blobs = blobs[n:]
	}
	return nil
}

func end(b blobUse) uint32 { return b.loc.Offset + b.loc.Length }

// fetchRange reads blobs, which follow each other in pack id, in one
// ranged read and writes each. If the read fails, the blobs not yet
// written are read alone, so that the error names the blob and its pack.
func (p *packedRestore) fetchRange(ctx context.Context, id ID, blobs []blobUse, scratch *[]byte) error {
	start := blobs[0].loc.Offset
	h := backend.Handle{Type: backend.PackFile, Name: id.String()}
	done := 0 // blobs written; a retried read skips them
	var writeErr error
	err := p.rs.r.be.Load(ctx, h, int(end(blobs[len(blobs)-1])-start), int64(start), func(rd io.Reader) error {
		var readErr error
		writeErr, readErr = p.readBlobs(ctx, rd, start, blobs, &done, scratch)
		return cmp.Or(writeErr, readErr)
	})
	if err == nil || writeErr != nil || ctx.Err() != nil {
		return err
	}
	for i := done; i < len(blobs); i++ {
		out, err := p.rs.r.LoadBlob(ctx, pack.DataBlob, blobs[i].id, *scratch)
		if err != nil {
			return err
		}
		*scratch = out[:0]
		if err := p.write(ctx, &blobs[i], out); err != nil {
			return err
		}
	}
	return nil
}

// readBlobs reads blobs from rd, which reads their pack from offset start,
// and opens and writes each but the first *done, written by an earlier
// try; *done counts the blobs written. It fails with writeErr if a write
// failed, which ends the restore, or with readErr if a blob could not be
// read or opened, after which the rest are read alone.
func (p *packedRestore) readBlobs(ctx context.Context, rd io.Reader, start uint32, blobs []blobUse, done *int, scratch *[]byte) (writeErr, readErr error) {
	buf := blobBuffers.Get().(*blobBuffer)
	defer blobBuffers.Put(buf)
	pos := start
	for i := range blobs {
		b := &blobs[i]
		if _, err := io.CopyN(io.Discard, rd, int64(b.loc.Offset-pos)); err != nil {
			return nil, err
		}
		buf.sealed = grow(buf.sealed[:0], int(b.loc.Length))
		if _, err := io.ReadFull(rd, buf.sealed); err != nil {
			return nil, err
		}
		pos = end(*b)
		if i < *done {
			continue
		}
		out, err := p.rs.r.openBlobInPlace(pack.Handle{Type: pack.DataBlob, ID: b.id}, b.loc, buf.sealed, scratch)
		if err != nil {
			return nil, err
		}
		if err := p.write(ctx, b, out); err != nil {
			return err, nil
		}
		*done++
	}
	return nil, nil
}

// write writes the content of b to every place it goes and finishes the
// files it completes.
func (p *packedRestore) write(ctx context.Context, b *blobUse, plain []byte) error {
	for _, d := range b.dsts {
		if _, err := d.file.w.WriteAt(plain, d.off); err != nil {
			return fmt.Errorf("%s: %w", d.file.f.entry.Path, err)
		}
		p.rs.bytes.Add(uint64(len(plain)))
		if d.file.left.Add(-1) == 0 {
			if err := p.finish(ctx, d.file); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}
