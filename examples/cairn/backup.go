package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/dump"
	"github.com/cairnbackup/cairn/source/fs"
)

type backupCmd struct {
	tags             stringList
	host             string
	exclude          stringList
	excludeIfPresent stringList
	oneFileSystem    bool
	parent           string
	force            bool
	stdin            bool
	stdinName        string
	fromCommand      bool
	docker           dockerFlags
	limitRead        kibRate
}

func backupCommand() *command {
	c := &backupCmd{}
	return &command{
		name:     "backup",
		synopsis: "[flags] PATH... | --stdin | --stdin-from-command -- CMD [ARG...]",
		summary:  "back up directories (one snapshot per PATH), stdin or a command's output",
		help: `Every PATH is a source of its own and becomes a snapshot of its own.
Files unchanged since the parent snapshot (by default the latest one of the
same host and path) are not read again. Files that cannot be read are
reported as they are met; the snapshot is saved without them and the exit
status is 3.

With --stdin, standard input is stored as one file. With
--stdin-from-command, CMD runs and its output is stored as one file, for
example: cairn backup --stdin-from-command -- pg_dump -Fc app
If the command exits non-zero or is killed, or the input is empty, no
snapshot is saved and the exit status is 1; the end of the command's stderr
is in the error.`,
		flags: c.flags,
		run:   c.run,
	}
}

func (c *backupCmd) flags(set *flag.FlagSet) {
	set.Var(&c.tags, "tag", "add `TAG` to the snapshot (repeatable)")
	set.StringVar(&c.host, "host", "", "record `HOST` as the host name (default: this machine's)")
	set.Var(&c.exclude, "exclude", "leave out paths matching `PATTERN` (repeatable)")
	set.Var(&c.excludeIfPresent, "exclude-if-present", "leave out directories holding a file `NAME` (repeatable)")
	set.BoolVar(&c.oneFileSystem, "one-file-system", false, "do not cross into other file systems")
	set.StringVar(&c.parent, "parent", "", "compare with snapshot `ID` instead of the latest one (one PATH only)")
	set.BoolVar(&c.force, "force", false, "read every file, do not compare with a parent snapshot")
	set.BoolVar(&c.stdin, "stdin", false, "back up standard input as one file")
	set.StringVar(&c.stdinName, "stdin-filename", "", "store --stdin or the command's output as `NAME` (default stdin, or the command's name + .dump)")
	set.BoolVar(&c.fromCommand, "stdin-from-command", false, "run the command given after -- and back up its output")
	set.Var(&c.limitRead, "limit-read", "read file content at most `KiB` per second (0: no limit)")
	c.docker.backupFlags(set)
}

func (c *backupCmd) run(ctx context.Context, a *app, paths []string) error {
	switch {
	case c.stdin && c.fromCommand:
		return usageError(errors.New("backup: --stdin and --stdin-from-command exclude each other"))
	case c.stdin && len(paths) > 0:
		return usageError(errors.New("backup: --stdin takes no PATH"))
	case c.fromCommand && len(paths) == 0:
		return usageError(errors.New("backup: --stdin-from-command needs a command after --"))
	case c.stdinName != "" && !c.stdin && !c.fromCommand:
		return usageError(errors.New("backup: --stdin-filename goes with --stdin or --stdin-from-command"))
	case c.stdin || c.fromCommand:
		return c.runStream(ctx, a, paths)
	case c.docker.selected():
		return c.runDocker(ctx, a, paths)
	case len(paths) == 0:
		return usageError(errors.New("backup: give at least one PATH"))
	case c.parent != "" && c.force:
		return usageError(errors.New("backup: --parent and --force exclude each other"))
	case c.parent != "" && len(paths) > 1:
		return usageError(errors.New("backup: --parent needs a single PATH, as every PATH is a snapshot of its own"))
	}
	r, opts, err := c.setup(ctx, a)
	if err != nil {
		return err
	}
	defer r.Close()
	return a.backupEach(ctx, r, opts, paths, func(p string) (source.Source, error) {
		return fs.Dir(p, fs.Options{Exclude: c.exclude, ExcludeIfPresent: c.excludeIfPresent, OneFileSystem: c.oneFileSystem}), nil
	})
}

