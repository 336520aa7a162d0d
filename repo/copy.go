package repo

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// CopyOptions tune Copy. The zero value works.
type CopyOptions struct {
	// Progress, if set, is told of each snapshot when it is copied or
	// found in the destination already. It is called from one goroutine
	// at a time.
	Progress func(CopiedSnapshot)
}

// CopiedSnapshot is what Copy did with one snapshot.
type CopiedSnapshot struct {
	Source ID // the snapshot in the source repository
	// Copy is the snapshot in the destination: the one stored, or the one
	// found there already.
	Copy    ID
	Skipped bool // the destination had it already
}

// CopyReport says what Copy did.
type CopyReport struct {
	Snapshots       []CopiedSnapshot // oldest first
	Copied, Skipped int
	// Blobs stored in the destination, their content bytes, and the same
	// compressed and encrypted.
	BlobsCopied, BytesCopied, StoredBytes uint64
	// BlobsPresent counts the blobs the copied snapshots need that the
	// destination had before.
	BlobsPresent uint64
	// Rehashed says the repositories' blob-ID keys differ: every blob was
	// read and given its destination ID, and every tree written anew.
	Rehashed bool
}

// Copy copies snapshots of r into dst, an offsite replica for instance:
// those named by ids, or, with none, every snapshot of r that dst does not
// have yet, oldest first. It returns what it did, also with an error; the
// snapshots copied before the error stay in dst.
//
// A snapshot of dst is taken for a copy of one of r when both go back to
// the same original (Snapshot.Original, or the snapshot's own ID if it is
// not a copy) and have the same time, host, user, paths and tags, and,
// when the two share their blob-ID key, the same tree. A snapshot whose
// tags changed since it was copied is therefore copied again.
//
// Only the blobs dst lacks are stored; each blob read from r is verified
// against its ID (see LoadBlob), and a snapshot is stored only once every
// blob it needs is in dst's index. The copy keeps the snapshot's metadata
// and records its original; its Parent names the copy of the parent in
// dst, if there is one.
//
// When dst shares r's blob-ID key (made with InitOptions.ChunkerFrom, or
// the other way round) a blob keeps its ID, and those dst has are not even
// read. Otherwise every blob of the snapshots is read from r and hashed
// with dst's key, and the trees are rewritten with the new IDs. File
// content stays byte for byte what it was, in r's chunks: they are not cut
// anew, so they deduplicate with dst's own backups of the same files only
// by chance.
//
// Copy holds a shared lock on both repositories, and once it has them reads
// the index files stored since each was opened. Memory grows with the
// number of distinct blobs copied, as for prune (see blobSet).
func (r *Repository) Copy(ctx context.Context, dst *Repository, ids []ID, opts CopyOptions) (rep *CopyReport, err error) {
	if r.cfg.ID == dst.cfg.ID {
		return nil, errors.New("copy: source and destination are the same repository")
	}
	rep = &CopyReport{}
	err = r.withLock(ctx, "copy", false, func(ctx context.Context, _ *Lock) error {
		return dst.withLock(ctx, "copy", false, func(ctx context.Context, l *Lock) error {
			if err := r.refreshIndex(ctx); err != nil {
				return err
			}
			if err := dst.refreshIndex(ctx); err != nil {
				return err
			}
			return r.copyTo(ctx, dst, l, ids, opts, rep)
		})
	})
	if err != nil {
		return rep, fmt.Errorf("copy: %w", err)
	}
	return rep, nil
}

func (r *Repository) copyTo(ctx context.Context, dst *Repository, l *Lock, ids []ID, opts CopyOptions, rep *CopyReport) error {
	all, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	todo, err := selectSnapshots(all, ids)
	if err != nil {
		return err
	}
	there, err := dst.Snapshots(ctx)
	if err != nil {
		return err
	}
	c := newCopier(r, dst, rep)
	defer c.finish()
	for _, sn := range all {
		c.srcByID[sn.ID] = sn
	}
	for _, sn := range there {
		c.copies[originalOf(sn)] = append(c.copies[originalOf(sn)], sn)
	}
	for _, sn := range todo {
		done := CopiedSnapshot{Source: sn.ID}
		if cp := c.find(sn); cp != nil {
			done.Copy, done.Skipped = cp.ID, true
			rep.Skipped++
		} else {
			cp := c.record(sn)
			if err := c.snapshot(ctx, l, sn, cp); err != nil {
				return fmt.Errorf("snapshot %s: %w", sn.ID.Short(), err)
			}
			c.copies[*cp.Original] = append(c.copies[*cp.Original], cp)
			done.Copy = cp.ID
			rep.Copied++
		}
		rep.Snapshots = append(rep.Snapshots, done)
		if opts.Progress != nil {
			opts.Progress(done)
		}
	}
	return nil
}

// selectSnapshots returns the snapshots of all named by ids, oldest first
// as all is, or all of them for none.
func selectSnapshots(all []*Snapshot, ids []ID) ([]*Snapshot, error) {
	if len(ids) == 0 {
		return all, nil
	}
	want := make(map[ID]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var out []*Snapshot
	for _, sn := range all {
		if want[sn.ID] {
			out = append(out, sn)
			delete(want, sn.ID)
		}
	}
	for _, id := range ids {
		if want[id] {
			return nil, fmt.Errorf("snapshot %s: %w", id.Short(), ErrNotFound)
		}
	}
	return out, nil
}

// originalOf returns the ID of the snapshot a backup stored that sn is or
// copies.
func originalOf(sn *Snapshot) ID {
	if sn.Original != nil {
		return *sn.Original
	}
	return sn.ID
}

// find returns the snapshot of dst that copies sn, or nil: one of the same
// original with the same time, host, user, paths and tags, and the same
// tree unless blob IDs differ.
func (c *copier) find(sn *Snapshot) *Snapshot {
	for _, o := range c.copies[originalOf(sn)] {
		if o.Time.Equal(sn.Time) && o.Host == sn.Host && o.Username == sn.Username &&
			slices.Equal(o.Paths, sn.Paths) && slices.Equal(o.Tags, sn.Tags) &&
			(c.rehash || o.Tree == sn.Tree) {
			return o
		}
	}
	return nil
}

// record returns the copy of sn to store, all but its tree: its parent is
// the latest copy in dst of sn's parent, if any.
func (c *copier) record(sn *Snapshot) *Snapshot {
	cp := *sn
	cp.ID = ID{}
	orig := originalOf(sn)
	cp.Original = &orig
	cp.Parent = nil
	if sn.Parent != nil {
		parentOrig := *sn.Parent
		if p, ok := c.srcByID[*sn.Parent]; ok {
			parentOrig = originalOf(p)
		}
		if copies := c.copies[parentOrig]; len(copies) > 0 {
			id := copies[len(copies)-1].ID
			cp.Parent = &id
		}
	}
	return &cp
}
