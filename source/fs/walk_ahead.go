package fs

import (
	"context"
	"runtime"
	"sync"

	"github.com/cairnbackup/cairn/source"
)

// readAhead sets how far a walk reads ahead of its consumer. The work is
// cut into jobs of at most batch entries (a directory's first job also
// lists it); workers run the jobs the walk will need first, and at most
// window jobs are run by workers but not yet taken by the consumer. So the
// walk holds, besides the directory listings along the current path, at
// most window × batch entries it has read ahead, whatever the tree's size.
type readAhead struct {
	workers int // 0 reads on the consumer's goroutine only
	window  int
	batch   int
}

// defaultReadAhead keeps every core busy with lstat and xattr calls while
// the consumer takes entries, without holding many entries.
func defaultReadAhead() readAhead {
	n := min(max(runtime.GOMAXPROCS(0), 2), 8)
	return readAhead{workers: n, window: 4 * n, batch: 64}
}

// traversal calls fn for the entries in walk order, from jobs that workers
// run ahead of it. It decides what must follow walk order: the hard links.
type traversal struct {
	fn     func(*source.Entry) error
	ahead  readAhead
	own    *walker       // reads the jobs the consumer runs itself
	queue  *jobQueue     // jobs no one has started
	tokens chan struct{} // one per job a worker has claimed, until taken
	links  map[fileID]string
}

// newTraversal returns a traversal that calls fn and reads with w what the
// consumer reads itself.
func newTraversal(ahead readAhead, w *walker, fn func(*source.Entry) error) *traversal {
	return &traversal{
		fn:     fn,
		ahead:  ahead,
		own:    w,
		queue:  newJobQueue(),
		tokens: make(chan struct{}, max(ahead.window, 1)),
		links:  make(map[fileID]string),
	}
}

// run calls fn for the root's entry, whose directory is at abs, and then
// for everything below it. The workers have stopped when it returns.
func (t *traversal) run(ctx context.Context, root *source.Entry, abs string) error {
	// The consumer checks ctx itself, not one derived from it: a derived
	// context learns of the cancellation only after ctx's Done closes.
	wctx, cancel := context.WithCancel(ctx)
	var workers sync.WaitGroup
	defer workers.Wait()
	defer cancel()
	dir := newDirJob(".", abs)
	t.push(dir)
	for range t.ahead.workers {
		w := t.own.clone()
		workers.Go(func() { t.work(wctx, w) })
	}
	if err := t.fn(root); err != nil {
		return err
	}
	if err := t.take(ctx, dir); err != nil {
		return err
	}
	if dir.err != nil {
		return dir.err // a root that cannot be listed ends the walk
	}
	return t.contents(ctx, dir)
}

// work runs jobs until ctx ends, each once it has a token.
func (t *traversal) work(ctx context.Context, w *walker) {
	for {
		select {
		case t.tokens <- struct{}{}:
		case <-ctx.Done():
			return
		}
		j := t.queue.pop(ctx)
		if j == nil {
			return
		}
		j.token = true
		j.run(w, t.ahead.batch, t.push)
	}
}

// push queues jobs for the workers, if there are any.
func (t *traversal) push(js ...*job) {
	if t.ahead.workers > 0 {
		t.queue.push(js...)
	}
}

// take returns once j's results are there: it runs j itself if no worker
// has started it, so the walk never waits for a job no one runs.
func (t *traversal) take(ctx context.Context, j *job) error {
	if j.claim() {
		j.run(t.own, t.ahead.batch, t.push)
		return nil
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if j.token {
		<-t.tokens // the worker may run another job ahead
	}
	return nil
}

// dir calls fn for what the directory of the job d holds, or for the
// directory's listing error.
func (t *traversal) dir(ctx context.Context, d *job) error {
	if err := t.take(ctx, d); err != nil {
		return err
	}
	if d.err != nil {
		return t.fn(failed(d.rel, d.err))
	}
	return t.contents(ctx, d)
}

// contents calls fn for the entries of the directory whose first job, d,
// is done, going into each subdirectory as it comes.
func (t *traversal) contents(ctx context.Context, d *job) error {
	if err := t.batch(ctx, d); err != nil {
		return err
	}
	for _, j := range d.more {
		if err := t.take(ctx, j); err != nil {
			return err
		}
		if err := t.batch(ctx, j); err != nil {
			return err
		}
	}
	return nil
}

// batch calls fn for the entries of the done job j.
func (t *traversal) batch(ctx context.Context, j *job) error {
	out := j.out
	j.out = nil // the entries are the consumer's now
	for _, r := range out {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.e == nil {
			continue
		}
		t.link(r.e)
		if err := t.fn(r.e); err != nil {
			return err
		}
		if r.dir != nil {
			if err := t.dir(ctx, r.dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// fileID identifies a file on the running system.
type fileID struct{ dev, ino uint64 }

// link makes a regular file a hard link to the first entry of the walk for
// the same file, which has the content. It runs in walk order, so which
// entry is first does not depend on which worker read what when.
func (t *traversal) link(e *source.Entry) {
	if e.Err != nil || e.Type != source.TypeFile || e.Links <= 1 {
		return
	}
	id := fileID{dev: e.Device, ino: e.Inode}
	if first, ok := t.links[id]; ok {
		e.Hardlink, e.Open = first, nil
		return
	}
	t.links[id] = e.Path
}
