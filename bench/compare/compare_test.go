package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/bench/internal/measure"

	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	measure.Wrapped()
	code := m.Run()
	if cairnBuild.dir != "" {
		os.RemoveAll(cairnBuild.dir)
	}
	os.Exit(code)
}

// cairnBuild is cairn's binary, built once for the tests that run it.
var cairnBuild struct {
	once sync.Once
	dir  string
	tool *tool
	err  error
}

func cairnTool(t *testing.T) *tool {
	cairnBuild.once.Do(func() {
		if cairnBuild.dir, cairnBuild.err = os.MkdirTemp("", "cairn-compare-test-"); cairnBuild.err == nil {
			cairnBuild.tool, cairnBuild.err = findTool("cairn", cairnBuild.dir)
		}
	})
	require.NoError(t, cairnBuild.err)
	return cairnBuild.tool
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"one", []float64{3}, 3},
		{"odd unsorted", []float64{5, 1, 3}, 3},
		{"even takes the mean of the middle two", []float64{4, 1, 3, 2}, 2.5},
		{"outlier does not move it", []float64{1, 2, 1000}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			require.Equal(t, tc.want, median(in))
			require.Equal(t, tc.in, in, "median must not reorder its argument")
		})
	}
	require.True(t, math.IsNaN(median(nil)))
}

func TestRatio(t *testing.T) {
	require.Equal(t, 2.0, ratio(4, 2))
	require.True(t, math.IsNaN(ratio(1, 0)))
	require.True(t, math.IsNaN(ratio(math.NaN(), 1)))
	require.Equal(t, "2.00×", times(ratio(4, 2)))
	require.Equal(t, "–", times(ratio(1, 0)))
}

func TestMedians(t *testing.T) {
	ss := []sample{
		{wall: 2 * time.Second, user: 3 * time.Second, sys: time.Second, rss: 30 << 20, repo: 5 << 20},
		{wall: 4 * time.Second, user: 1 * time.Second, sys: time.Second, rss: 10 << 20, repo: 5 << 20},
		{wall: 1 * time.Second, user: 2 * time.Second, sys: 0, rss: 20 << 20, repo: 5 << 20},
	}
	m := medians(ss, 8<<20)
	// Throughput is 8 MiB over the median 2 s; CPU is the median of the sums
	// (4, 2, 2), not the sum of the medians.
	require.Equal(t, []float64{2, 4, 2, 1, 2, 20, 5}, m)
}

