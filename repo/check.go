package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/cairnbackup/cairn/repo/backend"
	"golang.org/x/sync/errgroup"
)

// CheckOptions select how much of a repository Check reads. The zero value
// checks its structure: snapshots, trees, the index and pack headers.
type CheckOptions struct {
	// ReadData downloads every pack: verifies its name hash, and decrypts
	// and verifies every blob.
	ReadData bool
	// Subset reads only some packs, as ReadData does all; it is ignored
	// with ReadData. The zero value reads none.
	Subset DataSubset
	// Progress, if set, is told how far the check is. It is called from
	// one goroutine at a time and must return quickly.
	Progress func(CheckProgress)
}

// CheckProgress tells how far a check is.
type CheckProgress struct {
	Phase string // "snapshots", "packs", "trees" or "damage"
	// Done and Total count the phase's items; Total is 0 when it is not
	// known in advance (trees).
	Done, Total int
	BytesRead   uint64 // pack data downloaded so far
}

// CheckReport is what a check found.
type CheckReport struct {
	Snapshots int    // snapshot files
	Trees     int    // distinct trees reached from them
	DataBlobs int    // distinct data blobs the trees name
	Packs     int    // packs the index names
	PacksRead int    // packs downloaded whole and verified
	BytesRead uint64 // their size
	// Problems, sorted by kind and object.
	Problems []Problem
}

// OK reports whether the check found no harmful problem.
func (c *CheckReport) OK() bool {
	for _, p := range c.Problems {
		if !p.Kind.Harmless() {
			return false
		}
	}
	return true
}

// Damaged returns every snapshot some problem harms, sorted: those that
// cannot be restored completely.
func (c *CheckReport) Damaged() []ID {
	var ids []ID
	for _, p := range c.Problems {
		ids = append(ids, p.Snapshots...)
	}
	slices.SortFunc(ids, compareIDs)
	return slices.Compact(ids)
}

// Check verifies the repository and reports every problem it finds. It
// returns an error only when it cannot do its job: the backend fails other
// than by missing or damaged objects, or ctx ends. Objects that are absent,
// truncated, fail authentication or do not parse are problems in the report.
//
// Check holds the exclusive lock, so no prune deletes packs meanwhile
// (that would show as damage), and reads the index files stored since the
// repository was opened; backups may run, and packs they store meanwhile
// appear as UnreferencedPack.
func (r *Repository) Check(ctx context.Context, opts CheckOptions) (rep *CheckReport, err error) {
	err = r.withLock(ctx, "check", true, func(ctx context.Context, _ *Lock) error {
		rep, err = r.check(ctx, opts)
		return err
	})
	return rep, err
}

func (r *Repository) check(ctx context.Context, opts CheckOptions) (*CheckReport, error) {
	chosen, err := r.dataSelection(opts)
	if err != nil {
		return nil, err
	}
	c := &checker{r: r, progress: opts.Progress, rep: &CheckReport{}}
	snaps, err := c.snapshots(ctx)
	if err != nil {
		return nil, err
	}
	// After the snapshots: an index file is stored before any snapshot
	// that needs it, so this covers every snapshot just read.
	if err := r.refreshIndex(ctx); err != nil {
		return nil, err
	}
	if err := c.packs(ctx, chosen); err != nil {
		return nil, err
	}
	if err := c.trees(ctx, snaps); err != nil {
		return nil, err
	}
	if err := c.attribute(ctx, snaps); err != nil {
		return nil, err
	}
	c.finish()
	return c.rep, nil
}

// checker holds the state of one Check.
type checker struct {
	r        *Repository
	progress func(CheckProgress)

	mu    sync.Mutex // guards what follows
	rep   *CheckReport
	harms []harm // what each of rep.Problems makes unreadable
	phase string
	done  int
	total int
}

// harm is what a problem makes unreadable, for finding the snapshots it
// harms.
type harm struct {
	blobs    []BlobHandle // these blobs, where the index locates them
	pack     ID           // every blob the index places in this pack, unless zero
	snapshot *ID          // this snapshot itself
	// onlyIfHarmful drops the problem when it harms no snapshot: a
	// condemned pack that is gone is prune's work, not damage.
	onlyIfHarmful bool
}

