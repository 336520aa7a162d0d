package repo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/pack"
	"github.com/cairnbackup/cairn/repo/backend"
)

// Prune frees the space of data no snapshot needs, in two phases, so that
// backups never wait for it and never lose a blob to it (FORMAT.md §12):
//
//   - Phase one condemns packs: those that hold no blob a snapshot needs,
//     those whose unused share is above PruneOptions.MaxUnused (after
//     copying their needed blobs into new packs), and packs that no index
//     names (left by crashed or running backups). It records them in a new
//     index file with the condemned flag; backups stop deduplicating
//     against them.
//   - Phase two deletes a condemned pack once every backup that held a lock
//     when it was condemned is gone, and only if a fresh read of all
//     snapshots shows that no blob in it is needed; otherwise the pack is
//     kept and no longer condemned. Prune runs phase two right after phase
//     one, so on a repository no backup is using the space comes free at
//     once; packs that wait for backups go in a later prune.
//
// Every new index file is written before anything is deleted. Prune holds
// the exclusive lock, so one runs at a time.

// DefaultMaxUnused is the unused share of a pack above which prune
// repacks it.
const DefaultMaxUnused = 0.05

// MaxClockSkew is how far the clocks of hosts sharing a repository may be
// apart. Prune waits for every backup whose lock was taken before a pack
// was condemned, plus this margin.
const MaxClockSkew = 10 * time.Minute

// PruneOptions tune Prune. The zero value prunes with the defaults.
type PruneOptions struct {
	// MaxUnused is the share of a pack's bytes that may be unused before
	// the pack is repacked: DefaultMaxUnused if zero; negative never
	// repacks (fully unused packs are condemned all the same).
	MaxUnused float64
	// MaxRepack bounds the bytes of packs repacked in one run; 0 means no
	// bound.
	MaxRepack int64
	// DryRun decides and reports without writing or deleting anything.
	DryRun bool
}

// PruneReport says what a prune did (or, with DryRun, would do).
type PruneReport struct {
	Snapshots  int
	Packs      int  // packs named by the index before the prune
	UsedBlobs  int  // blobs the snapshots need
	Condemned  []ID // packs condemned now, without needed blobs
	Repacked   []ID // packs condemned now, after copying their needed blobs
	Unindexed  []ID // packs no index named, condemned now
	Deleted    []ID // condemned packs deleted
	Kept       []ID // condemned packs kept because a snapshot needs them
	Waiting    []ID // condemned packs waiting for backups that may use them
	Missing    []ID // packs the index names that the backend lacks (see Check)
	Unreadable []ID // packs no index names whose header cannot be read, left alone
	// BytesDeleted is the size of the deleted packs; BytesRepacked the
	// content copied into new packs.
	BytesDeleted, BytesRepacked uint64
	IndexFiles                  int // index files written
	IndexFilesRemoved           int // superseded index files deleted
	DryRun                      bool
}

