package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cairnbackup/cairn/repo"
)

type forgetCmd struct {
	last, hourly, daily, weekly, monthly, yearly int
	within                                       string
	tags                                         stringList
	groupBy                                      string
	prune                                        bool
	pruneFlags
}

func forgetCommand() *command {
	c := &forgetCmd{}
	return &command{
		name:     "forget",
		synopsis: "[--keep-last N] [--keep-daily N] ... [--group-by G] [--dry-run] [--prune] | ID...",
		summary:  "remove snapshots by a retention policy, or those given",
		help: `Snapshots are grouped (by default by host, source kind and paths) and
each --keep rule picks snapshots in every group, newest first; a snapshot
that any rule keeps stays, the others are removed. --keep-daily 7 keeps the
newest snapshot of each of the last 7 days that have snapshots; -1 means no
limit. --keep-within counts back from the group's newest snapshot and takes
Go durations with days: 7d, 1d12h, 36h.

--group-by takes a comma-separated list of host, kind, paths and tags, or
none for a single group. With IDs instead of rules, exactly those
snapshots are removed.

Removing a snapshot frees no space: --prune (or a later prune) does.`,
		flags: c.flags,
		run:   c.run,
	}
}

func (c *forgetCmd) flags(set *flag.FlagSet) {
	set.IntVar(&c.last, "keep-last", 0, "keep the last `N` snapshots")
	set.IntVar(&c.hourly, "keep-hourly", 0, "keep the newest snapshot of each of the last `N` hours")
	set.IntVar(&c.daily, "keep-daily", 0, "keep the newest snapshot of each of the last `N` days")
	set.IntVar(&c.weekly, "keep-weekly", 0, "keep the newest snapshot of each of the last `N` weeks")
	set.IntVar(&c.monthly, "keep-monthly", 0, "keep the newest snapshot of each of the last `N` months")
	set.IntVar(&c.yearly, "keep-yearly", 0, "keep the newest snapshot of each of the last `N` years")
	set.StringVar(&c.within, "keep-within", "", "keep snapshots taken within `DURATION` (such as 7d or 36h) of the newest")
	set.Var(&c.tags, "keep-tag", "keep snapshots with `TAG` (repeatable)")
	set.StringVar(&c.groupBy, "group-by", "host,kind,paths", "group snapshots by `FIELDS`: host, kind, paths, tags, or none")
	set.BoolVar(&c.prune, "prune", false, "prune after removing snapshots")
	c.pruneFlags.register(set)
}

func (c *forgetCmd) run(ctx context.Context, a *app, args []string) error {
	p, err := c.policy()
	if err != nil {
		return err
	}
	g, err := parseGroupBy(c.groupBy)
	if err != nil {
		return err
	}
	popts, err := c.pruneFlags.options()
	if err != nil {
		return err
	}
	switch {
	case !c.prune && (c.maxUnused != defaultMaxUnused || c.maxRepack != ""):
		return usageError(errors.New("forget: --max-unused and --max-repack-size go with --prune"))
	case len(args) > 0 && !p.Empty():
		return usageError(errors.New("forget: give snapshot IDs or --keep rules, not both"))
	case len(args) == 0 && p.Empty():
		return usageError(errors.New("forget: no --keep rule given: an empty policy would remove every snapshot " +
			"(give --keep-last 1 or more, or snapshot IDs)"))
	}
	r, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	if len(args) > 0 {
		return c.forgetIDs(ctx, a, r, args, popts)
	}
	res, err := r.Forget(ctx, p, repo.ForgetOptions{GroupBy: g, DryRun: c.dryRun, Prune: c.prune, PruneOptions: popts})
	if res == nil {
		return err
	}
	// A failure midway still reports what was removed before it.
	return errors.Join(err, a.reportForget(res, c.dryRun))
}

// policy builds the policy from the --keep flags; errors are usage errors.
func (c *forgetCmd) policy() (repo.Policy, error) {
	p := repo.Policy{Last: c.last, Hourly: c.hourly, Daily: c.daily, Weekly: c.weekly,
		Monthly: c.monthly, Yearly: c.yearly, Tags: c.tags}
	counts := map[string]int{"last": c.last, "hourly": c.hourly, "daily": c.daily,
		"weekly": c.weekly, "monthly": c.monthly, "yearly": c.yearly}
	for name, n := range counts {
		if n < -1 {
			return p, usageError(fmt.Errorf("forget: --keep-%s %d: want a count, or -1 for no limit", name, n))
		}
	}
	if slices.Contains(c.tags, "") {
		return p, usageError(errors.New("forget: --keep-tag needs a tag"))
	}
	if c.within != "" {
		d, err := parseWithin(c.within)
		if err != nil {
			return p, usageError(fmt.Errorf("forget: --keep-within: %w", err))
		}
		p.Within = d
	}
	return p, nil
}

var daysPrefix = regexp.MustCompile(`^(\d+)d`)

// parseWithin parses a Go duration that may start with days: "7d",
// "1d12h", "36h".
func parseWithin(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	if m := daysPrefix.FindStringSubmatch(s); m != nil {
		days, err := strconv.Atoi(m[1])
		if err != nil || days > 100*366 {
			return 0, fmt.Errorf("%q: too many days", s)
		}
		d = time.Duration(days) * 24 * time.Hour
		rest = s[len(m[0]):]
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 7d, 36h or 1d12h", s)
		}
		d += more
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: want a positive duration", s)
	}
	return d, nil
}

