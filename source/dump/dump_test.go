package dump_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/dump"
	"github.com/stretchr/testify/require"
)

func newRepo(t *testing.T) *repo.Repository {
	t.Helper()
	r, err := repo.Init(context.Background(), mem.New(), "pw", repo.InitOptions{
		Key: repo.KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}}})
	require.NoError(t, err)
	return r
}

func snapshots(t *testing.T, r *repo.Repository) int {
	t.Helper()
	snaps, err := r.Snapshots(context.Background())
	require.NoError(t, err)
	return len(snaps)
}

func TestCommandRoundTrip(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	src := dump.Command("sh", "-c", "seq 1 200000; echo secret-token >&2")
	src.Name = "numbers.txt"
	src.Redact = []string{"200000"}
	var stderr bytes.Buffer
	src.Stderr = &stderr
	sn, err := r.Backup(ctx, src, repo.BackupOptions{})
	require.NoError(t, err)
	require.Equal(t, "secret-token\n", stderr.String())
	require.Equal(t, "dump", sn.Source.Kind)
	require.Equal(t, []string{"numbers.txt"}, sn.Paths)
	require.NotContains(t, sn.Source.Description, "200000")

	var details struct{ Dumps []dump.Result }
	require.NoError(t, json.Unmarshal(sn.Source.Details, &details))
	require.Len(t, details.Dumps, 1)
	d := details.Dumps[0]
	require.Equal(t, `sh -c "seq 1 ***; echo secret-token >&2"`, d.Command)
	require.Equal(t, 0, *d.ExitCode)
	want := seq(200000)
	require.EqualValues(t, len(want), d.Bytes)

	var out bytes.Buffer
	require.NoError(t, r.Restore(ctx, sn.ID, dump.IntoWriter(&out), repo.RestoreOptions{}))
	require.Equal(t, want, out.String())

	// Into a command: it writes a file we compare.
	file := filepath.Join(t.TempDir(), "restored")
	require.NoError(t, r.Restore(ctx, sn.ID, dump.Into("sh", "-c", `cat > "$0"`, file), repo.RestoreOptions{}))
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, want, string(got))
}

func seq(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	return b.String()
}

func TestCommandFailuresLeaveNoSnapshot(t *testing.T) {
	for _, tt := range []struct {
		name     string
		src      func() *dump.Source
		exitCode int
		signal   string
		stderr   string
		contains string
	}{
		{name: "exit status", src: func() *dump.Source {
			return dump.Command("sh", "-c", "echo partial; echo 'FATAL: database \"nope\" does not exist' >&2; exit 2")
		}, exitCode: 2, stderr: `database "nope" does not exist`},
		{name: "killed mid-stream", src: func() *dump.Source {
			return dump.Command("sh", "-c", "seq 1 100000; kill -9 $$")
		}, exitCode: -1, signal: "killed"},
		{name: "empty", src: func() *dump.Source { return dump.Command("true") }, contains: "wrote nothing"},
		{name: "not found", src: func() *dump.Source { return dump.Command("/nonexistent/pg_dump") }, contains: "start"},
		{name: "unreadable reader", src: func() *dump.Source {
			return dump.Reader(io.MultiReader(strings.NewReader("some"), errReader{}), "in")
		}, contains: "disk gone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t)
			sn, err := r.Backup(context.Background(), tt.src(), repo.BackupOptions{})
			require.Error(t, err)
			require.Nil(t, sn)
			require.ErrorIs(t, err, source.ErrAbort)
			require.Zero(t, snapshots(t, r))
			if tt.contains != "" {
				require.ErrorContains(t, err, tt.contains)
				return
			}
			var ce *dump.CommandError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tt.exitCode, ce.ExitCode)
			require.Contains(t, ce.Signal, tt.signal)
			require.Contains(t, ce.Stderr, tt.stderr)
			require.Contains(t, err.Error(), "sh -c")
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk gone") }

func TestEmptyAllowed(t *testing.T) {
	r := newRepo(t)
	src := dump.Command("true")
	src.AllowEmpty = true
	sn, err := r.Backup(context.Background(), src, repo.BackupOptions{})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, r.Restore(context.Background(), sn.ID, dump.IntoWriter(&out), repo.RestoreOptions{}))
	require.Zero(t, out.Len())
}

func TestCancelDuringDump(t *testing.T) {
	for name, script := range map[string]string{
		"sleeping":         "echo first bytes; exec sleep 30",
		"pipeline":         "yes dump-line | cat; sleep 30",
		"background child": "sleep 30 & echo first bytes; wait", // the child holds the pipes
	} {
		t.Run(name, func(t *testing.T) {
			r := newRepo(t)
			ctx, cancel := context.WithCancel(context.Background())
			src := dump.Command("sh", "-c", script)
			src.Stderr = io.Discard
			go func() { time.Sleep(300 * time.Millisecond); cancel() }()
			start := time.Now()
			_, err := r.Backup(ctx, src, repo.BackupOptions{})
			require.ErrorIs(t, err, context.Canceled)
			require.Less(t, time.Since(start), 3*time.Second, "the command and its children were stopped")
			require.Zero(t, snapshots(t, r))
		})
	}
}

func TestMulti(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	a, b := dump.Command("echo", "database a"), dump.Command("echo", "database b")
	a.Name, b.Name = "a.sql", "b.sql"
	sn, err := r.Backup(ctx, dump.Multi(a, b), repo.BackupOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"a.sql", "b.sql"}, sn.Paths)

	var out bytes.Buffer
	require.NoError(t, r.Restore(ctx, sn.ID, dump.IntoWriter(&out), repo.RestoreOptions{Include: []string{"/b.sql"}}))
	require.Equal(t, "database b\n", out.String())

	err = r.Restore(ctx, sn.ID, dump.IntoWriter(io.Discard), repo.RestoreOptions{})
	require.ErrorContains(t, err, "choose one")
	err = r.Restore(ctx, sn.ID, dump.IntoWriter(io.Discard), repo.RestoreOptions{Include: []string{"/c.sql"}})
	require.ErrorContains(t, err, "no file")

	// One failing dump fails the whole snapshot.
	c := dump.Command("false")
	c.Name = "c.sql"
	_, err = r.Backup(ctx, dump.Multi(a, c), repo.BackupOptions{})
	var ce *dump.CommandError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 1, ce.ExitCode)
	require.Equal(t, 1, snapshots(t, r))

	_, err = r.Backup(ctx, dump.Multi(a, a), repo.BackupOptions{})
	require.ErrorContains(t, err, "used twice")
}

func TestRestoreCommandFails(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	sn, err := r.Backup(ctx, dump.Command("seq", "1", "100000"), repo.BackupOptions{})
	require.NoError(t, err)

	err = r.Restore(ctx, sn.ID, dump.Into("sh", "-c", "head -c 10 >/dev/null; echo 'ERROR: relation exists' >&2; exit 3"), repo.RestoreOptions{})
	var ce *dump.CommandError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 3, ce.ExitCode)
	require.Contains(t, ce.Stderr, "relation exists")

	// Exit 0 without reading the input is not a restore either.
	err = r.Restore(ctx, sn.ID, dump.Into("true"), repo.RestoreOptions{})
	require.ErrorContains(t, err, "without reading all its input")
}
