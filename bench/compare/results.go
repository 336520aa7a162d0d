package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sample is the measurement of one step of one round.
type sample struct {
	wall, user, sys time.Duration
	rss             int64 // peak resident set of the child, bytes
	repo            int64 // repository size on disk after the step, bytes
}

type key struct{ dataset, step, tool string }

type failure struct {
	key
	round int
	err   string
}

// results collects the samples and failures of a comparison.
type results struct {
	cfg      config
	start    time.Time
	tools    []string // in the order they ran
	versions []string // per tool
	skipped  []string // tools not run, and why
	datasets []*dataset
	samples  map[key][]sample
	failures []failure
	ceilings map[string]*ceiling // by data set
}

func newResults(cfg config) *results {
	return &results{cfg: cfg, start: time.Now().UTC(), samples: map[key][]sample{}, ceilings: map[string]*ceiling{}}
}

func (r *results) add(dataset, step, tool string, s sample) {
	k := key{dataset, step, tool}
	r.samples[k] = append(r.samples[k], s)
}

func (r *results) fail(dataset, step, tool string, round int, err error) {
	r.failures = append(r.failures, failure{key{dataset, step, tool}, round, err.Error()})
}

// median returns the median of xs, NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// ratio returns a/b, NaN if either is unknown or b is 0.
func ratio(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return math.NaN()
	}
	return a / b
}

// columns of a table: a value of a sample, and how to print it.
var columns = []struct {
	head  string
	value func(s sample, bytes int64) float64
}{
	{"wall s", func(s sample, _ int64) float64 { return s.wall.Seconds() }},
	{"MiB/s", func(s sample, b int64) float64 { return float64(b) / (1 << 20) / s.wall.Seconds() }},
	{"user s", func(s sample, _ int64) float64 { return s.user.Seconds() }},
	{"sys s", func(s sample, _ int64) float64 { return s.sys.Seconds() }},
	{"CPU s", func(s sample, _ int64) float64 { return (s.user + s.sys).Seconds() }},
	{"peak RSS MiB", func(s sample, _ int64) float64 { return float64(s.rss) / (1 << 20) }},
	{"repo MiB", func(s sample, _ int64) float64 { return float64(s.repo) / (1 << 20) }},
}

// medians returns the median of each column over samples. Throughput is
// the data set's bytes over the median wall time.
func medians(samples []sample, bytes int64) []float64 {
	out := make([]float64, len(columns))
	for i, c := range columns {
		xs := make([]float64, len(samples))
		for j, s := range samples {
			xs[j] = c.value(s, bytes)
		}
		out[i] = median(xs)
	}
	if len(samples) > 0 {
		out[1] = float64(bytes) / (1 << 20) / out[0]
	}
	return out
}

