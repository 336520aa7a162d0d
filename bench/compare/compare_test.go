package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

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
	cairn, err := findTool("cairn", dir)
	require.NoError(t, err)
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
	cfg := config{
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
		require.NotContains(t, out, "cairn ÷ broken")
		require.Contains(t, out, "## Failures")
		require.Contains(t, out, "boom")
	}
	for _, want := range []string{"## Machine", "CPU: ", "Memory: ", "Kernel: ", "Go: ", "Date: ", "`go run ./bench/compare -scale tiny`", "broken 0"} {
		require.Contains(t, string(report), want)
	}
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
