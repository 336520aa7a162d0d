package repo

import (
	"context"
	"fmt"
	"path"
	"sync"

	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/source"
	"golang.org/x/sync/errgroup"
)

// copyWorkers bounds how many blobs of one directory Copy moves at once.
const copyWorkers = 8

// copier copies snapshots with their trees and blobs.
type copier struct {
	src, dst *Repository
	w        *Writer
	rehash   bool // blob IDs differ: hash every blob anew, rewrite trees
	rep      *CopyReport

	srcByID map[ID]*Snapshot   // every snapshot of src
	copies  map[ID][]*Snapshot // dst's snapshots by originalOf, oldest first

	// trees maps a source tree to its ID in dst, for trees that are in dst
	// with everything below them: stored and confirmed for an earlier
	// snapshot of this copy.
	trees map[ID]ID

	mu      sync.Mutex
	seen    blobSet   // blobs of dst dealt with in this copy
	dataIDs map[ID]ID // rehash only: source data blob to its ID in dst
}

func newCopier(src, dst *Repository, rep *CopyReport) *copier {
	c := &copier{src: src, dst: dst, w: dst.NewWriter(), rep: rep,
		// Equal keyed hashes of one input: equal keys.
		rehash:  src.key.BlobID(nil) != dst.key.BlobID(nil),
		srcByID: make(map[ID]*Snapshot), copies: make(map[ID][]*Snapshot),
		trees: make(map[ID]ID), seen: make(blobSet), dataIDs: make(map[ID]ID)}
	rep.Rehashed = c.rehash
	return c
}

// finish puts the Writer's counts in the report.
func (c *copier) finish() {
	st := c.w.Stats()
	c.rep.BlobsCopied, c.rep.BytesCopied, c.rep.StoredBytes = st.Blobs, st.Bytes, st.StoredBytes
}

// snapCopy is the state of copying one snapshot.
type snapCopy struct {
	trees map[ID]ID // trees copied for this snapshot
	need  blobSet   // blobs of dst the snapshot needs, but for those of c.trees
}

// snapshot copies sn's trees and data, confirms dst has them all and
// stores cp with the new root tree.
func (c *copier) snapshot(ctx context.Context, l *Lock, sn, cp *Snapshot) error {
	s := &snapCopy{trees: make(map[ID]ID), need: make(blobSet)}
	root, err := c.tree(ctx, s, sn.Tree, "/")
	if err != nil {
		return err
	}
	if err := c.w.Flush(ctx); err != nil {
		return err
	}
	for h := range s.need {
		if !c.dst.usable(h) {
			return &BlobError{Blob: h, Err: fmt.Errorf("not in the destination's index after copying: %w", ErrNotFound)}
		}
	}
	for id, nid := range s.trees {
		c.trees[id] = nid
	}
	cp.Tree = root
	if err := validLock(l); err != nil {
		return err
	}
	_, err = c.w.SaveSnapshot(ctx, cp)
	return err
}

// tree copies the tree id of directory dir and everything below it, and
// returns the tree's ID in dst.
func (c *copier) tree(ctx context.Context, s *snapCopy, id ID, dir string) (ID, error) {
	if nid, ok := c.trees[id]; ok {
		return nid, nil
	}
	if nid, ok := s.trees[id]; ok {
		return nid, nil
	}
	raw, err := c.src.LoadBlob(ctx, TreeBlob, id, nil)
	if err != nil {
		return ID{}, fmt.Errorf("directory %s: %w", dir, err)
	}
	t, err := decodeTree(raw)
	if err != nil {
		return ID{}, fmt.Errorf("directory %s: %w", dir, &BlobError{Blob: BlobHandle{Type: TreeBlob, ID: id}, Err: err})
	}
	for i := range t.Nodes {
		if n := &t.Nodes[i]; n.Type == source.TypeDir {
			if n.Subtree, err = c.tree(ctx, s, n.Subtree, path.Join(dir, n.Path)); err != nil {
				return ID{}, err
			}
		}
	}
	if err := c.content(ctx, s, t, dir); err != nil {
		return ID{}, err
	}
	nid := id
	if c.rehash {
		raw = encodeTree(nil, t)
		nid = c.dst.key.BlobID(raw)
	}
	if err := c.store(ctx, s, BlobHandle{Type: TreeBlob, ID: nid}, raw); err != nil {
		return ID{}, fmt.Errorf("directory %s: %w", dir, err)
	}
	s.trees[id] = nid
	return nid, nil
}

// content copies the data blobs of t's files and, when rehashing, puts
// their new IDs in t.
func (c *copier) content(ctx context.Context, s *snapCopy, t *Tree, dir string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(copyWorkers)
	for i := range t.Nodes {
		n := &t.Nodes[i]
		for j, id := range n.Content {
			g.Go(func() error {
				nid, err := c.data(gctx, s, id)
				if err != nil {
					return fmt.Errorf("file %s: %w", path.Join(dir, n.Path), err)
				}
				n.Content[j] = nid // each goroutine its own element
				return nil
			})
		}
	}
	return g.Wait()
}

// data copies the data blob id unless dst has it, and returns its ID in
// dst.
func (c *copier) data(ctx context.Context, s *snapCopy, id ID) (ID, error) {
	nid, known := id, !c.rehash
	if c.rehash {
		c.mu.Lock()
		nid, known = c.dataIDs[id]
		c.mu.Unlock()
	}
	if known && !c.want(s, BlobHandle{Type: DataBlob, ID: nid}) {
		return nid, nil
	}
	data, err := c.src.LoadBlob(ctx, DataBlob, id, nil)
	if err != nil {
		return ID{}, err
	}
	h := BlobHandle{Type: DataBlob, ID: id}
	if !known {
		h.ID = c.dst.key.BlobID(data)
		c.mu.Lock()
		c.dataIDs[id] = h.ID
		c.mu.Unlock()
		if !c.want(s, h) {
			return h.ID, nil
		}
	}
	_, err = c.w.saveBlob(ctx, h, data)
	return h.ID, err
}

// store saves the blob h unless dst has it.
func (c *copier) store(ctx context.Context, s *snapCopy, h BlobHandle, data []byte) error {
	if !c.want(s, h) {
		return nil
	}
	_, err := c.w.saveBlob(ctx, h, data)
	return err
}

// want notes that the snapshot being copied needs h in dst, and reports
// whether h must be stored: it is not in dst and not dealt with before in
// this copy.
func (c *copier) want(s *snapCopy, h BlobHandle) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.need[h] = struct{}{}
	if _, ok := c.seen[h]; ok {
		return false
	}
	c.seen[h] = struct{}{}
	if c.dst.usable(h) {
		c.rep.BlobsPresent++
		return false
	}
	return true
}

// usable reports whether the index has h in a pack that is not condemned,
// one a new snapshot may depend on.
func (r *Repository) usable(h pack.Handle) bool {
	loc, ok := r.idx.Lookup(h)
	return ok && !loc.Condemned
}