func TestParseScale(t *testing.T) {
	for in, want := range map[string]float64{"1": 1, "1/1024": 1.0 / 1024, "0.5": 0.5, "tiny": tinyScale} {
		got, err := parseScale(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"0", "2", "x", "1/0", "-1"} {
		_, err := parseScale(in)
		require.Error(t, err, in)
	}
}

func TestMutateUndo(t *testing.T) {
	root := t.TempDir()
	d, err := prepareDataset(root, "gosrc", tinyScale, 1)
	require.NoError(t, err)
	require.GreaterOrEqual(t, d.files, 20)
	before := treeHash(t, d.dir)
	undo, err := mutate(d, 7)
	require.NoError(t, err)
	require.NotEqual(t, before, treeHash(t, d.dir))
	require.NoError(t, undo())
	require.Equal(t, before, treeHash(t, d.dir))

	again, err := prepareDataset(root, "gosrc", tinyScale, 1) // reused, not remade
	require.NoError(t, err)
	require.Equal(t, d, again)
}

// TestPipeline runs every step on tiny data sets with cairn, restic if
// installed, and a tool that always fails.
func TestPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cairn and runs backups")
	}
	dir := t.TempDir()
	cairn := cairnTool(t)
	tools := []*tool{cairn}
	if restic, err := findTool("restic", dir); err == nil {
		tools = append(tools, restic)
	} else {
		t.Logf("restic: %v; running without it", err)
	}
	tools = append(tools, &tool{
		name:    "broken",
		bin:     "/bin/sh",
		version: "broken 0",
		env:     func(invocation) []string { return nil },
		args: func(o op, _ invocation) ([]string, string) {
			if o == opInit {
				return []string{"-c", "true"}, ""
			}
			return []string{"-c", "echo boom >&2; exit 1"}, ""
		},
	})
	notes := filepath.Join(dir, "notes.md")
	require.NoError(t, os.WriteFile(notes, []byte("## Notes\n\nWhat it means.\n"), 0o644))
	cfg := config{
		notes:    notes,
		dir:      dir,
		datasets: []string{"gosrc", "random1g", "text1g"},
		scale:    tinyScale,
		runs:     2,
		out:      filepath.Join(dir, "RESULTS.md"),
		seed:     1,
		args:     []string{"-scale", "tiny"},
		toolList: tools,
	}
	if testing.Verbose() {
		cfg.log = os.Stderr
	}
	var stdout bytes.Buffer
	res, err := run(context.Background(), cfg, &stdout)
	require.NoError(t, err)
	report, err := os.ReadFile(cfg.out)
	require.NoError(t, err)

	for _, out := range []string{stdout.String(), string(report)} {
		for _, ds := range cfg.datasets {
			for _, step := range steps {
				require.Contains(t, out, fmt.Sprintf("### %s: %s\n", ds, step))
			}
		}
		for _, tl := range tools[:len(tools)-1] {
			require.Contains(t, out, fmt.Sprintf("| %s | 2/2 |", tl.name))
		}
		if len(tools) == 3 {
			require.Contains(t, out, "| cairn ÷ restic | |")
		}
		require.Contains(t, out, "| broken | 0/2 | FAILED |")
		require.Contains(t, out, "## Stage ceiling\n")
		for _, ds := range cfg.datasets {
			require.Regexp(t, `\n\| `+ds+` \|( [0-9.]+ \|){5} [a-z0-9]+ \| [0-9.]+ \| [0-9.]+ \| [0-9]+ % \|\n`, out)
		}
		require.NotContains(t, out, "cairn ÷ broken")
		require.Contains(t, out, "## Failures")
		require.Contains(t, out, "boom")
	}
	for _, want := range []string{"## Machine", "CPU: ", "Memory: ", "Kernel: ", "Go: ", "Date: ", "`go run ./bench/compare -scale tiny`", "broken 0"} {
		require.Contains(t, string(report), want)
	}
	require.True(t, strings.HasSuffix(string(report), "\n## Notes\n\nWhat it means.\n"), "the notes end the report")
	runs, err := os.ReadDir(filepath.Join(dir, "runs"))
	require.NoError(t, err)
	require.Empty(t, runs, "each data set's rounds are removed once it is done")
	// Every failure is the broken tool's: its first backup, then the rest skipped.
	require.Len(t, res.failures, len(cfg.datasets)*cfg.runs*len(steps))
	for _, f := range res.failures {
		require.Equal(t, "broken", f.tool)
	}
	// The data sets are as made: the 1% change was undone.
	for _, d := range res.datasets {
		again, err := prepareDataset(dir, d.name, cfg.scale, cfg.seed)
		require.NoError(t, err)
		require.Equal(t, d, again)
	}
	// The successful rounds measured something.
	for _, ss := range res.samples {
		for _, s := range ss {
			require.Positive(t, s.wall)
			require.Positive(t, s.rss)
			require.Positive(t, s.repo)
		}
	}
}

