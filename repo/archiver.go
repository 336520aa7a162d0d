package repo

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/source"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// The archiver turns a walk into trees. The walk goroutine keeps a stack of
// open directories, decides per file whether the parent snapshot already
// has it, and queues the others for reading. Readers cut files into chunks
// and hand them to savers, which hash, compress, seal and pack them on all
// cores; bytes between reading and storing are capped by mem. Finished
// directories go, deepest first, to one finisher goroutine that waits for
// their files and saves the tree blob. Memory is bounded by the open
// directories' listings, the queues and mem, not by the size of the tree.
type archiver struct {
	r      *Repository
	w      *Writer
	opts   BackupOptions
	params chunk.Params
	seq    bool // the source's content is only readable during the walk function

	stack  []*frame
	files  chan *fileJob
	blobs  chan blobJob
	done   chan *frame // finished directories, deepest first
	mem    *semaphore.Weighted
	root   ID
	parent *Tree

	progress
}

// frame is a directory being walked.
type frame struct {
	path  string
	self  *item // the directory's own node; in its parent's items
	items []*item
	prev  *Tree // the same directory in the parent snapshot, or nil
}

// item is one entry of a directory; job is set while a file is being read.
type item struct {
	node  Node
	job   *fileJob
	class *atomic.Uint64 // the counter to bump once the file is stored
}

func newArchiver(r *Repository, src source.Source, opts BackupOptions, parent *Snapshot) (*archiver, error) {
	a := &archiver{
		r: r, w: r.NewWriter(), opts: opts, params: r.cfg.Chunking,
		files: make(chan *fileJob, 64),
		blobs: make(chan blobJob, runtime.GOMAXPROCS(0)),
		done:  make(chan *frame, 64),
		mem:   semaphore.NewWeighted(opts.MaxInFlight),
	}
	_, a.seq = src.(source.Sequential)
	a.progress.init(opts)
	return a, a.loadParent(parent)
}

func (a *archiver) loadParent(parent *Snapshot) error {
	if parent == nil {
		return nil
	}
	t, err := a.r.LoadTree(context.Background(), parent.Tree)
	if err != nil {
		return fmt.Errorf("parent snapshot %s: %w", parent.ID.Short(), err)
	}
	a.parent = t
	return nil
}

// run walks src and returns the root tree's ID. The walk runs on the
// calling goroutine, so a panic in the source reaches the caller (and the
// source's tidy-up) while the workers are stopped.
func (a *archiver) run(ctx context.Context, src source.Source) (ID, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	stopProgress := a.startProgress(ctx, src)
	defer stopProgress()

	var readers sync.WaitGroup
	for range a.opts.Readers {
		readers.Go(func() { a.fail(g, a.readFiles(ctx)) })
	}
	g.Go(func() error { readers.Wait(); close(a.blobs); return nil })
	for range runtime.GOMAXPROCS(0) {
		g.Go(func() error { return a.saveBlobs(ctx) })
	}
	g.Go(func() error { return a.finishDirs(ctx) })

	walkErr := a.walk(ctx, src)
	if err := g.Wait(); err != nil {
		return ID{}, err
	}
	if walkErr != nil {
		return ID{}, walkErr
	}
	return a.root, nil
}

// walk feeds the source's entries to visit and closes the queues.
func (a *archiver) walk(ctx context.Context, src source.Source) error {
	defer close(a.files)
	defer close(a.done)
	if err := src.Walk(ctx, func(e *source.Entry) error { return a.visit(ctx, e) }); err != nil {
		return err
	}
	if len(a.stack) == 0 {
		return fmt.Errorf("source yielded nothing, not even its root")
	}
	return a.closeDirs(ctx, len(a.stack))
}

// fail hands a reader's error to the group, which cancels the rest.
func (a *archiver) fail(g *errgroup.Group, err error) {
	if err != nil {
		g.Go(func() error { return err })
	}
}

