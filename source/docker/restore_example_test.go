package docker_test

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/docker"
)

// Restore a volume's snapshot into a new volume made like the one that
// was backed up: same driver and labels, another name.
func ExampleRestoreVolume() {
	ctx := context.Background()
	var r *repo.Repository // opened with repo.Open
	var id repo.ID         // a snapshot of a docker volume
	cli, err := docker.NewClient()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	sn, err := r.LoadSnapshot(ctx, id)
	if err != nil {
		fmt.Println(err)
		return
	}
	vol, err := docker.VolumeFromDetails(sn.Source.Details)
	if err != nil {
		fmt.Println(err)
		return
	}
	opts := docker.RestoreOptions{Create: true, Driver: vol.Driver, Labels: vol.Labels}
	err = docker.RestoreVolume(ctx, cli, vol.Name+"-restored", opts, func(ctx context.Context, t source.Target) error {
		return r.Restore(ctx, id, t, repo.RestoreOptions{Exclude: vol.ConfigExclude()})
	})
	if err != nil {
		fmt.Println(err)
	}
}
