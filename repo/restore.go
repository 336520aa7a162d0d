package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/source"
	"golang.org/x/sync/errgroup"
)

// Restore writes snapshot id, or the part opts select, into t.
//
// Every name is checked before it reaches t: a snapshot whose paths would
// leave the target is refused with an error wrapping ErrCorrupt. Hard links
// are restored as links where their target is restored too, and otherwise
// as copies. With opts.Verify every file is read back and checked against
// the snapshot.
func (r *Repository) Restore(ctx context.Context, id ID, t source.Target, opts RestoreOptions) error {
	opts = opts.withDefaults()
	sn, err := r.LoadSnapshot(ctx, id)
	if err != nil {
		return err
	}
	rs, err := newRestorer(r, t, opts)
	if err != nil {
		return err
	}
	return r.withLock(ctx, "restore", false, func(ctx context.Context, _ *Lock) error {
		if err := rs.run(ctx, sn); err != nil {
			return fmt.Errorf("restore %s: %w", id.Short(), err)
		}
		return nil
	})
}

// restorer walks a snapshot's trees in order and hands entries to the
// target; with a ParallelTarget, files go to a pool of workers, and with a
// WriterAtTarget the workers write them by pack (packedRestore).
type restorer struct {
	r                *Repository
	t                source.Target
	opts             RestoreOptions
	include, exclude source.Patterns
	root             *Tree // the snapshot's root tree, for resolving hard links
	window           *packWindow
	trees            *treeAhead
	base             string // opts.Path, cleaned; "." for the root

	files   chan fileRestore  // to the workers, file by file
	packed  *packedRestore    // or by pack, for a WriterAtTarget
	links   []source.Entry    // hard links, put after all files
	pending []source.Entry    // directories not yet put, outermost first
	moved   map[string]string // hard link target → where its content went instead

	filesDone, dirs, other, bytes, verified atomic.Uint64
	current                                 atomic.Pointer[string]
	start                                   time.Time
	mu                                      sync.Mutex // serializes progress calls
}

type fileRestore struct {
	entry   source.Entry
	content []ID
}

func newRestorer(r *Repository, t source.Target, opts RestoreOptions) (*restorer, error) {
	rs := &restorer{r: r, t: t, opts: opts, base: ".", moved: map[string]string{}, start: time.Now()}
	var err error
	if rs.include, err = source.ParsePatterns(opts.Include); err != nil {
		return nil, fmt.Errorf("restore: include: %w", err)
	}
	if rs.exclude, err = source.ParsePatterns(opts.Exclude); err != nil {
		return nil, fmt.Errorf("restore: exclude: %w", err)
	}
	if p := strings.Trim(opts.Path, "/"); p != "" && p != "." {
		if err := source.ValidPath(p); err != nil {
			return nil, fmt.Errorf("restore: path: %w", err)
		}
		rs.base = p
	}
	if _, ok := t.(source.ReadBacker); opts.Verify && !ok {
		return nil, errors.New("restore: verify: the target cannot read back what it wrote")
	}
	return rs, nil
}

func (rs *restorer) run(ctx context.Context, sn *Snapshot) error {
	root, err := rs.r.LoadTree(ctx, sn.Tree)
	if err != nil {
		return err
	}
	rs.root = root
	self, tree, err := rs.baseTree(ctx)
	if err != nil {
		return err
	}
	stop := tick(ctx, rs.opts.ProgressInterval, rs.opts.Progress != nil, func() { rs.report(false) })
	defer stop()
	rs.window = rs.r.newPackWindow(ctx)
	defer rs.window.close()
	rs.trees = newTreeAhead(ctx, rs.r, !backend.IsNearby(rs.r.be))
	defer rs.trees.close()

	g, gctx := errgroup.WithContext(ctx)
	workers := 0
	if pt, ok := rs.t.(source.ParallelTarget); ok && pt.Parallel() {
		workers = rs.opts.Workers
	}
	if wt, ok := rs.t.(source.WriterAtTarget); ok && workers > 0 {
		rs.packed = newPackedRestore(rs, wt)
	}
	rs.files = make(chan fileRestore, workers)
	for range workers {
		g.Go(func() error {
			if rs.packed != nil {
				return rs.packed.work(gctx)
			}
			return rs.restoreFiles(gctx)
		})
	}
	g.Go(func() error {
		defer rs.endWalk()
		if err := rs.put(gctx, self, nil); err != nil {
			return err
		}
		rs.dirs.Add(1)
		if err := rs.walk(gctx, tree, ".", workers > 0); err != nil {
			return err
		}
		if rs.packed != nil {
			return rs.packed.flush(gctx)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		if rs.packed != nil {
			rs.packed.abort(err)
		}
		return err
	}
	for i := range rs.links {
		if err := rs.put(ctx, &rs.links[i], nil); err != nil {
			return err
		}
		rs.filesDone.Add(1)
	}
	if err := rs.t.Close(ctx); err != nil {
		return err
	}
	stop()
	rs.report(true)
	return nil
}

// endWalk tells the workers that no more files come.
func (rs *restorer) endWalk() {
	if rs.packed != nil {
		close(rs.packed.jobs)
		return
	}
	close(rs.files)
}

// baseTree returns the directory to restore: the root or opts.Path.
func (rs *restorer) baseTree(ctx context.Context) (*source.Entry, *Tree, error) {
	self := source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}
	if rs.root.Self != nil {
		self = rs.root.Self.Entry
	}
	if rs.base == "." {
		return &self, rs.root, nil
	}
	n, err := rs.r.lookup(ctx, rs.root, rs.base)
	if err != nil {
		return nil, nil, err
	}
	if n.Type != source.TypeDir {
		return nil, nil, fmt.Errorf("%s is a %s, not a directory: %w", rs.base, n.Type, ErrNotFound)
	}
	t, err := rs.r.LoadTree(ctx, n.Subtree)
	if err != nil {
		return nil, nil, err
	}
	self = n.Entry
	self.Path = "."
	return &self, t, nil
}

// lookup finds the node at slash path p below tree t.
func (r *Repository) lookup(ctx context.Context, t *Tree, p string) (*Node, error) {
	elems := strings.Split(p, "/")
	for i, name := range elems {
		n := t.Find(name)
		if n == nil {
			return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
		}
		if i == len(elems)-1 {
			return n, nil
		}
		if n.Type != source.TypeDir {
			return nil, fmt.Errorf("%s: %s is not a directory: %w", p, strings.Join(elems[:i+1], "/"), ErrNotFound)
		}
		var err error
		if t, err = r.LoadTree(ctx, n.Subtree); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
}

// tick calls fn every interval until the returned stop is called.
func tick(ctx context.Context, interval time.Duration, on bool, fn func()) (stop func()) {
	if !on {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fn()
			case <-ctx.Done():
				return
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

func (rs *restorer) report(done bool) {
	if rs.opts.Progress == nil {
		return
	}
	p := RestoreProgress{Files: rs.filesDone.Load(), Dirs: rs.dirs.Load(), Other: rs.other.Load(),
		Bytes: rs.bytes.Load(), Verified: rs.verified.Load(), Elapsed: time.Since(rs.start), Done: done}
	if c := rs.current.Load(); c != nil && !done {
		p.Current = *c
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.opts.Progress(p)
}
