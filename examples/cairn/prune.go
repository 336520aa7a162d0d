package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/cairnbackup/cairn/repo"
)

// defaultMaxUnused is repo.DefaultMaxUnused as --max-unused takes it.
const defaultMaxUnused = "5%"

// pruneFlags are prune's flags, which forget --prune takes too.
type pruneFlags struct {
	maxUnused string
	maxRepack string
	dryRun    bool
}

func (f *pruneFlags) register(set *flag.FlagSet) {
	set.StringVar(&f.maxUnused, "max-unused", defaultMaxUnused, "repack packs with more than `P%` unused, or \"unlimited\" to never repack")
	set.StringVar(&f.maxRepack, "max-repack-size", "", "repack at most `SIZE` of packs per run, such as 500M or 2G (binary units)")
	set.BoolVar(&f.dryRun, "dry-run", false, "only report what would be done")
}

// options turns the flags into the library's options; errors are usage
// errors.
func (f *pruneFlags) options() (repo.PruneOptions, error) {
	opts := repo.PruneOptions{DryRun: f.dryRun}
	switch f.maxUnused {
	case "unlimited":
		opts.MaxUnused = -1
	default:
		p, err := parsePercent(f.maxUnused)
		if err != nil {
			return opts, usageError(fmt.Errorf("--max-unused: %w", err))
		}
		// Zero means the default to the library; 0% means any unused
		// byte is too many.
		opts.MaxUnused = max(p, math.SmallestNonzeroFloat64)
	}
	if f.maxRepack != "" {
		n, err := parseSize(f.maxRepack)
		if err != nil {
			return opts, usageError(fmt.Errorf("--max-repack-size: %w", err))
		}
		opts.MaxRepack = n
	}
	return opts, nil
}

type pruneCmd struct{ pruneFlags }

func pruneCommand() *command {
	c := &pruneCmd{}
	return &command{
		name:     "prune",
		synopsis: "[--max-unused P%] [--max-repack-size SIZE] [--dry-run]",
		summary:  "free the space of data no snapshot needs",
		help: `Prune condemns packs that hold nothing a snapshot needs, repacks those
whose unused share is above --max-unused, and deletes condemned packs once
no running backup may use them; packs that wait for backups are deleted by
a later prune. --json lists the pack IDs.`,
		flags: c.register,
		run:   c.run,
	}
}

func (c *pruneCmd) run(ctx context.Context, a *app, args []string) error {
	if len(args) != 0 {
		return usageError(errors.New("prune takes no arguments"))
	}
	opts, err := c.options()
	if err != nil {
		return err
	}
	r, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	rep, err := r.Prune(ctx, opts)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(newPruneJSON(rep))
	}
	return printPrune(a, rep)
}

// pruneJSON is prune's JSON output, and forget's with --prune.
type pruneJSON struct {
	DryRun            bool      `json:"dry_run"`
	Snapshots         int       `json:"snapshots"`
	Packs             int       `json:"packs"`
	UsedBlobs         int       `json:"used_blobs"`
	Condemned         []repo.ID `json:"condemned"`
	Repacked          []repo.ID `json:"repacked"`
	Unindexed         []repo.ID `json:"unindexed"`
	Deleted           []repo.ID `json:"deleted"`
	Kept              []repo.ID `json:"kept"`
	Waiting           []repo.ID `json:"waiting"`
	Missing           []repo.ID `json:"missing"`
	Unreadable        []repo.ID `json:"unreadable"`
	BytesDeleted      uint64    `json:"bytes_deleted"`
	BytesRepacked     uint64    `json:"bytes_repacked"`
	IndexFiles        int       `json:"index_files"`
	IndexFilesRemoved int       `json:"index_files_removed"`
}

func newPruneJSON(rep *repo.PruneReport) *pruneJSON {
	if rep == nil {
		return nil
	}
	ids := func(l []repo.ID) []repo.ID {
		if l == nil {
			return []repo.ID{}
		}
		return l
	}
	return &pruneJSON{DryRun: rep.DryRun, Snapshots: rep.Snapshots, Packs: rep.Packs, UsedBlobs: rep.UsedBlobs,
		Condemned: ids(rep.Condemned), Repacked: ids(rep.Repacked), Unindexed: ids(rep.Unindexed),
		Deleted: ids(rep.Deleted), Kept: ids(rep.Kept), Waiting: ids(rep.Waiting), Missing: ids(rep.Missing),
		Unreadable: ids(rep.Unreadable), BytesDeleted: rep.BytesDeleted, BytesRepacked: rep.BytesRepacked,
		IndexFiles: rep.IndexFiles, IndexFilesRemoved: rep.IndexFilesRemoved}
}

func printPrune(a *app, rep *repo.PruneReport) error {
	if rep.DryRun {
		fmt.Fprintln(a.stdout, "dry run: nothing written or deleted")
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "snapshots:\t%d, %d blobs in use\n", rep.Snapshots, rep.UsedBlobs)
	fmt.Fprintf(tw, "packs:\t%d indexed\n", rep.Packs)
	fmt.Fprintf(tw, "condemned:\t%s without a blob in use\n", plural(len(rep.Condemned), "pack"))
	fmt.Fprintf(tw, "repacked:\t%s, %s copied\n", plural(len(rep.Repacked), "pack"), formatBytes(rep.BytesRepacked))
	fmt.Fprintf(tw, "unindexed:\t%s condemned\n", plural(len(rep.Unindexed), "pack"))
	fmt.Fprintf(tw, "deleted:\t%s, %s freed\n", plural(len(rep.Deleted), "pack"), formatBytes(rep.BytesDeleted))
	fmt.Fprintf(tw, "kept:\t%s needed again\n", plural(len(rep.Kept), "pack"))
	fmt.Fprintf(tw, "waiting:\t%s, for backups that may use them\n", plural(len(rep.Waiting), "pack"))
	fmt.Fprintf(tw, "index files:\t%d written, %d removed\n", rep.IndexFiles, rep.IndexFilesRemoved)
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := len(rep.Missing); n > 0 {
		fmt.Fprintf(a.stdout, "warning: the index names %s the repository lacks: run \"cairn check\"\n", plural(n, "pack"))
	}
	if n := len(rep.Unreadable); n > 0 {
		fmt.Fprintf(a.stdout, "warning: %s no index names cannot be read and were left alone\n", plural(n, "pack"))
	}
	return nil
}

// parsePercent parses "P%" with 0 ≤ P ≤ 100 into a fraction.
func parsePercent(s string) (float64, error) {
	p, ok := strings.CutSuffix(s, "%")
	f, err := strconv.ParseFloat(p, 64)
	if !ok || err != nil || math.IsNaN(f) || f < 0 || f > 100 {
		return 0, fmt.Errorf("%q: want a percentage from 0%% to 100%%, such as 5%%", s)
	}
	return f / 100, nil
}

// sizeUnits are the suffixes parseSize knows, all binary: K is 1024.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}

// parseSize parses a byte count with an optional unit: "1048576", "500M",
// "1.5 GiB".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	n, err := strconv.ParseFloat(t[:i], 64)
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if err != nil || !ok || n < 0 || n*float64(unit) >= math.MaxInt64 {
		return 0, fmt.Errorf("%q: want a size such as 500M, 2G or 1048576", s)
	}
	return int64(n * float64(unit)), nil
}