// backupEach saves one snapshot per name, the source open makes of it, and
// goes on after failures.
func (a *app) backupEach(ctx context.Context, r *repo.Repository, opts repo.BackupOptions, names []string,
	open func(string) (source.Source, error)) error {
	var failed, partial []error
	for _, name := range names {
		if ctx.Err() != nil {
			failed = append(failed, ctx.Err())
			break
		}
		src, err := open(name)
		if err == nil {
			err = a.backupOne(ctx, r, src, opts)
		}
		switch {
		case errors.Is(err, repo.ErrPartialSnapshot):
			partial = append(partial, err)
		case err != nil:
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		// A snapshot not saved at all outweighs one saved without some files.
		return &statusError{code: exitError, err: errors.Join(append(failed, partial...)...)}
	}
	return errors.Join(partial...)
}

// setup opens the repository and gathers the backup options.
func (c *backupCmd) setup(ctx context.Context, a *app) (*repo.Repository, repo.BackupOptions, error) {
	opts := repo.BackupOptions{
		Host: c.host, Tags: c.tags, NoParent: c.force,
		ProgressInterval: progressInterval, ProgramVersion: programVersion,
		Warn: a.fileWarning, ReadLimit: c.limitRead.bytes(),
	}
	r, err := a.open(ctx)
	if err != nil {
		return nil, opts, err
	}
	if c.parent != "" {
		sn, err := findSnapshot(ctx, r, c.parent)
		if err != nil {
			r.Close()
			return nil, opts, fmt.Errorf("parent: %w", err)
		}
		opts.Parent = &sn.ID
	}
	return r, opts, nil
}

// runStream backs up stdin or a command's output as one file.
func (c *backupCmd) runStream(ctx context.Context, a *app, command []string) error {
	r, opts, err := c.setup(ctx, a)
	if err != nil {
		return err
	}
	defer r.Close()
	var src *dump.Source
	if c.stdin {
		src = dump.Reader(a.stdin, c.stdinName)
	} else {
		src = dump.Command(command[0], command[1:]...)
		src.Name = c.stdinName
		src.Stderr = a.stderr
	}
	return a.backupOne(ctx, r, src, opts)
}

// backupOne saves one source and reports the snapshot.
func (a *app) backupOne(ctx context.Context, r *repo.Repository, src source.Source, opts repo.BackupOptions) error {
	line := a.progressLine()
	if line.on {
		opts.Progress = func(p repo.Progress) {
			if !p.Done {
				line.show(formatBackupProgress(p))
			}
		}
	}
	sn, err := r.Backup(ctx, src, opts)
	line.clear()
	if sn == nil {
		return err
	}
	if perr := a.reportBackup(sn, err != nil); perr != nil {
		return errors.Join(err, perr)
	}
	return err
}

// fileWarning reports a file that could not be backed up or restored.
func (a *app) fileWarning(path string, err error) {
	var pe *iofs.PathError
	if !errors.As(err, &pe) {
		err = fmt.Errorf("%s: %w", path, err)
	}
	a.warn(path, err)
}

// backupResult is backup's JSON output, one line per snapshot.
type backupResult struct {
	SnapshotID repo.ID  `json:"snapshot_id"`
	Paths      []string `json:"paths"`
	Parent     *repo.ID `json:"parent,omitempty"`
	Partial    bool     `json:"partial"`
	*repo.Summary
}

func (a *app) reportBackup(sn *repo.Snapshot, partial bool) error {
	if a.json {
		return a.printJSON(backupResult{SnapshotID: sn.ID, Paths: sn.Paths, Parent: sn.Parent, Partial: partial, Summary: sn.Summary})
	}
	parent := ""
	if sn.Parent != nil {
		parent = " (parent " + sn.Parent.Short() + ")"
	}
	a.infof("snapshot %s saved for %s%s", sn.ID.Short(), sn.Source.Description, parent)
	if s := sn.Summary; s != nil {
		a.infof("  files: %d new, %d changed, %d unchanged; %d dirs", s.FilesNew, s.FilesChanged, s.FilesUnchanged, s.Dirs)
		a.infof("  read %s, added %s (%s stored) in %s",
			formatBytes(s.BytesRead), formatBytes(s.BytesAdded), formatBytes(s.BytesStored), formatDuration(s.Duration))
		if n := len(s.Errors); n > 0 {
			a.infof("  %d files could not be read", n)
		}
	}
	return nil
}
