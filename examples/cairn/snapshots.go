package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cairnbackup/cairn/repo"
)

type snapshotsCmd struct {
	hosts stringList
	tags  stringList
}

func snapshotsCommand() *command {
	c := &snapshotsCmd{}
	return &command{
		name:     "snapshots",
		synopsis: "[--host H]... [--tag T[,T...]]...",
		summary:  "list snapshots, oldest first",
		help: `A snapshot is listed if its host is one of the --host values and it has
all tags of one of the --tag values.`,
		flags: c.flags,
		run:   c.run,
	}
}

func (c *snapshotsCmd) flags(set *flag.FlagSet) {
	set.Var(&c.hosts, "host", "only snapshots of `HOST` (repeatable)")
	set.Var(&c.tags, "tag", "only snapshots with all of `TAGS`, comma-separated (repeatable)")
}

func (c *snapshotsCmd) run(ctx context.Context, a *app, args []string) error {
	if len(args) != 0 {
		return usageError(errors.New("snapshots takes no arguments"))
	}
	r, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	all, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	list := slices.DeleteFunc(all, func(sn *repo.Snapshot) bool { return !c.match(sn) })
	if a.json {
		out := make([]snapshotJSON, len(list))
		for i, sn := range list {
			out[i] = snapshotJSON{ID: sn.ID.String(), ShortID: sn.ID.Short(), Snapshot: sn}
		}
		return a.printJSON(out)
	}
	return printSnapshotTable(a, list)
}

func (c *snapshotsCmd) match(sn *repo.Snapshot) bool {
	if len(c.hosts) > 0 && !slices.Contains(c.hosts, sn.Host) {
		return false
	}
	if len(c.tags) == 0 {
		return true
	}
	for _, set := range c.tags {
		all := true
		for t := range strings.SplitSeq(set, ",") {
			if t != "" && !slices.Contains(sn.Tags, t) {
				all = false
			}
		}
		if all {
			return true
		}
	}
	return false
}

// snapshotJSON is a snapshot as listed with --json: the stored record and
// its ID.
type snapshotJSON struct {
	ID      string `json:"id"`
	ShortID string `json:"short_id"`
	*repo.Snapshot
}

func printSnapshotTable(a *app, list []*repo.Snapshot) error {
	if len(list) == 0 {
		a.infof("no snapshots")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTime\tHost\tTags\tPaths\tFiles\tAdded")
	for _, sn := range list {
		files, added := "", ""
		if s := sn.Summary; s != nil {
			files = fmt.Sprint(s.FilesNew + s.FilesChanged + s.FilesUnchanged)
			added = formatBytes(s.BytesAdded)
			if len(s.Errors) > 0 {
				files += fmt.Sprintf(" (%d unreadable)", len(s.Errors))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sn.ID.Short(), sn.Time.Local().Format(timeLayout),
			sn.Host, strings.Join(sn.Tags, ","), strings.Join(sn.Paths, ","), files, added)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(list) == 1 {
		a.infof("1 snapshot")
	} else {
		a.infof("%d snapshots", len(list))
	}
	return nil
}
