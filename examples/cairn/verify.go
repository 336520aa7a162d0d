package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/drill"
	"github.com/cairnbackup/cairn/repo"
)

type verifyCmd struct {
	sample string
	files  int
	seed   int64
	dir    string
	keep   bool
	path   string
}

func verifyCommand() *command {
	c := &verifyCmd{}
	return &command{
		name:     "verify",
		synopsis: "ID [--sample P%] [--files N] [--seed S] [--dir DIR] [--keep] [--path SUBDIR]",
		summary:  "restore a snapshot, or a sample of it, to scratch space and check it",
		help: `A restore drill: every restored file is read back and compared with the
snapshot, content and metadata. --sample and --files restore a random
choice of files; the seed printed repeats the choice with --seed. The
scratch directory (by default a new one under $TMPDIR) is removed
afterwards unless --keep is given.

The exit status is 1 when anything restored differs from the snapshot.`,
		flags: c.flags,
		run:   c.run,
	}
}

func (c *verifyCmd) flags(set *flag.FlagSet) {
	set.StringVar(&c.sample, "sample", "", "restore each file with a chance of `P%`")
	set.IntVar(&c.files, "files", 0, "restore at most `N` files, chosen at random")
	set.Int64Var(&c.seed, "seed", 0, "choose the sample with `SEED`, to repeat an earlier one")
	set.StringVar(&c.dir, "dir", "", "restore into `DIR`, which must be empty or not exist")
	set.BoolVar(&c.keep, "keep", false, "keep the restored files")
	set.StringVar(&c.path, "path", "", "verify only the directory `SUBDIR` of the snapshot")
}

func (c *verifyCmd) run(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return usageError(errors.New("verify: give one snapshot ID"))
	}
	opts := drill.Options{Dir: c.dir, Keep: c.keep, Files: c.files, Seed: c.seed}
	if c.sample != "" {
		p, err := parsePercent(c.sample)
		if err != nil || p == 0 {
			return usageError(fmt.Errorf("verify: --sample %q: want a percentage above 0%% and at most 100%%", c.sample))
		}
		opts.Sample = p
	}
	if c.files < 0 {
		return usageError(fmt.Errorf("verify: --files %d: want a positive count", c.files))
	}
	sub, err := snapshotPath(c.path)
	if err != nil {
		return usageError(err)
	}
	opts.Path = sub
	r, sn, err := a.openSnapshot(ctx, args[0])
	if err != nil {
		return err
	}
	defer r.Close()
	rep, err := drill.Run(ctx, r, sn.ID, opts)
	if err != nil {
		return fmt.Errorf("verify %s: %w", sn.ID.Short(), err)
	}
	if a.json {
		err = a.printJSON(newVerifyJSON(rep))
	} else {
		printVerify(a, rep)
	}
	if err == nil && !rep.OK() {
		err = &statusError{code: exitError, err: fmt.Errorf("snapshot %s does not restore as it was backed up: %d differences",
			sn.ID.Short(), len(rep.Mismatches))}
	}
	return err
}

func printVerify(a *app, rep *drill.Report) {
	for _, m := range rep.Mismatches {
		fmt.Fprintf(a.stdout, "differs: %s\n", m)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(a.stdout, "warning: %s\n", w)
	}
	owners := "owners not compared: not root"
	if rep.OwnersChecked {
		owners = "owners compared"
	}
	a.infof("verified snapshot %s: %s (%d read back), %s, %d other, %s in %s; %s",
		rep.Snapshot.Short(), plural(rep.Files, "file"), rep.Verified, plural(rep.Dirs, "dir"), rep.Other,
		formatBytes(rep.Bytes), formatDuration(rep.Duration), owners)
	if rep.Seed != 0 {
		a.infof("  a sample: repeat it with --seed %d", rep.Seed)
	}
	if rep.Dir != "" {
		a.infof("  restored files kept in %s", rep.Dir)
	}
	if rep.OK() {
		a.infof("  everything matches the snapshot")
	}
}

// verifyJSON is verify's JSON output.
type verifyJSON struct {
	OK            bool           `json:"ok"`
	SnapshotID    repo.ID        `json:"snapshot_id"`
	Seed          int64          `json:"seed,omitempty"`
	Files         int            `json:"files"`
	Dirs          int            `json:"dirs"`
	Other         int            `json:"other"`
	Bytes         uint64         `json:"bytes"`
	Verified      int            `json:"verified"`
	OwnersChecked bool           `json:"owners_checked"`
	Mismatches    []mismatchJSON `json:"mismatches"`
	Warnings      []string       `json:"warnings"`
	Duration      time.Duration  `json:"duration"`
	Dir           string         `json:"dir,omitempty"`
}

type mismatchJSON struct {
	Path   string `json:"path"`
	What   string `json:"what"`
	Detail string `json:"detail"`
}

func newVerifyJSON(rep *drill.Report) verifyJSON {
	out := verifyJSON{OK: rep.OK(), SnapshotID: rep.Snapshot, Seed: rep.Seed, Files: rep.Files, Dirs: rep.Dirs,
		Other: rep.Other, Bytes: rep.Bytes, Verified: rep.Verified, OwnersChecked: rep.OwnersChecked,
		Mismatches: []mismatchJSON{}, Warnings: rep.Warnings, Duration: rep.Duration, Dir: rep.Dir}
	for _, m := range rep.Mismatches {
		out.Mismatches = append(out.Mismatches, mismatchJSON{m.Path, m.What, m.Detail})
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	return out
}
