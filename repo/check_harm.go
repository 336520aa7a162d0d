package repo

import (
	"context"
	"slices"
	"sync"
)

// attribute fills in the snapshots each problem harms: those whose trees
// reach a blob the problem makes unreadable. Nothing is walked when no
// problem touches a blob. Otherwise every tree is loaded once more and the
// answer computed on the tree graph with one memoized pass, so a tree
// shared by a thousand snapshots is looked at once, not a thousand times.
func (c *checker) attribute(ctx context.Context, snaps []*Snapshot) error {
	bad := make(map[BlobHandle][]int32) // blob → problems that make it unreadable
	packs := make(map[ID][]int32)       // pack → problems that harm all its blobs
	for i, h := range c.harms {
		if h.snapshot != nil {
			c.rep.Problems[i].Snapshots = []ID{*h.snapshot}
		}
		for _, b := range h.blobs {
			bad[b] = append(bad[b], int32(i))
		}
		if !h.pack.IsZero() {
			packs[h.pack] = append(packs[h.pack], int32(i))
		}
	}
	if len(packs) > 0 {
		for h, loc := range c.r.idx.All() {
			if ps, ok := packs[loc.Pack]; ok {
				bad[h] = append(bad[h], ps...)
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}

	c.start("damage", 0)
	g := &harmGraph{bad: bad, nums: make(map[ID]int32)}
	roots := make([]ID, len(snaps))
	for i, sn := range snaps {
		roots[i] = sn.Tree
	}
	err := c.r.walkTrees(ctx, roots, func(_ int, id ID, t *Tree, err error) error {
		if err != nil && !isDamage(err) {
			return err
		}
		g.add(id, t)
		c.step(0)
		return nil
	})
	if err != nil {
		return err
	}
	for _, sn := range snaps {
		for _, p := range g.reach(g.num(sn.Tree)) {
			c.rep.Problems[p].Snapshots = append(c.rep.Problems[p].Snapshots, sn.ID)
		}
	}
	for i := range c.rep.Problems {
		slices.SortFunc(c.rep.Problems[i].Snapshots, compareIDs)
	}
	return nil
}

// harmGraph is the graph of trees, numbered, with the problems each tree
// meets itself: in its own blob or in its files' data blobs.
type harmGraph struct {
	mu    sync.Mutex
	bad   map[BlobHandle][]int32
	nums  map[ID]int32
	nodes []harmNode
}

type harmNode struct {
	children []int32 // subtrees
	direct   []int32 // problems met in this tree itself, sorted
	reached  []int32 // problems met in it or below, sorted; set by reach
	state    uint8   // 0 new, 1 being computed, 2 done
}

// num returns the number of tree id, giving it one if it has none.
// g.mu held, or the walk over.
func (g *harmGraph) num(id ID) int32 {
	if n, ok := g.nums[id]; ok {
		return n
	}
	n := int32(len(g.nodes))
	g.nums[id] = n
	g.nodes = append(g.nodes, harmNode{})
	return n
}

// add records tree id; t is nil for a tree that could not be loaded.
func (g *harmGraph) add(id ID, t *Tree) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.num(id)
	direct := slices.Clone(g.bad[BlobHandle{Type: TreeBlob, ID: id}])
	var children []int32
	if t != nil {
		for i := range t.Nodes {
			node := &t.Nodes[i]
			for _, c := range node.Content {
				direct = append(direct, g.bad[BlobHandle{Type: DataBlob, ID: c}]...)
			}
			if !node.Subtree.IsZero() {
				children = append(children, g.num(node.Subtree))
			}
		}
	}
	slices.Sort(direct)
	g.nodes[n].direct = slices.Compact(direct)
	g.nodes[n].children = children
}

// reach returns the problems met in tree n or below it, memoized. Trees
// are named by their hash and so cannot form a cycle; should a damaged
// repository pretend otherwise, the cycle is cut rather than followed.
func (g *harmGraph) reach(n int32) []int32 {
	node := &g.nodes[n]
	switch node.state {
	case 1:
		return nil
	case 2:
		return node.reached
	}
	node.state = 1
	r := node.direct
	for _, c := range node.children {
		r = union(r, g.reach(c))
	}
	node.reached, node.state = r, 2
	return r
}

// union merges two sorted sets into a new one, or returns one of them
// when the other adds nothing.
func union(a, b []int32) []int32 {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]int32, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] < b[0]:
			out, a = append(out, a[0]), a[1:]
		case a[0] > b[0]:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
}