// table writes the Markdown table of one data set and step: each tool's
// medians (wall time also with min–max), then cairn's ratio to each other
// tool (cairn's median divided by the other's).
func (r *results) table(w io.Writer, d *dataset, step string) {
	fmt.Fprintf(w, "### %s: %s\n\n", d.name, step)
	fmt.Fprintf(w, "| tool | runs ok | %s (min–max) | %s |\n", columns[0].head, strings.Join(colHeads()[1:], " | "))
	fmt.Fprintf(w, "|---|---|%s\n", strings.Repeat("---:|", len(columns)))
	med := map[string][]float64{}
	for _, t := range r.tools {
		ss := r.samples[key{d.name, step, t}]
		fmt.Fprintf(w, "| %s | %d/%d |", t, len(ss), r.cfg.runs)
		if len(ss) == 0 {
			fmt.Fprintf(w, " FAILED |%s\n", strings.Repeat(" – |", len(columns)-1))
			continue
		}
		m := medians(ss, d.bytes)
		med[t] = m
		walls := make([]float64, len(ss))
		for i, s := range ss {
			walls[i] = s.wall.Seconds()
		}
		fmt.Fprintf(w, " %.2f (%.2f–%.2f) |", m[0], slices.Min(walls), slices.Max(walls))
		for _, v := range m[1:] {
			fmt.Fprintf(w, " %s |", num(v))
		}
		fmt.Fprintln(w)
	}
	if _, ok := med["cairn"]; ok {
		for _, t := range r.tools {
			if t == "cairn" || med[t] == nil {
				continue
			}
			fmt.Fprintf(w, "| cairn ÷ %s | |", t)
			for i := range columns {
				fmt.Fprintf(w, " %s |", times(ratio(med["cairn"][i], med[t][i])))
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
}

func colHeads() []string {
	var h []string
	for _, c := range columns {
		h = append(h, c.head)
	}
	return h
}

func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func times(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "×"
}

// tables writes every table and the failures.
func (r *results) tables(w io.Writer) {
	for _, d := range r.datasets {
		fmt.Fprintf(w, "## %s: %d files, %s\n\n", d.name, d.files, size(d.bytes))
		for _, step := range steps {
			r.table(w, d, step)
		}
	}
	r.ceilingTable(w)
	if len(r.failures) > 0 {
		fmt.Fprintf(w, "## Failures\n\n")
		for _, f := range r.failures {
			fmt.Fprintf(w, "- %s %s %s round %d: %s\n", f.dataset, f.step, f.tool, f.round, oneLine(f.err))
		}
		fmt.Fprintln(w)
	}
}

// ceilingTable writes each data set's stage speeds, its stage ceiling and
// cairn's first backup against it.
func (r *results) ceilingTable(w io.Writer) {
	if len(r.ceilings) == 0 {
		return
	}
	fmt.Fprintf(w, "## Stage ceiling\n\n")
	fmt.Fprintf(w, "Each stage of cairn's backup pipeline runs alone on one core (GOMAXPROCS 1) over a sample of "+
		"the data set held in memory (at most %d MiB): content-defined chunking with the default sizes, keyed "+
		"BLAKE3 of the chunks, zstd at the default level of the chunks, XChaCha20-Poly1305 sealing of the "+
		"compressed chunks (pack.SealBlob). Speeds are MB/s (10^6 bytes) of the data set's bytes, as "+
		"`go test -run '^$' -bench Stage -cpu 1 ./bench/compare` reports them for generated data. "+
		"The ceiling is the slowest stage's speed × %d cores; the last column is cairn's first backup "+
		"(data-set bytes over the median wall time) as a percentage of it.\n\n", sampleLimit>>20, runtime.NumCPU())
	fmt.Fprintf(w, "| data set | sample MiB |")
	for _, st := range stages {
		fmt.Fprintf(w, " %s MB/s |", st.name)
	}
	fmt.Fprintf(w, " slowest | ceiling MB/s | cairn first backup MB/s | %% of ceiling |\n")
	fmt.Fprintf(w, "|---|---:|%s---|---:|---:|---:|\n", strings.Repeat("---:|", len(stages)))
	for _, d := range r.datasets {
		c := r.ceilings[d.name]
		if c == nil {
			continue
		}
		fmt.Fprintf(w, "| %s | %s |", d.name, num(float64(c.sample)/(1<<20)))
		for _, s := range c.speeds {
			fmt.Fprintf(w, " %s |", num(s/1e6))
		}
		cairn := math.NaN()
		if ss := r.samples[key{d.name, "backup-first", "cairn"}]; len(ss) > 0 {
			cairn = float64(d.bytes) / medians(ss, d.bytes)[0]
		}
		fmt.Fprintf(w, " %s | %s | %s | %s |\n", stages[c.slowest()].name, num(c.limit()/1e6), num(cairn/1e6),
			percent(ratio(cairn, c.limit())))
	}
	fmt.Fprintln(w)
}

func percent(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(100*v, 'f', 0, 64) + " %"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func size(b int64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// write prints the tables to stdout and the whole report to out, if set.
func (r *results) write(stdout io.Writer, out string) error {
	r.tables(stdout)
	if out == "" {
		return nil
	}
	var notes []byte
	if r.cfg.notes != "" {
		var err error
		if notes, err = os.ReadFile(r.cfg.notes); err != nil {
			return err
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	r.report(bw)
	if len(notes) > 0 {
		bw.WriteString("\n")
		bw.Write(notes)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// report writes the whole Markdown report.
func (r *results) report(w io.Writer) {
	fmt.Fprintf(w, "# cairn compared with other backup tools\n\n")
	fmt.Fprintf(w, "Date: %s\n\n", r.start.Format(time.RFC3339))
	fmt.Fprintf(w, "Command: `go run ./bench/compare %s`\n\n", strings.Join(r.cfg.args, " "))
	fmt.Fprintf(w, "## Machine\n\n")
	for _, l := range machine() {
		fmt.Fprintf(w, "- %s\n", l)
	}
	for _, v := range r.versions {
		fmt.Fprintf(w, "- %s\n", v)
	}
	for _, s := range r.skipped {
		fmt.Fprintf(w, "- %s\n", s)
	}
	fmt.Fprintf(w, "\n## Method\n\n")
	fmt.Fprintf(w, "Data sets at scale %g. Each tool gets a fresh repository per round; rounds alternate "+
		"between the tools; %d rounds. Steps: first backup, unchanged re-backup, re-backup after changing 1%% of "+
		"the files (4 KiB overwritten, 4 KiB appended; undone afterwards; for pgbench instead a second pg_dump "+
		"taken after %d pgbench transactions at scale 1), restore of the latest snapshot into an "+
		"empty directory, check reading all data. Before each step the input (data set or repository) is read "+
		"once, the harness %s and calls sync. "+
		"Values are medians; wall time also min–max. CPU and peak RSS are the child's (wait4 rusage); "+
		"repo is its size on disk after the step; throughput is data-set bytes over wall time. "+
		"Ratios are cairn's median over the other tool's. Differences under about 15%% are noise on a small VM; "+
		"compare restores by user CPU or minimum wall time.\n\n",
		r.cfg.scale, r.cfg.runs, pgbenchTransactions, idleRule(r.cfg))
	r.tables(w)
}

func idleRule(cfg config) string {
	if cfg.maxLoad <= 0 {
		return "does not wait for an idle machine"
	}
	return fmt.Sprintf("waits for a 1-minute load below %g (at most %v)", cfg.maxLoad, cfg.loadWait)
}

// machine describes the CPU, memory, kernel and Go.
func machine() []string {
	model, _ := procField("/proc/cpuinfo", "model name")
	mem, _ := procField("/proc/meminfo", "MemTotal")
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(mem, " kB"), 64); err == nil {
		mem = fmt.Sprintf("%.1f GiB", kb/(1<<20))
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return []string{
		fmt.Sprintf("CPU: %s, %d cores", model, runtime.NumCPU()),
		"Memory: " + mem,
		"Kernel: Linux " + strings.TrimSpace(string(kernel)),
		"Go: " + runtime.Version(),
	}
}

// procField returns the value of the first "name: value" line of file.
func procField(file, name string) (string, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}
