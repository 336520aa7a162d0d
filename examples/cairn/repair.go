package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/cairnbackup/cairn/repo"
)

type repairCmd struct {
	forgetDamaged bool
	readData      bool
}

func repairCommand() *command {
	c := &repairCmd{}
	return &command{
		name:     "repair",
		synopsis: "index | snapshots [--forget-damaged] [--read-data]",
		summary:  "rebuild the index, or remove the snapshots damage harms",
		help: `index      read every pack's header and write a new index, replacing
           the old one, also when it cannot be read at all
snapshots  check the repository and list the snapshots that cannot be
           restored completely; with --forget-damaged, remove them

Data a missing or damaged pack held cannot be brought back: repair
snapshots removes what depended on it, so that the other snapshots check
clean and the next backup stores that data again.`,
		flags: c.flags,
		run:   c.run,
	}
}

func (c *repairCmd) flags(set *flag.FlagSet) {
	set.BoolVar(&c.forgetDamaged, "forget-damaged", false, "snapshots: remove the damaged snapshots (without it, only list them)")
	set.BoolVar(&c.readData, "read-data", false, "snapshots: download and verify every pack to find damage")
}

func (c *repairCmd) run(ctx context.Context, a *app, args []string) error {
	a.mode.uncached = true // what the store holds, not what is cached of it
	if len(args) != 1 || (args[0] != "index" && args[0] != "snapshots") {
		return usageError(errors.New("repair: give index or snapshots"))
	}
	if args[0] == "index" {
		if c.forgetDamaged || c.readData {
			return usageError(errors.New("repair index: --forget-damaged and --read-data go with repair snapshots"))
		}
		return repairIndex(ctx, a)
	}
	return c.repairSnapshots(ctx, a)
}

// openNoIndex opens the repository without reading its index, which may
// be damaged; only RebuildIndex works on it until that has run.
func (a *app) openNoIndex(ctx context.Context) (*repo.Repository, error) {
	a.mode.noIndex = true
	defer func() { a.mode.noIndex = false }()
	return a.open(ctx)
}

// rebuildJSON is repair index's JSON output.
type rebuildJSON struct {
	Packs      int           `json:"packs"`
	Blobs      int           `json:"blobs"`
	Unreadable []problemJSON `json:"unreadable"`
	Removed    []repo.ID     `json:"removed"`
}

func repairIndex(ctx context.Context, a *app) error {
	r, err := a.openNoIndex(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	rep, err := r.RebuildIndex(ctx)
	if err != nil {
		return fmt.Errorf("rebuild index: %w", err)
	}
	if a.json {
		out := rebuildJSON{Packs: rep.Packs, Blobs: rep.Blobs, Unreadable: newProblemsJSON(rep.Unreadable), Removed: rep.Removed}
		if out.Removed == nil {
			out.Removed = []repo.ID{}
		}
		return a.printJSON(out)
	}
	printProblems(a, rep.Unreadable)
	a.infof("rebuilt the index: %s, %s; %s removed", plural(rep.Packs, "pack"), plural(rep.Blobs, "blob"), plural(len(rep.Removed), "old index file"))
	if len(rep.Unreadable) > 0 {
		a.infof("%s left out: \"cairn repair snapshots\" finds the snapshots that need them", plural(len(rep.Unreadable), "unreadable file"))
	}
	return nil
}

// repairSnapshotsJSON is repair snapshots' JSON output.
type repairSnapshotsJSON struct {
	DryRun   bool          `json:"dry_run"`
	Problems []problemJSON `json:"problems"`
	Damaged  []repo.ID     `json:"damaged"`
	Removed  []repo.ID     `json:"removed"`
}

func (c *repairCmd) repairSnapshots(ctx context.Context, a *app) error {
	r, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	rep, err := a.check(ctx, r, repo.CheckOptions{ReadData: c.readData})
	if err != nil {
		return err
	}
	damaged := rep.Damaged()
	// Described before they are removed.
	names := make([]string, len(damaged))
	for i, id := range damaged {
		names[i] = describeSnapshot(ctx, r, id)
	}
	var removed []repo.ID
	if c.forgetDamaged {
		removed, err = r.ForgetDamaged(ctx, rep)
	}
	if a.json {
		out := repairSnapshotsJSON{DryRun: !c.forgetDamaged, Problems: newProblemsJSON(rep.Problems),
			Damaged: damaged, Removed: removed}
		if out.Damaged == nil {
			out.Damaged = []repo.ID{}
		}
		if out.Removed == nil {
			out.Removed = []repo.ID{}
		}
		return errors.Join(err, a.printJSON(out))
	}
	printProblems(a, rep.Problems)
	for i, id := range damaged {
		verb := "damaged"
		switch {
		case slices.Contains(removed, id):
			verb = "removed"
		case c.forgetDamaged:
			verb = "not removed"
		}
		fmt.Fprintf(a.stdout, "%s snapshot %s\n", verb, names[i])
	}
	switch {
	case err != nil:
		return fmt.Errorf("forget damaged snapshots: %w", err)
	case len(damaged) == 0 && rep.OK():
		a.infof("no damaged snapshots")
	case len(damaged) == 0:
		a.infof("no snapshot is harmed, but the repository has problems: see \"cairn check\"")
	case !c.forgetDamaged:
		a.infof("%s damaged; remove them with --forget-damaged", plural(len(damaged), "snapshot"))
	default:
		a.infof("removed %s; \"cairn repair index\" and \"cairn prune\" clear the rest", plural(len(removed), "damaged snapshot"))
	}
	return nil
}

// describeSnapshot names a snapshot with its time, host and paths, if it
// can be read.
func describeSnapshot(ctx context.Context, r *repo.Repository, id repo.ID) string {
	sn, err := r.LoadSnapshot(ctx, id)
	if err != nil {
		return id.Short() + " (unreadable)"
	}
	return fmt.Sprintf("%s of %s on %s: %s", id.Short(), sn.Time.Local().Format(timeLayout), sn.Host, strings.Join(sn.Paths, ", "))
}
