package repo

import (
	"context"
	"sync"
)

// treeAheadLoads is how many trees a treeAhead loads at once, and
// treeAheadMax how many it holds loaded or loading for the walk.
const (
	treeAheadLoads = 8
	treeAheadMax   = 4096
)

// treeAhead loads trees ahead of a depth-first walk, several at once: when
// the walk reads a tree, the subtrees it will enter are started, so that
// entering each does not wait for a round trip of its own. Where reads
// cost none (a local disk), it loads nothing ahead. At most treeAheadMax
// trees are held for the walk; past that, trees are loaded when asked.
type treeAhead struct {
	r      *Repository
	ctx    context.Context // ends the loads ahead
	cancel context.CancelFunc
	slots  chan struct{} // one per load running

	mu      sync.Mutex
	pending map[ID]*treeFuture
}

type treeFuture struct {
	done chan struct{}
	t    *Tree
	err  error
}

func newTreeAhead(ctx context.Context, r *Repository, on bool) *treeAhead {
	a := &treeAhead{r: r}
	if on {
		a.ctx, a.cancel = context.WithCancel(ctx)
		a.slots = make(chan struct{}, treeAheadLoads)
		a.pending = make(map[ID]*treeFuture)
	}
	return a
}

// start begins loading the trees ids, unless that would hold too many.
func (a *treeAhead) start(ids []ID) {
	if a.pending == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		if _, ok := a.pending[id]; ok || len(a.pending) >= treeAheadMax {
			continue
		}
		f := &treeFuture{done: make(chan struct{})}
		a.pending[id] = f
		go a.load(id, f)
	}
}

func (a *treeAhead) load(id ID, f *treeFuture) {
	defer close(f.done)
	select {
	case a.slots <- struct{}{}:
	case <-a.ctx.Done():
		f.err = a.ctx.Err()
		return
	}
	defer func() { <-a.slots }()
	f.t, f.err = a.r.LoadTree(a.ctx, id)
}

// tree returns tree id, loaded ahead or now. A load ahead that failed is
// tried again, so the error is the walk's own.
func (a *treeAhead) tree(ctx context.Context, id ID) (*Tree, error) {
	if a.pending != nil {
		a.mu.Lock()
		f, ok := a.pending[id]
		delete(a.pending, id)
		a.mu.Unlock()
		if ok {
			select {
			case <-f.done:
				if f.err == nil {
					return f.t, nil
				}
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return a.r.LoadTree(ctx, id)
}

// close stops the loads ahead and waits for none of them.
func (a *treeAhead) close() {
	if a.cancel != nil {
		a.cancel()
	}
}
