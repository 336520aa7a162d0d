package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
)

func statsCommand() *command {
	return &command{
		name:    "stats",
		summary: "show what the repository holds",
		help: `The compression ratio is the size of all distinct (deduplicated) blobs
divided by what they take in the repository, compressed and sealed.`,
		run: runStats,
	}
}

// statsJSON is stats' JSON output.
type statsJSON struct {
	Snapshots   int     `json:"snapshots"`
	Packs       int     `json:"packs"`
	DataBlobs   int     `json:"data_blobs"`
	TreeBlobs   int     `json:"tree_blobs"`
	RawBytes    uint64  `json:"raw_bytes"`
	StoredBytes uint64  `json:"stored_bytes"`
	Ratio       float64 `json:"ratio"` // RawBytes / StoredBytes; 0 for an empty repository
}

func runStats(ctx context.Context, a *app, args []string) error {
	if len(args) != 0 {
		return usageError(errors.New("stats takes no arguments"))
	}
	r, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	st, err := r.Stats(ctx)
	if err != nil {
		return err
	}
	out := statsJSON{Snapshots: st.Snapshots, Packs: st.Packs, DataBlobs: st.DataBlobs,
		TreeBlobs: st.TreeBlobs, RawBytes: st.RawBytes, StoredBytes: st.StoredBytes}
	if st.StoredBytes > 0 {
		out.Ratio = float64(st.RawBytes) / float64(st.StoredBytes)
	}
	if a.json {
		return a.printJSON(out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "snapshots:\t%d\n", out.Snapshots)
	fmt.Fprintf(tw, "packs:\t%d\n", out.Packs)
	fmt.Fprintf(tw, "blobs:\t%d data, %d tree\n", out.DataBlobs, out.TreeBlobs)
	fmt.Fprintf(tw, "raw size:\t%s\n", formatBytes(out.RawBytes))
	fmt.Fprintf(tw, "stored size:\t%s\n", formatBytes(out.StoredBytes))
	fmt.Fprintf(tw, "compression ratio:\t%.2f\n", out.Ratio)
	return tw.Flush()
}
