package docker_test

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source/docker"
)

// Back up every volume of a compose project, each as its own snapshot.
func Example() {
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
	for _, v := range vols {
		src, err := docker.Open(ctx, cli, v.Name, docker.Options{}) // direct if readable, else helper
		if err != nil {
			fmt.Println(err)
			return
		}
		sn, err := r.Backup(ctx, src, repo.BackupOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(v.Name, sn.ID)
	}
}
