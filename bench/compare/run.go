package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/bench/internal/measure"
)

// steps are the timed steps of a round, in order.
var steps = []string{"backup-first", "backup-unchanged", "backup-changed", "restore", "check"}

// run prepares the data sets and tools, runs every round and reports.
func run(ctx context.Context, cfg config, stdout io.Writer) (*results, error) {
	if cfg.log == nil {
		cfg.log = io.Discard
	}
	dir := cfg.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "cairn-compare-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	binDir := filepath.Join(dir, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return nil, err
	}
	res := newResults(cfg)
	tools := cfg.toolList
	if tools == nil {
		for _, name := range cfg.tools {
			t, err := findTool(name, binDir)
			if err != nil {
				fmt.Fprintf(cfg.log, "%s: %v, skipped\n", name, err)
				res.skipped = append(res.skipped, fmt.Sprintf("%s: %v, skipped", name, err))
				continue
			}
			tools = append(tools, t)
		}
	}
	if len(tools) == 0 {
		return nil, errors.New("no tool to run")
	}
	for _, t := range tools {
		res.tools = append(res.tools, t.name)
		res.versions = append(res.versions, t.version)
	}
	for _, name := range cfg.datasets {
		fmt.Fprintf(cfg.log, "preparing %s\n", name)
		d, err := prepareDataset(dir, name, cfg.scale, cfg.seed)
		if errors.Is(err, errUnavailable) {
			msg := fmt.Sprintf("%v, skipped", err)
			fmt.Fprintln(cfg.log, msg)
			res.skipped = append(res.skipped, msg)
			continue
		}
		if err != nil {
			return nil, err
		}
		res.datasets = append(res.datasets, d)
		if res.ceilings[d.name], err = measureStages(d, cfg.stageTime, cfg.log); err != nil {
			return nil, err
		}
		if err := runRounds(ctx, cfg, res, d, tools, filepath.Join(dir, "runs", d.name)); err != nil {
			return nil, err
		}
	}
	if err := res.write(stdout, cfg.out); err != nil {
		return nil, err
	}
	return res, nil
}

// runRounds runs every round of every tool on d under dir. The rounds'
// repositories and restores are removed together afterwards, not between
// rounds: on a file system with online discard (ext4 -o discard on a VM
// disk, as here) deleting gigabytes slows the file system for a while
// after, and a round would pay for the one before.
func runRounds(ctx context.Context, cfg config, res *results, d *dataset, tools []*tool, dir string) error {
	if !cfg.keep {
		defer func() {
			os.RemoveAll(dir)
			syscall.Sync()
		}()
	}
	for round := 1; round <= cfg.runs; round++ {
		for _, t := range tools {
			if err := ctx.Err(); err != nil {
				return err
			}
			r := &rounder{cfg: cfg, res: res, d: d, t: t, round: round}
			if err := r.run(ctx, filepath.Join(dir, fmt.Sprintf("%s-%d", t.name, round))); err != nil {
				return err
			}
		}
	}
	return nil
}

// rounder runs one round of one tool on one data set.
type rounder struct {
	cfg   config
	res   *results
	d     *dataset
	t     *tool
	round int
}

// run runs the round in the fresh directory base. Failures of the tool are
// recorded, not returned; an error means the harness itself failed.
func (r *rounder) run(ctx context.Context, base string) error {
	if err := os.RemoveAll(base); err != nil {
		return err
	}
	inv := invocation{
		repo:   filepath.Join(base, "repo"),
		src:    r.d.dir,
		target: filepath.Join(base, "restore"),
		state:  filepath.Join(base, "state"),
	}
	for _, d := range []string{inv.target, inv.state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if _, err := runStep(ctx, r.t, opInit, inv); err != nil {
		r.failRest(0, fmt.Errorf("init: %w", err))
		return nil
	}
	for i, step := range steps {
		o := opBackup
		switch step {
		case "restore":
			o = opRestore
		case "check":
			o = opCheck
		default:
			inv.snap = i + 1
		}
		fmt.Fprintf(r.cfg.log, "%s %s round %d: %s\n", r.d.name, r.t.name, r.round, step)
		s, err := r.step(ctx, step, o, inv)
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		var te *toolError
		switch {
		case errors.As(err, &te) && o == opBackup:
			r.failRest(i, err) // later steps need this snapshot
			return nil
		case errors.As(err, &te):
			r.res.fail(r.d.name, step, r.t.name, r.round, err)
		case err != nil:
			return err
		default:
			r.res.add(r.d.name, step, r.t.name, s)
		}
	}
	return nil
}

// step prepares and measures one step.
// A tool's failure is a *toolError; any other error is the harness's.
func (r *rounder) step(ctx context.Context, step string, o op, inv invocation) (s sample, err error) {
	if step == "backup-changed" {
		undo, err := change(r.d, r.cfg.seed+uint64(r.round))
		if err != nil {
			return sample{}, err
		}
		defer func() {
			if uerr := undo(); uerr != nil {
				err = fmt.Errorf("restore data set %s after changing it: %w", r.d.name, uerr)
			}
		}()
	}
	input := r.d.dir
	if o != opBackup {
		input = inv.repo
	}
	if err := warm(input); err != nil {
		return sample{}, err
	}
	waitIdle(r.cfg)
	syscall.Sync()
	if s, err = runStep(ctx, r.t, o, inv); err != nil {
		return s, err
	}
	s.repo, err = measure.DiskUsage(inv.repo)
	return s, err
}

// failRest records err for the steps from the i-th on.
func (r *rounder) failRest(i int, err error) {
	r.res.fail(r.d.name, steps[i], r.t.name, r.round, err)
	for _, step := range steps[i+1:] {
		r.res.fail(r.d.name, step, r.t.name, r.round, fmt.Errorf("skipped: %s failed", steps[i]))
	}
}

// toolError is a tool command that failed.
type toolError struct {
	tool   string
	args   []string
	err    error
	stderr string // the end of it
}

func (e *toolError) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.tool, strings.Join(e.args, " "), e.err)
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

func (e *toolError) Unwrap() error { return e.err }

// runStep runs one command of t and measures the child process.
func runStep(ctx context.Context, t *tool, o op, inv invocation) (sample, error) {
	args, dir := t.args(o, inv)
	cmd := exec.Command(t.bin, args...)
	cmd.Dir = dir
	cmd.Env = toolEnv(t, inv)
	stderr := &tailWriter{max: 1 << 10}
	cmd.Stderr = stderr
	u, err := measure.Run(ctx, cmd)
	if err != nil {
		return sample{}, &toolError{tool: t.name, args: args, err: err, stderr: strings.TrimSpace(string(stderr.buf))}
	}
	return sample{wall: u.Wall, user: u.User, sys: u.Sys, rss: u.MaxRSS}, nil
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	max int
	buf []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

// waitIdle waits until the 1-minute load is below cfg.maxLoad, at most
// cfg.loadWait.
func waitIdle(cfg config) {
	if cfg.maxLoad <= 0 {
		return
	}
	deadline := time.Now().Add(cfg.loadWait)
	for {
		load := loadAvg()
		if load < cfg.maxLoad {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(cfg.log, "load %.2f still above %.2f after %v, going on\n", load, cfg.maxLoad, cfg.loadWait)
			return
		}
		time.Sleep(2 * time.Second)
	}
}

// loadAvg returns the 1-minute load average, or 0 if unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
