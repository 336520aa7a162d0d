// Command compare runs cairn side by side with other backup tools (restic,
// borg) on the same data sets and writes a table of medians per data set
// and step.
//
//	go run ./bench/compare [-datasets gosrc,random1g,text1g,pgbench] [-runs 3] [-out bench/RESULTS.md]
//
// Every tool gets a fresh repository per round; rounds alternate between the
// tools (A1 B1 A2 B2 …). Each timed step is one child process, measured by
// wall time, user and system CPU and peak RSS (from wait4), followed by the
// repository's size on disk. Before each step the harness waits for the
// machine to be idle (bounded by -loadwait), reads the step's input once so
// it comes from the page cache, and calls sync.
//
// The pgbench data set is a pg_dump of a pgbench database, made with a
// throwaway PostgreSQL server; its re-backup after a change backs up a
// second dump taken after pgbench transactions. Without PostgreSQL it is
// skipped. For every data set the harness also times each stage of cairn's
// backup pipeline on one core and reports the stage ceiling (stage.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/bench/internal/measure"
)

// config is what the flags choose.
type config struct {
	dir       string // work directory; "" means a new temporary one
	datasets  []string
	tools     []string
	scale     float64 // fraction of the full data set sizes
	runs      int
	out       string // the Markdown report; "" writes none
	maxLoad   float64
	loadWait  time.Duration
	seed      uint64
	keep      bool          // keep repositories and restores
	notes     string        // a Markdown file appended to the report
	stageTime time.Duration // least time each stage runs for the ceiling
	args      []string

	// toolList, when set, replaces the tools found by name (for tests).
	toolList []*tool
	log      io.Writer // progress; nil means none
}

func main() {
	measure.Wrapped()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	cfg.log = os.Stderr
	res, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
	if len(res.failures) > 0 {
		fmt.Fprintf(os.Stderr, "compare: %d failed steps (see the report)\n", len(res.failures))
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	cfg := config{args: args}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	var datasets, tools, scale string
	fs.StringVar(&cfg.dir, "dir", "", "work `directory` for data sets, binaries and repositories (reused if present; default a new temporary one, removed afterwards)")
	fs.StringVar(&datasets, "datasets", "gosrc,random1g,text1g,pgbench", "comma-separated data sets (pgbench needs PostgreSQL)")
	fs.StringVar(&tools, "tools", "cairn,restic,borg,kopia", "comma-separated tools; those not installed are skipped")
	fs.StringVar(&scale, "scale", "1", "shrink the data sets by this `factor` (1/1024, 0.001, or tiny)")
	fs.IntVar(&cfg.runs, "runs", 3, "rounds per tool and data set")
	fs.StringVar(&cfg.out, "out", "bench/RESULTS.md", "write the Markdown report to `file` (empty: none)")
	fs.Float64Var(&cfg.maxLoad, "maxload", 0.8, "before each step wait until the 1-minute load is below this (0: do not wait)")
	fs.DurationVar(&cfg.loadWait, "loadwait", 30*time.Second, "wait at most this long for -maxload")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed for the data and for the 1% of files changed")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the repositories and restored files")
	fs.StringVar(&cfg.notes, "notes", "", "append the Markdown `file` (what the figures mean, profiles) to the report")
	fs.DurationVar(&cfg.stageTime, "stagetime", time.Second, "for the stage ceiling, run each stage of cairn's pipeline at least this long on a data set's sample (0: once)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.scale, err = parseScale(scale); err != nil {
		return cfg, err
	}
	if cfg.runs < 1 {
		return cfg, errors.New("-runs must be at least 1")
	}
	cfg.datasets = splitList(datasets)
	cfg.tools = splitList(tools)
	return cfg, nil
}

// tinyScale makes data sets of a few hundred KiB, for tests.
const tinyScale = 1.0 / 4096

// parseScale reads "tiny", a fraction "1/1024" or a number in (0, 1].
func parseScale(s string) (float64, error) {
	var v float64
	var err error
	if s == "tiny" {
		return tinyScale, nil
	} else if num, den, ok := strings.Cut(s, "/"); ok {
		var n, d float64
		if n, err = strconv.ParseFloat(num, 64); err == nil {
			d, err = strconv.ParseFloat(den, 64)
			v = n / d
		}
	} else {
		v, err = strconv.ParseFloat(s, 64)
	}
	if err != nil || !(v > 0 && v <= 1) {
		return 0, fmt.Errorf("-scale %q: want tiny, a fraction like 1/1024 or a number in (0, 1]", s)
	}
	return v, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