// add records a problem.
func (c *checker) add(p Problem, h harm) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rep.Problems = append(c.rep.Problems, p)
	c.harms = append(c.harms, h)
}

// start begins a phase of total items (0: unknown).
func (c *checker) start(phase string, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.phase, c.done, c.total = phase, 0, total
	c.report()
}

// step counts one item done, and bytes downloaded with it.
func (c *checker) step(bytes uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done++
	c.rep.BytesRead += bytes
	c.report()
}

// report calls the progress callback; c.mu held.
func (c *checker) report() {
	if c.progress != nil {
		c.progress(CheckProgress{Phase: c.phase, Done: c.done, Total: c.total, BytesRead: c.rep.BytesRead})
	}
}

// snapshots loads every snapshot file; those that fail are problems.
func (c *checker) snapshots(ctx context.Context) ([]*Snapshot, error) {
	objs, stray, err := listObjects(ctx, c.r.be, backend.SnapshotFile)
	if err != nil {
		return nil, err
	}
	for _, p := range stray {
		c.add(p, harm{})
	}
	c.rep.Snapshots = len(objs)
	c.start("snapshots", len(objs))
	snaps := make([]*Snapshot, len(objs))
	err = forEach(ctx, objs, loadConcurrency, func(ctx context.Context, i int, o object) error {
		id := o.id
		sn, err := c.r.LoadSnapshot(ctx, id)
		switch {
		case err == nil:
			snaps[i] = sn
		case isDamage(err):
			c.add(Problem{Kind: UnreadableSnapshot, Object: "snapshot " + id.String(), Err: err}, harm{snapshot: &id})
		default:
			return err
		}
		c.step(0)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(snaps, func(sn *Snapshot) bool { return sn == nil }), nil
}

// trees walks every tree the snapshots reach and looks up every data blob
// they name in the index.
func (c *checker) trees(ctx context.Context, snaps []*Snapshot) error {
	c.start("trees", 0)
	used, err := c.r.collectUsed(ctx, snaps, func(sn *Snapshot, tree ID, err error) error {
		c.step(0)
		if err == nil {
			return nil
		}
		if !isDamage(err) {
			return err
		}
		h := BlobHandle{Type: TreeBlob, ID: tree}
		kind := UnreadableTree
		if !c.r.idx.Has(h) {
			kind = MissingBlob
		}
		c.add(Problem{Kind: kind, Object: h.String(), Err: err}, harm{blobs: []BlobHandle{h}})
		return nil
	})
	if err != nil {
		return err
	}
	for h := range used {
		if h.Type == TreeBlob {
			c.rep.Trees++
			continue
		}
		c.rep.DataBlobs++
		if !c.r.idx.Has(h) {
			c.add(Problem{Kind: MissingBlob, Object: h.String(),
				Err: &BlobError{Blob: h, Err: fmt.Errorf("a tree names it but no index does: %w", ErrNotFound)}},
				harm{blobs: []BlobHandle{h}})
		}
	}
	return nil
}

// finish drops what turned out harmless and sorts the report.
func (c *checker) finish() {
	probs := c.rep.Problems[:0]
	for i, p := range c.rep.Problems {
		if c.harms[i].onlyIfHarmful && len(p.Snapshots) == 0 {
			continue
		}
		probs = append(probs, p)
	}
	slices.SortStableFunc(probs, func(a, b Problem) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		return strings.Compare(a.Object, b.Object)
	})
	c.rep.Problems = probs
	c.harms = nil
}

// isDamage reports whether err is about the repository's content (an object
// missing, short, failing authentication or parsing) rather than about
// reaching it.
func isDamage(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) ||
		errors.Is(err, ErrUnsupportedVersion) || errors.Is(err, io.ErrUnexpectedEOF)
}

func compareIDs(a, b ID) int { return bytes.Compare(a[:], b[:]) }

// forEach calls fn for every item with up to n calls at once, and stops at
// the first error.
func forEach[T any](ctx context.Context, items []T, n int, fn func(ctx context.Context, i int, it T) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for i, it := range items {
		g.Go(func() error { return fn(gctx, i, it) })
	}
	return g.Wait()
}
