package repo

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/source"
)

// walk restores the entries of tree t, found at path dir, depth first in
// name order.
func (rs *restorer) walk(ctx context.Context, t *Tree, dir string, parallel bool) error {
	rs.aheadOf(t, dir)
	for i := range t.Nodes {
		n := &t.Nodes[i]
		p := joinPath(dir, n.Path)
		if err := source.ValidPath(p); err != nil {
			return fmt.Errorf("snapshot entry: %w: %w", err, ErrCorrupt)
		}
		if rs.exclude.Match(p) {
			continue
		}
		if n.Type == source.TypeDir {
			if err := rs.dir(ctx, n, p, parallel); err != nil {
				return err
			}
			continue
		}
		if !rs.include.Empty() && !rs.include.Match(p) {
			continue
		}
		if err := rs.entry(ctx, n, p, parallel); err != nil {
			return err
		}
	}
	return nil
}

func (rs *restorer) dir(ctx context.Context, n *Node, p string, parallel bool) error {
	if !rs.include.Empty() && !rs.include.MayMatchInside(p) {
		return nil
	}
	sub, err := rs.trees.tree(ctx, n.Subtree)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	e := n.Entry
	e.Path = p
	// A directory that only leads to included entries is made once
	// something in it is.
	depth := len(rs.pending)
	rs.pending = append(rs.pending, e)
	if rs.include.Empty() || rs.include.Match(p) {
		if err := rs.makeDirs(ctx); err != nil {
			return err
		}
	}
	if err := rs.walk(ctx, sub, p, parallel); err != nil {
		return err
	}
	rs.pending = rs.pending[:min(depth, len(rs.pending))]
	return nil
}

// aheadOf starts loading the subtrees of t, found at dir, that the walk
// will enter.
func (rs *restorer) aheadOf(t *Tree, dir string) {
	var ids []ID
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Type != source.TypeDir {
			continue
		}
		p := joinPath(dir, n.Path)
		if rs.exclude.Match(p) || !rs.include.Empty() && !rs.include.MayMatchInside(p) {
			continue
		}
		ids = append(ids, n.Subtree)
	}
	rs.trees.start(ids)
}

// makeDirs puts the directories leading to the entry about to be put.
func (rs *restorer) makeDirs(ctx context.Context) error {
	for i := range rs.pending {
		if err := rs.put(ctx, &rs.pending[i], nil); err != nil {
			return err
		}
		rs.dirs.Add(1)
	}
	rs.pending = rs.pending[:0]
	return nil
}

// entry restores one non-directory.
func (rs *restorer) entry(ctx context.Context, n *Node, p string, parallel bool) error {
	e := n.Entry
	e.Path = p
	rs.current.Store(&e.Path)
	if err := rs.makeDirs(ctx); err != nil {
		return err
	}
	if e.Type != source.TypeFile {
		rs.other.Add(1)
		return rs.put(ctx, &e, nil)
	}
	content := n.Content
	if first, ok := rs.moved[p]; ok {
		e.Hardlink = first // an earlier link to this file holds its content
	} else if e.Hardlink != "" {
		link, restored := rs.relative(e.Hardlink)
		if restored && before(link, p) {
			e.Hardlink = link
		} else {
			t, err := rs.linkContent(ctx, e.Hardlink, p)
			if err != nil {
				return err
			}
			content, e.Hardlink, e.Size, e.Sparse = t.Content, "", t.Size, t.Sparse
		}
	}
	if e.Hardlink != "" {
		rs.links = append(rs.links, e)
		return nil
	}
	f := fileRestore{entry: e, content: content}
	if rs.packed != nil {
		return rs.packed.add(ctx, f)
	}
	if !parallel {
		return rs.restoreFile(ctx, f)
	}
	select {
	case rs.files <- f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// relative turns a hard link target (relative to the snapshot root) into a
// path relative to the restore, and reports whether that path is restored.
func (rs *restorer) relative(target string) (string, bool) {
	if rs.base != "." {
		rest, ok := strings.CutPrefix(target, rs.base+"/")
		if !ok {
			return "", false
		}
		target = rest
	}
	sel := !rs.exclude.Match(target) && (rs.include.Empty() || rs.include.Match(target))
	return target, sel
}

// linkContent finds the content of hard link target, which is not restored
// before p, so p gets a copy; a later restore of target links to p.
func (rs *restorer) linkContent(ctx context.Context, target, p string) (*Node, error) {
	n, err := rs.r.lookup(ctx, rs.root, target)
	if err != nil {
		return nil, fmt.Errorf("%s: hard link target: %w", p, err)
	}
	if n.Type != source.TypeFile || n.Hardlink != "" {
		return nil, fmt.Errorf("%s: hard link target %s is not a file: %w", p, target, ErrCorrupt)
	}
	if rel, ok := rs.relative(target); ok {
		rs.moved[rel] = p
	}
	return n, nil
}

// before reports whether a comes before b in restore order.
func before(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := range min(len(as), len(bs)) {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

func joinPath(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

func (rs *restorer) put(ctx context.Context, e *source.Entry, content io.Reader) error {
	if err := rs.t.Put(ctx, e, content); err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	return nil
}

// restoreFiles restores queued files until the queue closes.
func (rs *restorer) restoreFiles(ctx context.Context) error {
	for f := range rs.files {
		if err := rs.restoreFile(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

func (rs *restorer) restoreFile(ctx context.Context, f fileRestore) error {
	rs.current.Store(&f.entry.Path)
	cr := newContentReader(ctx, f.content, rs.window.load)
	err := rs.put(ctx, &f.entry, &countReader{r: cr, n: &rs.bytes})
	cr.Close()
	if err != nil {
		return err
	}
	rs.filesDone.Add(1)
	if rs.opts.Verify {
		return rs.verify(ctx, f)
	}
	return nil
}

// verify reads a restored file back and checks every blob's ID.
func (rs *restorer) verify(ctx context.Context, f fileRestore) error {
	rc, err := rs.t.(source.ReadBacker).ReadBack(ctx, f.entry.Path)
	if err != nil {
		return fmt.Errorf("verify %s: %w", f.entry.Path, err)
	}
	defer rc.Close()
	var buf []byte
	var off int64
	for _, id := range f.content {
		loc, ok := rs.r.idx.Lookup(pack.Handle{Type: pack.DataBlob, ID: id})
		if !ok {
			return fmt.Errorf("verify %s: blob %s: %w", f.entry.Path, id.Short(), ErrNotFound)
		}
		buf = grow(buf, int(loc.RawLength))
		if _, err := io.ReadFull(rc, buf); err != nil {
			return fmt.Errorf("verify %s: at offset %d: %w", f.entry.Path, off, err)
		}
		if rs.r.key.BlobID(buf) != id {
			return fmt.Errorf("verify %s: content differs from the snapshot at offset %d", f.entry.Path, off)
		}
		off += int64(len(buf))
	}
	if n, _ := rc.Read(make([]byte, 1)); n > 0 {
		return fmt.Errorf("verify %s: longer than in the snapshot (%d bytes)", f.entry.Path, off)
	}
	rs.verified.Add(1)
	return nil
}

// countReader counts bytes read through it.
type countReader struct {
	r io.Reader
	n interface{ Add(uint64) uint64 }
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(uint64(n))
	return n, err
}
