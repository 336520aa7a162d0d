// Command manyfiles measures the backup of many small files. It generates a
// tree of n files (leaf directories of 1,000 files, sizes uniform in 0–4 KiB,
// text that compresses like source code, about a quarter of the files copies
// of 500 shared contents), then runs cairn, and restic where installed,
// through a first backup and an unchanged re-backup, and prints each step's
// wall time, CPU time, peak RSS and repository size.
//
//	go run ./bench/manyfiles -n 1000000 -dir /tmp/manyfiles
//
// A tree is reused by later runs with the same -n and -seed: a marker file
// in it says which it is. Binaries, repositories and caches go to -work, a
// new temporary directory by default, removed at the end. Before each step
// the tree is read once, so every tool finds it in the page cache. Linux
// only: peak RSS comes from wait4's rusage and sizes from du.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/cairnbackup/cairn/bench/internal/measure"
)

type config struct {
	n     int
	seed  uint64
	dir   string // the generated tree
	work  string // "" for a new temporary directory
	tools []string
	log   io.Writer
}

// steps are the measured backups, in order; each tool runs a step before the
// next step starts.
var steps = []string{"first", "unchanged"}

// result is one tool's measurement of one step.
type result struct {
	tool, step string
	sample
}

func main() {
	measure.Wrapped()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := config{log: os.Stderr}
	var tools string
	flag.IntVar(&cfg.n, "n", 1_000_000, "number of files")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated tree")
	flag.StringVar(&cfg.dir, "dir", "", "`directory` of the generated tree (required; reused when it holds the same -n and -seed)")
	flag.StringVar(&cfg.work, "work", "", "`directory` for binaries, repositories and caches (default a new temporary one, removed afterwards)")
	flag.StringVar(&tools, "tools", "cairn,restic", "comma-separated tools; restic is skipped if not installed")
	flag.Parse()
	cfg.tools = strings.Split(tools, ",")
	if cfg.dir == "" || cfg.n < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "manyfiles:", err)
		os.Exit(1)
	}
}

// run generates the tree, then initializes each tool's repository and runs
// the steps, and prints the results to stdout.
func run(ctx context.Context, cfg config, stdout io.Writer) error {
	logf := func(format string, args ...any) { fmt.Fprintf(cfg.log, format+"\n", args...) }
	logf("generating %d files in %s", cfg.n, cfg.dir)
	reused, err := generate(ctx, cfg.dir, cfg.n, cfg.seed)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if reused {
		logf("reusing the tree already there")
	}
	work := cfg.work
	if work == "" {
		if work, err = os.MkdirTemp("", "manyfiles-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	var tools []*tool
	for _, name := range cfg.tools {
		t, err := newTool(ctx, name, work)
		if errors.Is(err, exec.ErrNotFound) {
			logf("%s: not installed, skipped", name)
			continue
		} else if err != nil {
			return err
		}
		if err := os.RemoveAll(t.repo); err != nil { // from an earlier run in the same -work
			return err
		}
		if _, err := t.run(ctx, "init"); err != nil {
			return err
		}
		tools = append(tools, t)
	}
	if len(tools) == 0 {
		return errors.New("no tool to run")
	}
	var files int
	var bytes int64
	var results []result
	for _, step := range steps {
		for _, t := range tools {
			logf("%s: %s backup", t.name, step)
			if files, bytes, err = readTree(ctx, cfg.dir); err != nil {
				return err
			}
			syscall.Sync()
			s, err := t.run(ctx, "--quiet", "backup", cfg.dir)
			if err != nil {
				return err
			}
			results = append(results, result{t.name, step, s})
		}
	}
	fmt.Fprintf(stdout, "%d files, %.1f MiB, in %s (seed %d)\n\n", files, float64(bytes)/(1<<20), cfg.dir, cfg.seed)
	return report(stdout, results)
}

func report(w io.Writer, results []result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tbackup\twall s\tuser s\tsys s\tCPU s\tpeak RSS MiB\trepo MiB\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t\n", r.tool, r.step,
			r.Wall.Seconds(), r.User.Seconds(), r.Sys.Seconds(), (r.User + r.Sys).Seconds(),
			float64(r.MaxRSS)/(1<<20), float64(r.repo)/(1<<20))
	}
	return tw.Flush()
}
