package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/repo"
)

type checkCmd struct {
	readData bool
	subset   string
}

func checkCommand() *command {
	c := &checkCmd{}
	return &command{
		name:     "check",
		synopsis: "[--read-data | --read-data-subset N/M | P%]",
		summary:  "verify the repository and name the snapshots any damage harms",
		help: `Without flags, check reads snapshots, trees, the index and pack headers.
--read-data downloads and verifies every pack; --read-data-subset 2/5 the
second fifth of them (the same packs every time, so 1/5 to 5/5 read all),
or 10% a random tenth.

The exit status is 1 when a problem needs a repair; packs no index names
(left by a running or crashed backup, removed by prune) are only warnings.`,
		flags: c.flags,
		run:   c.run,
	}
}

func (c *checkCmd) flags(set *flag.FlagSet) {
	set.BoolVar(&c.readData, "read-data", false, "download and verify every pack")
	set.StringVar(&c.subset, "read-data-subset", "", "download and verify the packs of part `N/M`, or P% of them at random")
}

func (c *checkCmd) run(ctx context.Context, a *app, args []string) error {
	a.mode.uncached = true // what the store holds, not what is cached of it
	if len(args) != 0 {
		return usageError(errors.New("check takes no arguments"))
	}
	opts := repo.CheckOptions{ReadData: c.readData}
	if c.subset != "" {
		if c.readData {
			return usageError(errors.New("check: --read-data and --read-data-subset exclude each other"))
		}
		d, err := repo.ParseDataSubset(c.subset)
		if err != nil {
			return usageError(fmt.Errorf("check: --read-data-subset: %w", err))
		}
		opts.Subset = d
	}
	r, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	rep, err := a.check(ctx, r, opts)
	if err != nil {
		return err
	}
	if a.json {
		if err := a.printJSON(newCheckJSON(rep)); err != nil {
			return err
		}
	} else {
		printProblems(a, rep.Problems)
		a.infof("checked %s, %s, %s, %s (%d read, %s)", plural(rep.Snapshots, "snapshot"), plural(rep.Trees, "tree"),
			plural(rep.DataBlobs, "data blob"), plural(rep.Packs, "pack"), rep.PacksRead, formatBytes(rep.BytesRead))
		if rep.OK() {
			a.infof("no errors found")
		}
	}
	return damageError(rep)
}

// check runs Check with a progress line.
func (a *app) check(ctx context.Context, r *repo.Repository, opts repo.CheckOptions) (*repo.CheckReport, error) {
	line := a.progressLine()
	if line.on {
		start := time.Now()
		opts.Progress = func(p repo.CheckProgress) {
			s := fmt.Sprintf("[%s] %s %d", formatDuration(time.Since(start)), p.Phase, p.Done)
			if p.Total > 0 {
				s += fmt.Sprintf("/%d", p.Total)
			}
			if p.BytesRead > 0 {
				s += ", " + formatBytes(p.BytesRead) + " read"
			}
			line.show(s)
		}
	}
	rep, err := r.Check(ctx, opts)
	line.clear()
	return rep, err
}

// damageError is the error for a report that is not OK, nil for one that
// is.
func damageError(rep *repo.CheckReport) error {
	if rep.OK() {
		return nil
	}
	n := 0
	for _, p := range rep.Problems {
		if !p.Kind.Harmless() {
			n++
		}
	}
	msg := "the repository is damaged: " + plural(n, "problem")
	if d := rep.Damaged(); len(d) > 0 {
		msg += fmt.Sprintf(", %s harmed (%s): \"cairn repair snapshots\" lists them", plural(len(d), "snapshot"), shortIDs(d))
	}
	return &statusError{code: exitError, err: errors.New(msg)}
}

// printProblems prints one problem per paragraph: kind and object, what is
// wrong, and the snapshots it harms.
func printProblems(a *app, problems []repo.Problem) {
	for _, p := range problems {
		level := "error"
		if p.Kind.Harmless() {
			level = "warning"
		}
		fmt.Fprintf(a.stdout, "%s: %s: %s\n", level, p.Kind, p.Object)
		if p.Err != nil {
			fmt.Fprintf(a.stdout, "  %v\n", p.Err)
		}
		if len(p.Snapshots) > 0 {
			fmt.Fprintf(a.stdout, "  harms snapshots %s\n", shortIDs(p.Snapshots))
		}
	}
}

func shortIDs(ids []repo.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.Short()
	}
	return strings.Join(s, ", ")
}

// checkJSON is check's JSON output.
type checkJSON struct {
	OK        bool          `json:"ok"`
	Snapshots int           `json:"snapshots"`
	Trees     int           `json:"trees"`
	DataBlobs int           `json:"data_blobs"`
	Packs     int           `json:"packs"`
	PacksRead int           `json:"packs_read"`
	BytesRead uint64        `json:"bytes_read"`
	Problems  []problemJSON `json:"problems"`
	Damaged   []repo.ID     `json:"damaged"`
}

// problemJSON is a repo.Problem with its error as a string.
type problemJSON struct {
	Kind      string    `json:"kind"`
	Harmless  bool      `json:"harmless"`
	Object    string    `json:"object"`
	Error     string    `json:"error"`
	Snapshots []repo.ID `json:"snapshots"`
}

func newProblemsJSON(list []repo.Problem) []problemJSON {
	out := make([]problemJSON, len(list))
	for i, p := range list {
		out[i] = problemJSON{Kind: p.Kind.String(), Harmless: p.Kind.Harmless(), Object: p.Object,
			Snapshots: p.Snapshots}
		if p.Err != nil {
			out[i].Error = p.Err.Error()
		}
		if out[i].Snapshots == nil {
			out[i].Snapshots = []repo.ID{}
		}
	}
	return out
}

func newCheckJSON(rep *repo.CheckReport) checkJSON {
	out := checkJSON{OK: rep.OK(), Snapshots: rep.Snapshots, Trees: rep.Trees, DataBlobs: rep.DataBlobs,
		Packs: rep.Packs, PacksRead: rep.PacksRead, BytesRead: rep.BytesRead,
		Problems: newProblemsJSON(rep.Problems), Damaged: rep.Damaged()}
	if out.Damaged == nil {
		out.Damaged = []repo.ID{}
	}
	return out
}

// plural returns "1 pack", "2 packs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
