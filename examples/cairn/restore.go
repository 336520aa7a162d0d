package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/docker"
	"github.com/cairnbackup/cairn/source/fs"
)

type restoreCmd struct {
	target    string
	path      string
	include   stringList
	exclude   stringList
	verify    bool
	overwrite string
	noOwner   bool
	volume    string
	mode      string
	stop      bool
}

func restoreCommand() *command {
	c := &restoreCmd{}
	return &command{
		name:     "restore",
		synopsis: "ID --target DIR | --docker-volume NAME [flags]",
		summary:  "restore a snapshot into a directory or a Docker volume",
		help: `--path restores one directory of the snapshot: its contents land in DIR.
--include and --exclude patterns are relative to it.`,
		flags: c.flags,
		run:   c.run,
	}
}

func (c *restoreCmd) flags(set *flag.FlagSet) {
	set.StringVar(&c.target, "target", "", "restore into `DIR` (required)")
	set.StringVar(&c.path, "path", "", "restore only the directory `SUBDIR` of the snapshot")
	set.Var(&c.include, "include", "restore only paths matching `PATTERN` (repeatable)")
	set.Var(&c.exclude, "exclude", "leave out paths matching `PATTERN` (repeatable)")
	set.BoolVar(&c.verify, "verify", false, "read every restored file back and check it")
	set.StringVar(&c.overwrite, "overwrite", "always", "replace existing files: `MODE` always, if-changed or never")
	set.BoolVar(&c.noOwner, "no-owner", false, "do not restore file owners")
	set.StringVar(&c.volume, "docker-volume", "", "restore into the Docker volume `NAME`, created like the one backed up if missing")
	set.StringVar(&c.mode, "docker-mode", "auto", "write the volume `MODE`: auto, direct (mountpoint) or helper (container archive)")
	set.BoolVar(&c.stop, "stop-containers", false, "stop the running containers that use the volume during the restore and start them again afterwards")
}

// overwriteModes maps --overwrite values to the target's modes.
var overwriteModes = map[string]fs.Overwrite{
	"always":     fs.OverwriteAlways,
	"if-changed": fs.OverwriteIfChanged,
	"never":      fs.OverwriteNever,
}

func (c *restoreCmd) run(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return usageError(errors.New("restore: give one snapshot ID"))
	}
	mode, ok := dockerModes[c.mode]
	switch {
	case c.target == "" && c.volume == "":
		return usageError(errors.New("restore: --target DIR or --docker-volume NAME is required"))
	case c.target != "" && c.volume != "":
		return usageError(errors.New("restore: --target and --docker-volume exclude each other"))
	case !ok:
		return usageError(fmt.Errorf("restore: --docker-mode %q: want auto, direct or helper", c.mode))
	case c.stop && c.volume == "":
		return usageError(errors.New("restore: --stop-containers needs --docker-volume"))
	}
	overwrite, ok := overwriteModes[c.overwrite]
	if !ok {
		return usageError(fmt.Errorf("restore: --overwrite %q: want always, if-changed or never", c.overwrite))
	}
	sub, err := snapshotPath(c.path)
	if err != nil {
		return err
	}
	r, sn, err := a.openSnapshot(ctx, args[0])
	if err != nil {
		return err
	}
	defer r.Close()
	dirOpts := fs.TargetOptions{Overwrite: overwrite, NoOwner: c.noOwner, Warn: a.fileWarning}

	line := a.progressLine()
	var mu sync.Mutex
	var last repo.RestoreProgress
	opts := repo.RestoreOptions{
		Path: sub, Include: c.include, Exclude: c.exclude, Verify: c.verify,
		ProgressInterval: progressInterval,
		Progress: func(p repo.RestoreProgress) {
			mu.Lock()
			last = p
			mu.Unlock()
			if !p.Done {
				line.show(formatRestoreProgress(p))
			}
		},
	}
	var skipped uint64
	restore := func(ctx context.Context, t source.Target) error {
		err := r.Restore(ctx, sn.ID, t, opts)
		if ft, ok := t.(*fs.Target); ok {
			skipped = ft.Skipped()
		}
		return err
	}
	where := c.target
	if c.volume != "" {
		where = "volume " + c.volume
		opts.Exclude = append(opts.Exclude, volumeConfigExclude(sn, sub)...)
		vopts := docker.RestoreOptions{Mode: mode, Dir: dirOpts, Stop: c.stop}
		err = a.restoreVolume(ctx, c.volume, vopts, sn, restore)
	} else {
		err = restore(ctx, fs.Into(c.target, dirOpts))
	}
	line.clear()
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return a.reportRestore(sn, where, last, skipped)
}

// restoreResult is restore's JSON output.
type restoreResult struct {
	SnapshotID repo.ID       `json:"snapshot_id"`
	Target     string        `json:"target"`
	Files      uint64        `json:"files"`
	Dirs       uint64        `json:"dirs"`
	Other      uint64        `json:"other"`
	Bytes      uint64        `json:"bytes"`
	Verified   uint64        `json:"verified"`
	Skipped    uint64        `json:"skipped"`
	Duration   time.Duration `json:"duration"`
}

func (a *app) reportRestore(sn *repo.Snapshot, target string, p repo.RestoreProgress, skipped uint64) error {
	if a.json {
		return a.printJSON(restoreResult{SnapshotID: sn.ID, Target: target, Files: p.Files, Dirs: p.Dirs,
			Other: p.Other, Bytes: p.Bytes, Verified: p.Verified, Skipped: skipped, Duration: p.Elapsed})
	}
	a.infof("restored snapshot %s to %s: %d files, %d dirs, %d other, %s in %s",
		sn.ID.Short(), target, p.Files, p.Dirs, p.Other, formatBytes(p.Bytes), formatDuration(p.Elapsed))
	if p.Verified > 0 {
		a.infof("  %d files verified", p.Verified)
	}
	if skipped > 0 {
		a.infof("  %d files skipped: already there", skipped)
	}
	return nil
}
