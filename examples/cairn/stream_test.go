package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBackupStreams(t *testing.T) {
	c := newCLI(t)
	c.ok("init")

	// A command's output, restored by piping dump into another command.
	var res backupResult
	// --json goes before "--": everything after it is the command.
	require.NoError(t, json.Unmarshal([]byte(c.ok("backup", "--json", "--stdin-from-command", "--", "sh", "-c", "seq 1 50000")), &res))
	require.Equal(t, []string{"sh.dump"}, res.Paths)
	out := c.ok("dump", res.SnapshotID.String(), "/sh.dump")
	require.Equal(t, 50000, strings.Count(out, "\n"))

	cmd := exec.Command("sh", "-c", `"$0" dump latest sh.dump | wc -l`, cairnBin)
	cmd.Env = append(os.Environ(), envRepository+"="+c.repo, envPassword+"="+c.password)
	piped, err := cmd.Output()
	require.NoError(t, err)
	require.Equal(t, "50000", strings.TrimSpace(string(piped)))

	// Standard input under a name of our choosing.
	c.feeding("hello from stdin\n").okJSON(&res, "backup", "--stdin", "--stdin-filename", "greeting.txt")
	require.Equal(t, []string{"greeting.txt"}, res.Paths)
	require.Equal(t, "hello from stdin\n", c.ok("dump", "latest", "greeting.txt"))

	// Restore a dump into a directory like any snapshot.
	target := t.TempDir()
	c.ok("restore", "latest", "--target", target)
	data, err := os.ReadFile(filepath.Join(target, "greeting.txt"))
	require.NoError(t, err)
	require.Equal(t, "hello from stdin\n", string(data))
}

func TestBackupStreamFailures(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	var before []map[string]any
	c.okJSON(&before, "snapshots")

	r := c.fails(exitError, "exit status 3", "backup", "--stdin-from-command", "--",
		"sh", "-c", "echo half a dump; echo 'pg_dump: error: connection failed' >&2; exit 3")
	require.Contains(t, r.stderr, "connection failed", "the command's stderr is in the error")
	c.fails(exitError, "killed by signal", "backup", "--stdin-from-command", "--", "sh", "-c", "echo x; kill -9 $$")
	c.fails(exitError, "wrote nothing", "backup", "--stdin-from-command", "--", "true")
	c.feeding("").fails(exitError, "wrote nothing", "backup", "--stdin")
	c.fails(exitError, "needs a command", "backup", "--stdin-from-command")
	c.fails(exitError, "takes no PATH", "backup", "--stdin", "somewhere")

	var after []map[string]any
	c.okJSON(&after, "snapshots")
	require.Len(t, after, len(before), "no snapshot from a failed dump")
}
