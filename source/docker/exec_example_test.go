package docker_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source/docker"
	"github.com/cairnbackup/cairn/source/dump"
)

// Dump every database of the postgres container into the repository as one
// file, postgres-pg_dumpall.dump; a failed pg_dumpall saves no snapshot.
func ExampleExec() {
	ctx := context.Background()
	var r *repo.Repository // opened with repo.Open
	cli, err := docker.NewClient()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	src := docker.Exec(cli, "postgres", "pg_dumpall", "-U", "postgres")
	src.Env = []string{"PGPASSWORD=secret"} // never recorded
	sn, err := r.Backup(ctx, src, repo.BackupOptions{})
	var ce *dump.CommandError
	switch {
	case errors.As(err, &ce):
		fmt.Println("pg_dumpall exited", ce.ExitCode, ce.Stderr)
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	fmt.Println(sn.ID)
}
