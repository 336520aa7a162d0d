package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// cairnBin is the command under test, built once by TestMain.
var cairnBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cairn-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Readable by all, so that the test running it as another user can.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cairnBin = filepath.Join(dir, "cairn")
	if out, err := exec.Command("go", "build", "-o", cairnBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// cli runs the command against one repository.
type cli struct {
	t        *testing.T
	repo     string
	password string
	env      []string            // more variables, KEY=VALUE
	cred     *syscall.Credential // run as this user, if set
	input    string              // standard input
}

type result struct {
	stdout, stderr string
	code           int
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, repo: filepath.Join(t.TempDir(), "repo"), password: "correct horse"}
}

// on returns a copy of c that reports to t, for subtests.
func (c *cli) on(t *testing.T) *cli {
	d := *c
	d.t = t
	return &d
}

// feeding returns a copy of c that gives input on standard input.
func (c *cli) feeding(input string) *cli {
	d := *c
	d.input = input
	return &d
}

// with returns a copy of c with more environment variables.
func (c *cli) with(env ...string) *cli {
	d := *c
	d.env = append(append([]string(nil), c.env...), env...)
	return &d
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	cmd := c.command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(c.input), &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(c.t, ok, "run %v: %v", args, err)
		code = ee.ExitCode()
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// command returns the command line, not started, with the environment
// for the repository.
func (c *cli) command(args ...string) *exec.Cmd {
	cmd := exec.Command(cairnBin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAIRN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if c.repo != "" {
		cmd.Env = append(cmd.Env, envRepository+"="+c.repo)
	}
	if c.password != "" {
		cmd.Env = append(cmd.Env, envPassword+"="+c.password)
	}
	cmd.Env = append(cmd.Env, c.env...)
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

// ok runs the command, requires success and returns stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	require.Equal(c.t, 0, r.code, "cairn %v\nstdout: %s\nstderr: %s", args, r.stdout, r.stderr)
	return r.stdout
}

// okJSON runs the command with --json and decodes its output into v.
func (c *cli) okJSON(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	require.NoError(c.t, json.Unmarshal([]byte(out), v), out)
}

// fails runs the command, requires exit status code and a message
// containing msg on stderr.
func (c *cli) fails(code int, msg string, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	require.Equal(c.t, code, r.code, "cairn %v\nstdout: %s\nstderr: %s", args, r.stdout, r.stderr)
	require.Contains(c.t, r.stderr, msg)
	return r
}

// writeTree creates files (path → content; content "->x" makes a symlink
// to x) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if target, ok := strings.CutPrefix(content, "->"); ok {
			require.NoError(t, os.Symlink(target, p))
			continue
		}
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// readTree returns every file and symlink under dir: path → content or
// "->target".
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			got[rel] = "->" + target
			return err
		}
		data, err := os.ReadFile(p)
		got[rel] = string(data)
		return err
	})
	require.NoError(t, err)
	return got
}

// jsonLines decodes one JSON object per line.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var list []T
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var v T
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), sc.Text())
		list = append(list, v)
	}
	return list
}