// visit takes one entry of the walk.
func (a *archiver) visit(ctx context.Context, e *source.Entry) error {
	if e.Err != nil {
		a.warn(e.Path, e.Err)
		return nil
	}
	if err := source.ValidPath(e.Path); err != nil {
		return fmt.Errorf("source entry: %w", err)
	}
	if len(a.stack) == 0 {
		if e.Path != "." || e.Type != source.TypeDir {
			return fmt.Errorf("source entry %q: the root directory \".\" must come first", e.Path)
		}
		root := &item{node: Node{Entry: cleanEntry(e, ".")}}
		a.stack = append(a.stack, &frame{path: ".", self: root, prev: a.parent})
		return nil
	}
	dir, name := splitEntryPath(e.Path)
	if err := a.closeUntil(ctx, dir, e.Path); err != nil {
		return err
	}
	top := a.stack[len(a.stack)-1]
	it := &item{node: Node{Entry: cleanEntry(e, name)}}
	top.items = append(top.items, it)
	a.current.Store(&e.Path)
	switch {
	case e.Type == source.TypeDir:
		a.stack = append(a.stack, &frame{path: e.Path, self: it, prev: a.prevTree(ctx, top.prev, name)})
	case e.Type == source.TypeFile && e.Hardlink == "":
		return a.file(ctx, e, it, top.prev)
	case e.Type == source.TypeFile:
		a.filesDone.Add(1)
		it.class = &a.filesUnchanged
	}
	return nil
}

// cleanEntry copies e as a tree node's metadata under name.
func cleanEntry(e *source.Entry, name string) source.Entry {
	c := *e
	c.Path, c.Open, c.Err = name, nil, nil
	if c.Type != source.TypeFile || c.Links <= 1 {
		// Device numbers may change across reboots; they are only needed
		// to tell hard links apart.
		c.Device = 0
	}
	return c
}

func splitEntryPath(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ".", p
	}
	return p[:i], p[i+1:]
}

// closeUntil finishes the open directories that cannot contain p, whose
// directory is dir, and checks that dir is then the innermost open one.
func (a *archiver) closeUntil(ctx context.Context, dir, p string) error {
	n := len(a.stack)
	for n > 1 && !isAncestor(a.stack[n-1].path, dir) {
		n--
	}
	if err := a.closeDirs(ctx, len(a.stack)-n); err != nil {
		return err
	}
	if top := a.stack[len(a.stack)-1].path; top != dir {
		return fmt.Errorf("source entry %q: directory %q is not open (entries are not depth first, or a directory is missing)", p, dir)
	}
	return nil
}

func isAncestor(a, p string) bool {
	return a == "." || a == p || strings.HasPrefix(p, a+"/")
}

// closeDirs hands the n innermost open directories to the finisher.
func (a *archiver) closeDirs(ctx context.Context, n int) error {
	for range n {
		f := a.stack[len(a.stack)-1]
		a.stack = a.stack[:len(a.stack)-1]
		select {
		case a.done <- f:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// prevTree loads the parent snapshot's version of directory name in prev.
// A parent tree that cannot be loaded only means its files are read again.
func (a *archiver) prevTree(ctx context.Context, prev *Tree, name string) *Tree {
	if prev == nil {
		return nil
	}
	n := prev.Find(name)
	if n == nil || n.Type != source.TypeDir {
		return nil
	}
	t, err := a.r.LoadTree(ctx, n.Subtree)
	if err != nil {
		return nil
	}
	return t
}

// finishDirs saves the tree of each finished directory, deepest first.
func (a *archiver) finishDirs(ctx context.Context) error {
	var buf []byte
	for f := range a.done {
		t := &Tree{Nodes: make([]Node, 0, len(f.items))}
		for _, it := range f.items {
			if ok, err := a.settle(ctx, it); err != nil {
				return err
			} else if ok {
				t.Nodes = append(t.Nodes, it.node)
			}
		}
		if err := sortNodes(t.Nodes); err != nil {
			return fmt.Errorf("directory %q: %w", f.path, err)
		}
		if f.path == "." {
			t.Self = &f.self.node
		}
		id, b, err := saveTree(ctx, a.w, t, buf)
		if err != nil {
			return err
		}
		buf = b
		f.self.node.Subtree = id
		a.dirs.Add(1)
		if f.path == "." {
			a.root = id
		}
	}
	return nil
}

// settle waits for an item's file to be stored and reports whether the
// item belongs in the tree.
func (a *archiver) settle(ctx context.Context, it *item) (bool, error) {
	if j := it.job; j != nil {
		select {
		case <-j.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if j.failed.Load() {
			return false, nil
		}
		it.node.Content = j.content
		if it.node.Size < 0 {
			it.node.Size = j.size
		}
		it.job = nil
	}
	if it.class != nil {
		it.class.Add(1)
	}
	return true, nil
}
