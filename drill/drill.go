package drill

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/repo"
	cairnfs "github.com/cairnbackup/cairn/source/fs"
)

// Options tune Run. The zero value restores the whole snapshot into a new
// temporary directory and removes it afterwards.
type Options struct {
	// Dir is the scratch directory to restore into. It must be empty or
	// not exist, and is removed afterwards unless Keep is set. Default: a
	// new directory under os.TempDir.
	Dir  string
	Keep bool
	// Sample is the chance of each regular file to be restored, from 0 to
	// 1; 0 and 1 restore all.
	Sample float64
	// Files, if positive, restores at most this many regular files,
	// chosen at random (among those Sample chose).
	Files int
	// Seed makes the sample reproducible; 0 picks one at random, which
	// Report.Seed tells.
	Seed int64
	// Path is a directory of the snapshot to drill instead of its root.
	Path string
}

func (o Options) sampled() bool { return (o.Sample > 0 && o.Sample < 1) || o.Files > 0 }

func (o Options) validate() error {
	if math.IsNaN(o.Sample) || o.Sample < 0 || o.Sample > 1 {
		return fmt.Errorf("drill: sample %v is not between 0 and 1", o.Sample)
	}
	if o.Files < 0 {
		return fmt.Errorf("drill: files %d is negative", o.Files)
	}
	return nil
}

// Mismatch is one difference between the snapshot and what was restored.
type Mismatch struct {
	Path string // relative to the restored directory; "." is its root
	// What differs: "content", "size", "bytes", "mode", "mtime", "owner",
	// "symlink target", "device", "xattrs", "hardlink", "type",
	// "missing", "unexpected" or "unreadable".
	What   string
	Detail string // for people: what was found and what the snapshot says
}

func (m Mismatch) String() string { return m.Path + ": " + m.What + ": " + m.Detail }

// Report is the outcome of a drill.
type Report struct {
	Snapshot repo.ID
	Seed     int64 // of the sample, for repeating it; 0 when not sampled

	// What was restored and checked: regular files (hard links
	// included), directories, and other entries.
	Files, Dirs, Other int
	Bytes              uint64 // content bytes restored
	Verified           int    // files read back and compared

	// OwnersChecked is set when the drill ran as root and so could
	// restore and compare owners.
	OwnersChecked bool
	Mismatches    []Mismatch
	// Warnings are what the target could not restore as this user and
	// went on without (device nodes, xattrs outside the user namespace)
	// and files it could not read back.
	Warnings []string

	Duration time.Duration
	Dir      string // the scratch directory, when kept
}

// OK reports whether the restore matched the snapshot.
func (r *Report) OK() bool { return len(r.Mismatches) == 0 }

// Run restores snapshot id of r, or a sample of it, into a scratch
// directory, checks content and metadata against the snapshot and reports
// the differences. A failed restore (damaged repository, I/O error) is
// returned as an error, wrapping the restore's error; the report then is
// nil.
func Run(ctx context.Context, r *repo.Repository, id repo.ID, opts Options) (_ *Report, err error) {
	start := time.Now()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	base, err := loadBase(ctx, r, id, opts.Path)
	if err != nil {
		return nil, fmt.Errorf("drill %s: %w", id.Short(), err)
	}
	rep := &Report{Snapshot: id, OwnersChecked: os.Geteuid() == 0}
	var keep map[string]bool // nil: everything
	if opts.sampled() {
		rep.Seed = opts.Seed
		for rep.Seed == 0 {
			rep.Seed = rand.Int64()
		}
		if keep, err = choose(ctx, r, base, opts, rep.Seed); err != nil {
			return nil, fmt.Errorf("drill %s: %w", id.Short(), err)
		}
	}

	dir, err := makeScratch(opts.Dir)
	if err != nil {
		return nil, err
	}
	if opts.Keep {
		rep.Dir = dir
	} else {
		defer func() { err = errors.Join(err, removeScratch(dir)) }()
	}
	c := newChecker(rep, base, keep, mtimeGranularity(dir))
	t := newTarget(dir, keep, c)
	if err := r.Restore(ctx, id, t, repo.RestoreOptions{Path: opts.Path}); err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	if err := c.compare(ctx, r, dir); err != nil {
		return nil, fmt.Errorf("drill %s: check %s: %w", id.Short(), dir, err)
	}
	t.finish(rep)
	slices.SortStableFunc(rep.Mismatches, func(a, b Mismatch) int { return comparePaths(a.Path, b.Path) })
	rep.Duration = time.Since(start)
	return rep, nil
}

// newTarget wraps a source/fs target into dir.
func newTarget(dir string, keep map[string]bool, c *checker) *target {
	t := &target{keep: keep, c: c}
	t.fs = cairnfs.Into(dir, cairnfs.TargetOptions{Warn: c.warn})
	return t
}