// TestPgbench makes the pgbench data set at the tiny scale, checks that its
// change swaps the second dump in and out, and runs cairn over it.
func TestPgbench(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, builds cairn and runs backups")
	}
	dir := t.TempDir()
	d, err := prepareDataset(dir, "pgbench", tinyScale, 1)
	if errors.Is(err, errUnavailable) {
		if os.Getenv("CAIRN_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("%v (CAIRN_REQUIRE_INTEGRATION=1; apt-get install postgresql)", err)
		}
		t.Skipf("%v; apt-get install postgresql to run this test", err)
	}
	require.NoError(t, err)
	require.Equal(t, 1, d.files)
	first, err := os.ReadFile(filepath.Join(d.dir, pgbenchDump))
	require.NoError(t, err)
	second, err := os.ReadFile(nextDump(d.dir))
	require.NoError(t, err)
	require.Contains(t, string(first), "COPY public.pgbench_accounts")
	require.NotEqual(t, first, second, "pgbench changed the database between the dumps")

	before := treeHash(t, d.dir)
	undo, err := change(d, 1)
	require.NoError(t, err)
	swapped, err := os.ReadFile(filepath.Join(d.dir, pgbenchDump))
	require.NoError(t, err)
	require.Equal(t, second, swapped)
	require.NoError(t, undo())
	require.Equal(t, before, treeHash(t, d.dir))

	cfg := config{dir: dir, datasets: []string{"pgbench"}, scale: tinyScale, runs: 1, seed: 1, toolList: []*tool{cairnTool(t)}}
	if testing.Verbose() {
		cfg.log = os.Stderr
	}
	var stdout bytes.Buffer
	res, err := run(context.Background(), cfg, &stdout)
	require.NoError(t, err)
	require.Empty(t, res.failures)
	for _, step := range steps {
		require.Len(t, res.samples[key{"pgbench", step, "cairn"}], 1, step)
	}
	require.Greater(t, res.samples[key{"pgbench", "backup-changed", "cairn"}][0].repo,
		res.samples[key{"pgbench", "backup-unchanged", "cairn"}][0].repo, "the second dump adds data")
	require.Regexp(t, `\n\| pgbench \| .* % \|\n`, stdout.String())
	again, err := prepareDataset(dir, "pgbench", tinyScale, 1) // reused, not remade
	require.NoError(t, err)
	require.Equal(t, d, again)
	require.Equal(t, before, treeHash(t, d.dir), "the change was undone")
}

// TestUnavailableDataset checks that a data set this machine cannot make is
// skipped and said to be in the report.
func TestUnavailableDataset(t *testing.T) {
	kinds["nothing"] = kind{generate: func(string, float64, uint64) error {
		return fmt.Errorf("%w: no such program", errUnavailable)
	}}
	t.Cleanup(func() { delete(kinds, "nothing") })
	dir := t.TempDir()
	cfg := config{
		dir: dir, datasets: []string{"nothing"}, scale: tinyScale, runs: 1, seed: 1,
		out: filepath.Join(dir, "RESULTS.md"),
		toolList: []*tool{{name: "true", bin: "/bin/true", version: "true 0",
			env: func(invocation) []string { return nil }, args: func(op, invocation) ([]string, string) { return nil, "" }}},
	}
	res, err := run(context.Background(), cfg, io.Discard)
	require.NoError(t, err)
	require.Empty(t, res.datasets)
	report, err := os.ReadFile(cfg.out)
	require.NoError(t, err)
	require.Contains(t, string(report), "- make data set nothing: PostgreSQL unavailable: no such program, skipped\n")
}

// treeHash hashes the names and contents of the files under dir.
func treeHash(t *testing.T, dir string) string {
	h := sha256.New()
	require.NoError(t, walkFiles(dir, func(p string, _ int64) error {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		io.WriteString(h, p+"\x00")
		_, err = io.Copy(h, f)
		return err
	}))
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestToolNotFound(t *testing.T) {
	if _, err := exec.LookPath("borg"); err == nil {
		t.Skip("borg is installed")
	}
	_, err := findTool("borg", t.TempDir())
	require.ErrorIs(t, err, errNotFound)
	_, err = findTool("nosuchtool", t.TempDir())
	require.Error(t, err)
}