// Prune runs both phases of pruning; see the comment above PruneOptions.
func (r *Repository) Prune(ctx context.Context, opts PruneOptions) (*PruneReport, error) {
	if opts.MaxUnused == 0 {
		opts.MaxUnused = DefaultMaxUnused
	}
	if opts.MaxUnused > 1 || opts.MaxRepack < 0 {
		return nil, fmt.Errorf("prune: MaxUnused %v must be at most 1 and MaxRepack %d not negative", opts.MaxUnused, opts.MaxRepack)
	}
	rep := &PruneReport{DryRun: opts.DryRun}
	err := r.withLock(ctx, "prune", true, func(ctx context.Context, l *Lock) error {
		if err := r.prunePass(ctx, opts, l, rep); err != nil || opts.DryRun ||
			len(rep.Condemned)+len(rep.Repacked)+len(rep.Unindexed) == 0 {
			return err
		}
		// Phase two at once for what phase one condemned: with no backup
		// running, the space comes free now rather than at the next prune.
		again := &PruneReport{}
		err := r.prunePass(ctx, opts, l, again)
		rep.merge(again)
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("prune: %w", err)
	}
	return rep, nil
}

// prunePass is one pass of both phases.
func (r *Repository) prunePass(ctx context.Context, opts PruneOptions, l *Lock, rep *PruneReport) error {
	p := &pruner{r: r, opts: opts, lock: l, rep: rep}
	if err := p.load(ctx); err != nil {
		return err
	}
	p.plan()
	if opts.DryRun {
		return nil
	}
	return p.write(ctx)
}

// merge adds a second pass's deletions to the first pass's report.
func (rep *PruneReport) merge(again *PruneReport) {
	rep.Deleted = append(rep.Deleted, again.Deleted...)
	rep.Kept = append(rep.Kept, again.Kept...)
	rep.Waiting = again.Waiting
	rep.BytesDeleted += again.BytesDeleted
	rep.IndexFiles += again.IndexFiles
	rep.IndexFilesRemoved += again.IndexFilesRemoved
}

// pruner holds one prune's view of the repository.
type pruner struct {
	r    *Repository
	opts PruneOptions
	lock *Lock
	rep  *PruneReport

	files         map[ID]*index.File // the live index files
	condemnedOnly map[ID]bool        // files naming condemned packs only
	eligible      map[ID]bool        // files written before every other live lock
	packs         map[packKey]*prunePack
	stored        map[ID]int64 // packs in the backend, with their sizes
	unindexed     []index.Pack // stored packs no index file names
	used          blobSet
	toCopy        []pack.Handle // needed blobs of repacked packs
	dead          []ID          // index files superseded already (a crash's leftovers)
	ownLock       ID
}

// prunePack is one pack named by the live index files.
type prunePack struct {
	index.Pack
	condemnedBy []ID // condemned-only files that name it
	action      pruneAction
}

type pruneAction uint8

const (
	pruneKeep      pruneAction = iota // stays, listed in the new index
	pruneCondemn                      // condemned now: nothing in it is needed
	pruneRepack                       // condemned now, after copying what is needed
	pruneWait                         // stays condemned
	pruneDelete                       // condemned earlier and deletable now
	pruneUncondemn                    // condemned earlier but needed: listed again
)

// load reads the index files, the pack listing, the locks and then all
// snapshots, in that order: a backup that took its lock after the listing
// stored its snapshot after it too, and saw this prune's condemnations.
func (p *pruner) load(ctx context.Context) error {
	if err := p.loadIndex(ctx); err != nil {
		return err
	}
	p.stored = make(map[ID]int64)
	err := p.r.be.List(ctx, backend.PackFile, func(fi backend.FileInfo) error {
		id, err := crypto.ParseID(fi.Name)
		if err != nil {
			return fmt.Errorf("pack %q: %v: %w", fi.Name, err, ErrCorrupt)
		}
		p.stored[id] = fi.Size
		return nil
	})
	if err != nil {
		return fmt.Errorf("list packs: %w", err)
	}
	if err := p.loadLocks(ctx); err != nil {
		return err
	}
	snaps, err := p.r.Snapshots(ctx)
	if err != nil {
		return err
	}
	// Snapshots are stored after the index files that locate their trees:
	// reading the index now covers every snapshot just read.
	if err := p.r.refreshIndex(ctx); err != nil {
		return err
	}
	p.rep.Snapshots = len(snaps)
	if p.used, err = p.r.usedBlobs(ctx, snaps); err != nil {
		return err
	}
	p.rep.UsedBlobs = len(p.used)
	return p.loadUnindexed(ctx)
}

// loadIndex reads every index file and keeps the live ones.
func (p *pruner) loadIndex(ctx context.Context) error {
	ids, err := listIDs(ctx, p.r.be, backend.IndexFile)
	if err != nil {
		return err
	}
	all := make(map[ID]*index.File, len(ids))
	for _, id := range ids {
		if all[id], err = p.r.loadIndexFile(ctx, id); err != nil {
			return err
		}
	}
	for _, id := range ids {
		p.dead = append(p.dead, id) // the live ones are taken out below
	}
	p.files = make(map[ID]*index.File)
	p.condemnedOnly = make(map[ID]bool)
	p.packs = make(map[packKey]*prunePack)
	for _, id := range index.Live(all) {
		f := all[id]
		p.files[id] = f
		p.dead = slices.DeleteFunc(p.dead, func(d ID) bool { return d == id })
		onlyCondemned := len(f.Packs) > 0
		for _, ip := range f.Packs {
			onlyCondemned = onlyCondemned && ip.Condemned
		}
		p.condemnedOnly[id] = onlyCondemned
		for _, ip := range f.Packs {
			pp := p.pack(ip)
			if onlyCondemned {
				pp.condemnedBy = append(pp.condemnedBy, id)
			}
		}
	}
	p.rep.Packs = len(p.packs)
	return nil
}

// pack merges ip into the pack's entry: files may list a pack's blobs in
// parts.
func (p *pruner) pack(ip index.Pack) *prunePack {
	k := packKey{ip.ID, ip.Type}
	pp, ok := p.packs[k]
	if !ok {
		pp = &prunePack{Pack: index.Pack{ID: ip.ID, Type: ip.Type}}
		p.packs[k] = pp
	}
	have := make(map[ID]bool, len(pp.Blobs))
	for _, b := range pp.Blobs {
		have[b.ID] = true
	}
	for _, b := range ip.Blobs {
		if !have[b.ID] {
			pp.Blobs = append(pp.Blobs, b)
		}
	}
	return pp
}

// loadLocks decides which condemned-only files are eligible: no lock of
// another process that is not stale was taken before the file was written
// (plus MaxClockSkew).
func (p *pruner) loadLocks(ctx context.Context) error {
	locks, err := p.r.Locks(ctx)
	if err != nil {
		return err
	}
	if p.lock != nil {
		p.ownLock = p.lock.Info().ID
	}
	now := time.Now()
	p.eligible = make(map[ID]bool)
	for id, f := range p.files {
		p.eligible[id] = true
		for _, l := range locks {
			if l.ID != p.ownLock && !l.Stale(now) && !l.Since.After(f.Created.Add(MaxClockSkew)) {
				p.eligible[id] = false
			}
		}
	}
	return nil
}

// loadUnindexed reads the headers of stored packs that no index names.
func (p *pruner) loadUnindexed(ctx context.Context) error {
	named := make(map[ID]bool, len(p.packs))
	for k := range p.packs {
		named[k.id] = true
	}
	for id := range p.stored {
		if named[id] {
			continue
		}
		h, err := p.r.ReadPackHeader(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.rep.Unreadable = append(p.rep.Unreadable, id)
			continue
		}
		p.unindexed = append(p.unindexed, index.Pack{ID: id, Type: h.Type, Condemned: true, Blobs: h.Blobs})
		p.rep.Unindexed = append(p.rep.Unindexed, id)
	}
	return nil
}

// used reports whether a snapshot needs the blob.
func (p *pruner) isUsed(t pack.BlobType, id ID) bool {
	_, ok := p.used[pack.Handle{Type: t, ID: id}]
	return ok
}
