package docker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source/docker"
)

// Back up a volume with the containers that use it stopped for the read,
// and a flush command run in the database container before.
func ExampleConsistent() {
	ctx := context.Background()
	var r *repo.Repository // opened with repo.Open
	cli, err := docker.NewClient()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	src, err := docker.Open(ctx, cli, "shop_db", docker.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := docker.Consistency{
		Stop:  true,
		Hooks: []docker.Hook{{Container: "shop-db-1", Pre: []string{"/usr/local/bin/flush"}}},
	}
	// Backup stops the containers after the hook, before the walk, and
	// starts them again on every way out.
	sn, err := r.Backup(ctx, docker.Consistent(src, cli, c, nil), repo.BackupOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sn.ID)
}

// Back up the volumes of a compose project at one moment: their
// containers are paused once, for all the backups.
func ExampleQuiesceVolumes() {
	ctx := context.Background()
	var r *repo.Repository // opened with repo.Open
	cli, err := docker.NewClient()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	vols, err := docker.FindVolumes(ctx, cli, docker.Selector{Project: "shop"})
	if err != nil {
		fmt.Println(err)
		return
	}
	var names []string
	for _, v := range vols {
		names = append(names, v.Name)
	}
	resume, err := docker.QuiesceVolumes(ctx, cli, names, docker.Consistency{Pause: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		// Not cancelled with ctx: the containers must run again.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if rerr := resume(rctx); rerr != nil {
			fmt.Println(rerr)
		}
	}()
	var errs []error
	for _, name := range names {
		src, err := docker.Open(ctx, cli, name, docker.Options{})
		if err == nil {
			_, err = r.Backup(ctx, src, repo.BackupOptions{})
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Println(err)
	}
}
