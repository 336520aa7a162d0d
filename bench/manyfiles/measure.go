package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cairnbackup/cairn/bench/internal/measure"
)

// password is both tools' repository password.
const password = "manyfiles"

// tool is a backup program with a repository of its own. cairn's CLI takes
// restic's verbs and flags for what this program runs.
type tool struct {
	name string
	bin  string
	env  []string // added to os.Environ: the repository, password and cache
	repo string
}

// newTool sets up name with its repository and cache under work; cairn is
// built from this module first.
func newTool(ctx context.Context, name, work string) (*tool, error) {
	t := &tool{name: name, repo: filepath.Join(work, name+"-repo")}
	switch name {
	case "cairn":
		t.bin = filepath.Join(work, "cairn")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", t.bin, "github.com/cairnbackup/cairn/examples/cairn")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build: %w\n%s", err, out)
		}
		t.env = []string{"CAIRN_REPOSITORY=" + t.repo, "CAIRN_PASSWORD=" + password}
	case "restic":
		bin, err := exec.LookPath("restic")
		if err != nil {
			return nil, err
		}
		t.bin = bin
		t.env = []string{"RESTIC_REPOSITORY=" + t.repo, "RESTIC_PASSWORD=" + password, "RESTIC_CACHE_DIR=" + filepath.Join(work, "restic-cache")}
	default:
		return nil, fmt.Errorf("unknown tool %q (have cairn, restic)", name)
	}
	return t, nil
}

// sample measures one command.
type sample struct {
	measure.Usage
	repo int64 // repository size on disk afterwards, bytes
}

// run runs t with args and measures it (see package measure), then the
// repository's size.
func (t *tool) run(ctx context.Context, args ...string) (sample, error) {
	cmd := exec.Command(t.bin, args...)
	cmd.Env = append(os.Environ(), t.env...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	u, err := measure.Run(ctx, cmd)
	if err != nil {
		return sample{}, fmt.Errorf("%s %s: %w\n%s", t.name, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	s := sample{Usage: u}
	s.repo, err = measure.DiskUsage(t.repo)
	return s, err
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }
