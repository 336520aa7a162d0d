package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/moby/moby/client"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/docker"
)

// programVersion is recorded in the snapshots the agent takes.
const programVersion = "cairn-agent"

// resumeTimeout bounds starting containers again after a backup, on a
// context that survives the backup's cancellation.
const resumeTimeout = 5 * time.Minute

// cairnRunner is the Runner that backs up Docker volumes and dumps into
// a cairn repository.
type cairnRunner struct {
	cli       *client.Client
	repo      *opener
	host      string
	readLimit int64   // bytes per second read from sources; 0: none
	sample    float64 // of the drill, 0..1
	log       *slog.Logger
}

var (
	_ Runner = (*cairnRunner)(nil)
	_ Pinger = (*cairnRunner)(nil)
)

// Ping reaches the repository.
func (c *cairnRunner) Ping(ctx context.Context) error { return c.repo.ping(ctx) }

// Backup takes t's snapshots.
func (c *cairnRunner) Backup(ctx context.Context, t *Target) (BackupResult, error) {
	r, err := c.repo.get(ctx)
	if err != nil {
		return BackupResult{}, err
	}
	var res BackupResult
	switch t.Kind {
	case KindVolume:
		err = c.backupVolume(ctx, r, t, &res)
	case KindDump:
		err = c.backupDump(ctx, r, t, &res)
	case KindContainer:
		err = c.backupContainer(ctx, r, t, &res)
	default:
		err = fmt.Errorf("unknown target kind %q", t.Kind)
	}
	if st, serr := r.Stats(ctx); serr == nil {
		res.RepoSize = st.StoredBytes
	}
	return res, err
}

// options are the backup options of t's snapshots.
func (c *cairnRunner) options(t *Target) repo.BackupOptions {
	return repo.BackupOptions{Host: c.host, Tags: []string{t.Tag()}, ReadLimit: c.readLimit,
		ProgramVersion: programVersion,
		Warn: func(path string, err error) {
			c.log.Warn("file not read", "target", t.ID, "path", path, "error", err.Error())
		}}
}

// save backs up src and adds the snapshot to res. A partial snapshot
// (files that could not be read) is counted, and its error returned.
func (c *cairnRunner) save(ctx context.Context, r *repo.Repository, t *Target, src source.Source, res *BackupResult) error {
	sn, err := r.Backup(ctx, src, c.options(t))
	if sn != nil {
		res.Snapshots = append(res.Snapshots, sn.ID.String())
		if s := sn.Summary; s != nil {
			res.BytesAdded += s.BytesAdded
			res.Files += s.FilesNew + s.FilesChanged + s.FilesUnchanged
		}
	}
	return err
}

// backupVolume backs up a volume, quiesced by docker.Consistent: with
// Stop the containers that use it are stopped, and the exec hooks of the
// volume's labels run in each running container that uses it. Only the
// target's own labels count: containers elsewhere on the daemon labelled
// cairn.stop-during-backup are left alone (IgnoreLabels), so one agent's
// backup never stops what it was not asked to.
func (c *cairnRunner) backupVolume(ctx context.Context, r *repo.Repository, t *Target, res *BackupResult) error {
	src, err := docker.Open(ctx, c.cli, t.Name, docker.Options{})
	if err != nil {
		return err
	}
	cons := docker.Consistency{Stop: t.Stop, Hooks: volumeHooks(src, t), IgnoreLabels: true}
	return c.save(ctx, r, t, docker.Consistent(src, c.cli, cons, nil), res)
}

// volumeHooks returns the hooks of t's labels for each running container
// that uses src's volume.
func volumeHooks(src source.Source, t *Target) []docker.Hook {
	if len(t.PreHook) == 0 && len(t.PostHook) == 0 {
		return nil
	}
	v, ok := src.(interface{ Volume() docker.VolumeInfo })
	if !ok {
		return nil
	}
	var hooks []docker.Hook
	for _, ci := range v.Volume().Containers {
		if ci.State == "running" {
			hooks = append(hooks, docker.Hook{Container: ci.Name, Pre: t.PreHook, Post: t.PostHook})
		}
	}
	return hooks
}

// backupDump runs t's command in its container and stores the output;
// exec hooks of the container's labels run around it.
func (c *cairnRunner) backupDump(ctx context.Context, r *repo.Repository, t *Target, res *BackupResult) (err error) {
	if len(t.PreHook) > 0 || len(t.PostHook) > 0 {
		resume, err := docker.Quiesce(ctx, c.cli, []string{t.Name}, docker.Consistency{})
		if err != nil {
			return err
		}
		defer c.resume(ctx, resume, &err)
	}
	src := docker.Exec(c.cli, t.Name, t.DumpCmd...)
	src.Name = t.DumpName
	return c.save(ctx, r, t, src, res)
}

// backupContainer backs up every named volume of a container, one
// snapshot each, quiesced once for all of them: with Stop the containers
// that use them are stopped, and the container's own exec hooks run. As
// for volumes, labels of other containers do not count.
func (c *cairnRunner) backupContainer(ctx context.Context, r *repo.Repository, t *Target, res *BackupResult) (err error) {
	cons := docker.Consistency{Stop: t.Stop, IgnoreLabels: true}
	if len(t.PreHook) > 0 || len(t.PostHook) > 0 {
		cons.Hooks = []docker.Hook{{Container: t.Name, Pre: t.PreHook, Post: t.PostHook}}
	}
	resume, err := docker.QuiesceVolumes(ctx, c.cli, t.Volumes, cons)
	if err != nil {
		return err
	}
	defer c.resume(ctx, resume, &err)
	var errs []error
	for _, name := range t.Volumes {
		if ctx.Err() != nil {
			break
		}
		src, err := docker.Open(ctx, c.cli, name, docker.Options{})
		if err == nil {
			err = c.save(ctx, r, t, src, res)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("volume %s: %w", name, err))
		}
	}
	return errors.Join(append(errs, ctx.Err())...)
}

// resume starts quiesced containers again, on a context that outlives
// ctx's cancellation, and adds its failure to *err.
func (c *cairnRunner) resume(ctx context.Context, resume func(context.Context) error, err *error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resumeTimeout)
	defer cancel()
	if rerr := resume(rctx); rerr != nil {
		*err = errors.Join(*err, fmt.Errorf("starting containers again: %w", rerr))
	}
}
