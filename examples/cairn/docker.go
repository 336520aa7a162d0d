package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/docker"
)

// dockerFlags select Docker volumes or an exec dump for backup and a
// volume for restore.
type dockerFlags struct {
	volumes stringList
	labels  stringList
	project string
	exec    string
	mode    string
	stop    bool
	pause   bool
	images  bool
	config  bool
}

func (d *dockerFlags) backupFlags(set *flag.FlagSet) {
	set.Var(&d.volumes, "docker-volume", "back up the Docker volume `NAME` (repeatable; one snapshot each)")
	set.Var(&d.labels, "docker-label", "back up every Docker volume labelled `KEY=VALUE` (repeatable: all must match)")
	set.StringVar(&d.project, "docker-project", "", "back up every volume of the compose project `NAME`")
	set.StringVar(&d.exec, "docker-exec", "", "run the command given after -- in `CONTAINER` and back up its output")
	set.StringVar(&d.mode, "docker-mode", "auto", "read volumes `MODE`: auto, direct (mountpoint) or helper (container archive)")
	set.BoolVar(&d.stop, "stop-containers", false, "stop the running containers that use the volumes (once, for all of them) and start them again afterwards")
	set.BoolVar(&d.pause, "pause-containers", false, "pause the running containers that use the volumes instead of stopping them")
	set.BoolVar(&d.config, "docker-config", true, "store the inspect JSON of each volume, its containers and their images under .cairn/ in its snapshot")
	set.BoolVar(&d.images, "docker-images", false, "also store the images of the containers that use each volume (docker save)")
}

func (d *dockerFlags) selected() bool {
	return len(d.volumes) > 0 || len(d.labels) > 0 || d.project != "" || d.exec != ""
}

var dockerModes = map[string]docker.Mode{"auto": docker.ModeAuto, "direct": docker.ModeDirect, "helper": docker.ModeHelper}

// runDocker backs up the selected volumes, one snapshot each, or an exec
// dump.
func (c *backupCmd) runDocker(ctx context.Context, a *app, args []string) (err error) {
	mode, ok := dockerModes[c.docker.mode]
	switch {
	case !ok:
		return usageError(fmt.Errorf("backup: --docker-mode %q: want auto, direct or helper", c.docker.mode))
	case c.docker.exec != "" && len(args) == 0:
		return usageError(errors.New("backup: --docker-exec needs a command after --"))
	case c.docker.exec == "" && len(args) > 0:
		return usageError(errors.New("backup: Docker volumes take no PATH"))
	case c.docker.stop && c.docker.pause:
		return usageError(errors.New("backup: --stop-containers and --pause-containers exclude each other"))
	case c.docker.images && !c.docker.config:
		return usageError(errors.New("backup: --docker-images needs --docker-config"))
	}
	cli, err := docker.NewClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	r, opts, err := c.setup(ctx, a)
	if err != nil {
		return err
	}
	defer r.Close()
	if c.docker.exec != "" {
		src := docker.Exec(cli, c.docker.exec, args...)
		src.Name, src.Stderr = c.stdinName, a.stderr
		return a.backupOne(ctx, r, src, opts)
	}
	vols, err := docker.FindVolumes(ctx, cli, docker.Selector{Names: c.docker.volumes, Labels: c.docker.labels, Project: c.docker.project})
	if err != nil {
		return err
	}
	if len(vols) == 0 {
		return errors.New("backup: no Docker volume matches")
	}
	names := make([]string, len(vols))
	for i, v := range vols {
		names[i] = v.Name
	}
	if c.docker.stop || c.docker.pause {
		// Once for the whole set, so the volumes are consistent with each
		// other; started again on every way out.
		resume, qerr := docker.QuiesceVolumes(ctx, cli, names, docker.Consistency{Stop: c.docker.stop, Pause: c.docker.pause})
		if qerr != nil {
			return qerr
		}
		defer func() {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
			defer cancel()
			if rerr := resume(tctx); rerr != nil {
				err = errors.Join(err, fmt.Errorf("starting containers again: %w", rerr))
			}
		}()
	}
	return a.backupEach(ctx, r, opts, names, func(name string) (source.Source, error) {
		return docker.Open(ctx, cli, name, docker.Options{Mode: mode, NoConfig: !c.docker.config, Images: c.docker.images})
	})
}

// volumeConfigExclude leaves out the configuration that a volume snapshot
// holds next to the volume's files when its root goes into a volume.
func volumeConfigExclude(sn *repo.Snapshot, sub string) []string {
	if sn.Source.Kind != "docker-volume" || sub != "." {
		return nil
	}
	v, err := docker.VolumeFromDetails(sn.Source.Details)
	if err != nil {
		return nil
	}
	return v.ConfigExclude()
}

// restoreVolume restores sn into the Docker volume name, creating it like
// the one backed up when it does not exist.
func (a *app) restoreVolume(ctx context.Context, name string, opts docker.RestoreOptions, sn *repo.Snapshot,
	restore func(context.Context, source.Target) error) error {
	cli, err := docker.NewClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	opts.Create = true
	if sn.Source.Kind == "docker-volume" {
		if v, err := docker.VolumeFromDetails(sn.Source.Details); err == nil {
			opts.Driver, opts.Labels = v.Driver, v.Labels
		}
	}
	return docker.RestoreVolume(ctx, cli, name, opts, restore)
}
