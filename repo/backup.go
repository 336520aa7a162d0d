package repo

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/source"
)

// tidyTimeout bounds a source's tidy-up after the backup's context ended.
const tidyTimeout = 5 * time.Minute

// Backup saves everything src yields as a new snapshot and returns it.
//
// Files unchanged since the parent snapshot are not read. Files that cannot
// be read are reported through opts.Warn and left out; the snapshot is then
// saved all the same and returned with an error wrapping
// ErrPartialSnapshot. On any other error, or when ctx is cancelled, no
// snapshot is saved and the repository stays as it was, apart from packs
// that prune removes.
//
// A source that is a source.Preparer is prepared first and tidied on every
// way out, with a context that survives ctx's cancellation.
//
// The backup holds a shared lock (see Lock) and, once it has it, reads the
// index files stored since the repository was opened.
func (r *Repository) Backup(ctx context.Context, src source.Source, opts BackupOptions) (sn *Snapshot, err error) {
	opts, err = opts.withDefaults(r.cfg.Chunking.Max)
	if err != nil {
		return nil, err
	}
	err = r.withLock(ctx, "backup", false, func(ctx context.Context, l *Lock) error {
		sn, err = r.backup(ctx, l, src, opts)
		return err
	})
	return sn, err
}

func (r *Repository) backup(ctx context.Context, l *Lock, src source.Source, opts BackupOptions) (sn *Snapshot, err error) {
	info := src.Info()
	if err := r.refreshIndex(ctx); err != nil {
		return nil, fmt.Errorf("backup %s: %w", info.Description, err)
	}
	if p, ok := src.(source.Preparer); ok {
		tidy, perr := p.Prepare(ctx) // not err: the deferred join must reach the result
		if perr != nil {
			return nil, fmt.Errorf("backup %s: prepare: %w", info.Description, perr)
		}
		defer func() {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tidyTimeout)
			defer cancel()
			if terr := tidy(tctx); terr != nil {
				err = errors.Join(err, fmt.Errorf("backup %s: tidy up: %w", info.Description, terr))
			}
		}()
	}
	parent, err := r.backupParent(ctx, info, opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	a, err := newArchiver(r, src, opts, parent)
	if err != nil {
		return nil, err
	}
	defer a.w.discard() // after SaveSnapshot, nothing is left to discard
	root, err := a.run(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", info.Description, err)
	}
	// Asked again: a source may record what the walk found (a dump
	// command's exit status and byte count).
	sn = a.snapshot(src.Info(), opts, root, parent)
	sn.Summary.Duration = time.Since(start)
	if err := validLock(l); err != nil {
		return nil, fmt.Errorf("backup %s: %w", info.Description, err)
	}
	if _, err := a.w.SaveSnapshot(ctx, sn); err != nil {
		return nil, fmt.Errorf("backup %s: %w", info.Description, err)
	}
	a.report(true)
	if n := len(sn.Summary.Errors); n > 0 {
		return sn, fmt.Errorf("backup %s: %d files: %w", info.Description, a.errCount.Load(), ErrPartialSnapshot)
	}
	return sn, nil
}

// backupParent finds the snapshot to compare with, or nil.
func (r *Repository) backupParent(ctx context.Context, info source.Info, opts BackupOptions) (*Snapshot, error) {
	if opts.NoParent {
		return nil, nil
	}
	if opts.Parent != nil {
		return r.LoadSnapshot(ctx, *opts.Parent)
	}
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	for _, sn := range slices.Backward(snaps) {
		if sn.Host == opts.Host && sn.Source.Kind == info.Kind && slices.Equal(sn.Paths, info.Paths) {
			return sn, nil
		}
	}
	return nil, nil
}

// snapshot assembles the snapshot record of a finished walk.
func (a *archiver) snapshot(info source.Info, opts BackupOptions, root ID, parent *Snapshot) *Snapshot {
	sn := &Snapshot{
		Time: opts.Time, Host: opts.Host, Tags: slices.Sorted(slices.Values(opts.Tags)),
		Paths: info.Paths, Tree: root, ProgramVersion: opts.ProgramVersion,
		Source: SourceInfo{Kind: info.Kind, Description: info.Description, Details: info.Details},
	}
	if u, err := user.Current(); err == nil {
		sn.Username = u.Username
	}
	if parent != nil {
		id := parent.ID
		sn.Parent = &id
	}
	st := a.w.Stats()
	sn.Summary = &Summary{
		FilesNew: a.filesNew.Load(), FilesChanged: a.filesChanged.Load(),
		FilesUnchanged: a.filesUnchanged.Load(), Dirs: a.dirs.Load(),
		BytesRead: a.bytesRead.Load(), BytesAdded: st.Bytes, BytesStored: st.StoredBytes,
		Errors: a.errorList(),
	}
	return sn
}
