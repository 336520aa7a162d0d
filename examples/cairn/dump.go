package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
)

func dumpCommand() *command {
	return &command{
		name:     "dump",
		synopsis: "ID PATH",
		summary:  "write one file of a snapshot to stdout",
		help:     `PATH is relative to the directory that was backed up, as ls shows it.`,
		run:      runDump,
	}
}

func runDump(ctx context.Context, a *app, args []string) error {
	if len(args) != 2 {
		return usageError(errors.New("dump: give a snapshot ID and a PATH"))
	}
	name, err := snapshotPath(args[1])
	if err != nil {
		return err
	}
	r, sn, fsys, err := a.openFS(ctx, args[0])
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := fsys.Open(name)
	if errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("%s: not found in snapshot %s", displayPath(name), sn.ID.Short())
	}
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.IsDir() {
		return fmt.Errorf("%s is a directory: dump writes one file, restore writes directories", displayPath(name))
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", displayPath(name))
	}
	if _, err := io.Copy(a.stdout, f); err != nil {
		return fmt.Errorf("dump %s: %w", displayPath(name), err)
	}
	return nil
}
