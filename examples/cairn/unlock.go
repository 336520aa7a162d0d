package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/cairnbackup/cairn/repo"
)

type unlockCmd struct{ all bool }

func unlockCommand() *command {
	c := &unlockCmd{}
	return &command{
		name:     "unlock",
		synopsis: "[--remove-all]",
		summary:  "remove stale locks",
		help: `A lock is stale when its holder has not refreshed it in time, or ran on
this host under a process ID that no longer exists. --remove-all removes
every lock: only when no other process uses the repository.`,
		flags: c.flags,
		run:   c.run,
	}
}

func (c *unlockCmd) flags(set *flag.FlagSet) {
	set.BoolVar(&c.all, "remove-all", false, "remove every lock, also those of live processes")
}

// lockJSON is a lock as unlock lists it with --json.
type lockJSON struct {
	ID repo.ID `json:"id"`
	repo.LockInfo
}

func newLocksJSON(list []repo.LockInfo) []lockJSON {
	out := make([]lockJSON, len(list))
	for i, l := range list {
		out[i] = lockJSON{l.ID, l}
	}
	return out
}

func (c *unlockCmd) run(ctx context.Context, a *app, args []string) error {
	if len(args) != 0 {
		return usageError(errors.New("unlock takes no arguments"))
	}
	r, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	removed, err := r.RemoveLocks(ctx, c.all)
	if err != nil {
		// Those removed before the failure are gone all the same.
		for _, l := range removed {
			a.infof("removed %s", l)
		}
		return fmt.Errorf("remove locks: %w", err)
	}
	left, err := r.Locks(ctx)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(struct {
			Removed []lockJSON `json:"removed"`
			Left    []lockJSON `json:"left"`
		}{newLocksJSON(removed), newLocksJSON(left)})
	}
	for _, l := range removed {
		fmt.Fprintf(a.stdout, "removed %s\n", l)
	}
	for _, l := range left {
		fmt.Fprintf(a.stdout, "left %s: not stale\n", l)
	}
	if len(removed) == 0 {
		a.infof("no stale locks")
	}
	return nil
}