// parseGroupBy parses --group-by; errors are usage errors.
func parseGroupBy(s string) (repo.GroupBy, error) {
	var g repo.GroupBy
	if s == "none" {
		g.None = true
		return g, nil
	}
	fields := map[string]*bool{"host": &g.Host, "kind": &g.Kind, "paths": &g.Paths, "tags": &g.Tags}
	for f := range strings.SplitSeq(s, ",") {
		p, ok := fields[strings.TrimSpace(f)]
		if !ok {
			return g, usageError(fmt.Errorf("forget: --group-by %q: want host, kind, paths and tags, comma-separated, or none", s))
		}
		*p = true
	}
	return g, nil
}

// forgetIDs removes the snapshots given by ID, all found before any is
// removed.
func (c *forgetCmd) forgetIDs(ctx context.Context, a *app, r *repo.Repository, args []string, popts repo.PruneOptions) error {
	var list []*repo.Snapshot
	for _, s := range args {
		sn, err := findSnapshot(ctx, r, s)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(list, func(o *repo.Snapshot) bool { return o.ID == sn.ID }) {
			list = append(list, sn)
		}
	}
	res := &repo.ForgetResult{Groups: []repo.ForgetGroup{{}}}
	for _, sn := range list {
		res.Groups[0].Remove = append(res.Groups[0].Remove, repo.Decision{Snapshot: sn})
	}
	var err error
	if !c.dryRun {
		for _, sn := range list {
			if err = r.DeleteSnapshot(ctx, sn.ID); err != nil {
				break
			}
			res.Removed = append(res.Removed, sn.ID)
		}
		if err == nil && c.prune {
			res.Prune, err = r.Prune(ctx, popts)
		}
	}
	return errors.Join(err, a.reportForget(res, c.dryRun))
}

// forgetJSON is forget's JSON output.
type forgetJSON struct {
	DryRun  bool              `json:"dry_run"`
	Groups  []forgetGroupJSON `json:"groups"`
	Removed []repo.ID         `json:"removed"` // deleted, not with --dry-run
	Prune   *pruneJSON        `json:"prune,omitempty"`
}

type forgetGroupJSON struct {
	Host   string         `json:"host,omitempty"`
	Kind   string         `json:"kind,omitempty"`
	Paths  []string       `json:"paths,omitempty"`
	Tags   []string       `json:"tags,omitempty"`
	Keep   []decisionJSON `json:"keep"`
	Remove []decisionJSON `json:"remove"`
}

type decisionJSON struct {
	snapshotJSON
	Reasons []string `json:"reasons,omitempty"`
}

func newDecisionsJSON(list []repo.Decision) []decisionJSON {
	out := make([]decisionJSON, len(list))
	for i, d := range list {
		out[i] = decisionJSON{snapshotJSON{ID: d.Snapshot.ID.String(), ShortID: d.Snapshot.ID.Short(), Snapshot: d.Snapshot}, d.Reasons}
	}
	return out
}

func (a *app) reportForget(res *repo.ForgetResult, dryRun bool) error {
	if a.json {
		out := forgetJSON{DryRun: dryRun, Groups: []forgetGroupJSON{}, Removed: res.Removed, Prune: newPruneJSON(res.Prune)}
		if out.Removed == nil {
			out.Removed = []repo.ID{}
		}
		for _, g := range res.Groups {
			out.Groups = append(out.Groups, forgetGroupJSON{Host: g.Key.Host, Kind: g.Key.Kind, Paths: g.Key.Paths,
				Tags: g.Key.Tags, Keep: newDecisionsJSON(g.Keep), Remove: newDecisionsJSON(g.Remove)})
		}
		return a.printJSON(out)
	}
	kept, removed := 0, 0
	for i, g := range res.Groups {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		if len(res.Groups) > 1 || g.Key.String() != "all snapshots" {
			fmt.Fprintf(a.stdout, "%s:\n", g.Key)
		}
		if err := printDecisions(a, g); err != nil {
			return err
		}
		kept += len(g.Keep)
		removed += len(g.Remove)
	}
	summary := "removed " + plural(len(res.Removed), "snapshot")
	if dryRun {
		summary = "dry run: would remove " + plural(removed, "snapshot")
	}
	switch {
	case kept > 0 && dryRun:
		summary += fmt.Sprintf(" and keep %d", kept)
	case kept > 0:
		summary += fmt.Sprintf(", kept %d", kept)
	}
	a.infof("\n%s", summary)
	if res.Prune != nil {
		fmt.Fprintln(a.stdout, "\nprune:")
		return printPrune(a, res.Prune)
	}
	return nil
}

// printDecisions prints a group's snapshots as a table, newest first.
func printDecisions(a *app, g repo.ForgetGroup) error {
	type row struct {
		repo.Decision
		action string
	}
	var rows []row
	for _, d := range g.Keep {
		rows = append(rows, row{d, "keep"})
	}
	for _, d := range g.Remove {
		rows = append(rows, row{d, "remove"})
	}
	slices.SortStableFunc(rows, func(x, y row) int {
		a, b := x.Snapshot, y.Snapshot
		return cmp.Or(b.Time.Compare(a.Time), bytes.Compare(b.ID[:], a.ID[:]))
	})
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTime\tHost\tTags\tAction\tReasons")
	for _, r := range rows {
		sn := r.Snapshot
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", sn.ID.Short(), sn.Time.Local().Format(timeLayout),
			sn.Host, strings.Join(sn.Tags, ","), r.action, strings.Join(r.Reasons, ", "))
	}
	return tw.Flush()
}
