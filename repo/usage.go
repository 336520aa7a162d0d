package repo

import (
	"context"
	"fmt"
	"sync"

	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/source"
	"golang.org/x/sync/errgroup"
)

// blobSet is a set of blobs.
//
// Memory: a 33-byte key in a Go map costs some 40 to 80 bytes per blob with
// the map's slack, so ten million blobs take well under a gigabyte. Prune
// needs the whole set at once; nothing smaller tells it what it may delete.
type blobSet map[pack.Handle]struct{}

// treeLoaders bounds how many trees a walk loads at once.
const treeLoaders = 8

// usedBlobs returns every blob (tree and data) reachable from the snapshots'
// root trees, loading each distinct tree once. A tree that cannot be loaded
// is an error naming the tree and a snapshot that reaches it: prune must
// never go on with an incomplete set.
func (r *Repository) usedBlobs(ctx context.Context, snaps []*Snapshot) (blobSet, error) {
	return r.collectUsed(ctx, snaps, func(sn *Snapshot, tree ID, err error) error {
		if err != nil {
			return fmt.Errorf("snapshot %s: tree %s: %w", sn.ID, tree, err)
		}
		return nil
	})
}

// collectUsed is usedBlobs with a say in each tree: onTree is told of every
// tree with a snapshot that reaches it and the error loading it gave, if
// any, and the walk goes on if it returns nil. The set then holds a failed
// tree but nothing below it. onTree is called concurrently.
func (r *Repository) collectUsed(ctx context.Context, snaps []*Snapshot,
	onTree func(sn *Snapshot, tree ID, err error) error) (blobSet, error) {
	used := make(blobSet)
	var mu sync.Mutex
	roots := make([]ID, len(snaps))
	for i, sn := range snaps {
		roots[i] = sn.Tree
	}
	err := r.walkTrees(ctx, roots, func(root int, id ID, t *Tree, err error) error {
		if err := onTree(snaps[root], id, err); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		used[pack.Handle{Type: pack.TreeBlob, ID: id}] = struct{}{}
		if t != nil {
			for i := range t.Nodes {
				for _, c := range t.Nodes[i].Content {
					used[pack.Handle{Type: pack.DataBlob, ID: c}] = struct{}{}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return used, nil
}

// walkTrees calls visit once for every distinct tree reachable from roots,
// with the tree or the error loading it gave, and the index in roots of one
// root that reaches it. Subtrees of a tree that failed are not walked; an
// error from visit ends the walk. visit is called concurrently.
//
// The walk goes one level of the trees at a time, loading up to treeLoaders
// trees at once: simpler than a work queue, and the depth of a directory
// hierarchy, not its size, bounds the number of rounds. Memory is the set of
// tree IDs seen and one level's IDs.
func (r *Repository) walkTrees(ctx context.Context, roots []ID,
	visit func(root int, id ID, t *Tree, err error) error) error {
	type item struct {
		id   ID
		root int
	}
	seen := make(map[ID]struct{})
	var level []item
	for i, id := range roots {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			level = append(level, item{id, i})
		}
	}
	for len(level) > 0 {
		var mu sync.Mutex
		var next []item
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(treeLoaders)
		for _, it := range level {
			g.Go(func() error {
				t, err := r.LoadTree(gctx, it.id)
				if cerr := gctx.Err(); cerr != nil {
					return cerr // not the tree's fault
				}
				if err := visit(it.root, it.id, t, err); err != nil {
					return err
				}
				if t == nil {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				for i := range t.Nodes {
					n := &t.Nodes[i]
					if n.Type != source.TypeDir {
						continue
					}
					if _, ok := seen[n.Subtree]; !ok {
						seen[n.Subtree] = struct{}{}
						next = append(next, item{n.Subtree, it.root})
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		level = next
	}
	return nil
}
