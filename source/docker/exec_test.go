package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/dump"
)

func snapshotCount(t *testing.T, r *repo.Repository) int {
	t.Helper()
	snaps, err := r.Snapshots(context.Background())
	require.NoError(t, err)
	return len(snaps)
}

func TestExec(t *testing.T) {
	cli := dockerClient(t)
	buildDumper(t, cli)

	t.Run("dump", func(t *testing.T) {
		ctr := runDumper(t, cli, true)
		const size = 8<<20 + 12345
		r := newRepo(t)
		src := Exec(cli, ctr, "/dumper", "emit", strconv.Itoa(size))
		src.Redact = []string{strconv.Itoa(size)}
		var stderr bytes.Buffer
		src.Stderr = &stderr
		sn, err := r.Backup(t.Context(), src, repo.BackupOptions{})
		require.NoError(t, err)
		require.Contains(t, stderr.String(), "dumper: 8388608 bytes written")

		name := ctr + "-dumper.dump"
		require.Equal(t, "docker-exec", sn.Source.Kind)
		require.Equal(t, "exec in "+ctr+": /dumper emit ***", sn.Source.Description)
		require.Equal(t, []string{name}, sn.Paths)
		var d ExecResult
		require.NoError(t, json.Unmarshal(sn.Source.Details, &d))
		require.Equal(t, name, d.Name)
		require.Equal(t, "/dumper emit ***", d.Command)
		require.Equal(t, ctr, d.ContainerName)
		require.Len(t, d.ContainerID, 64)
		require.Equal(t, dumperImage, d.Image)
		require.Contains(t, d.ImageID, "sha256:")
		require.NotNil(t, d.ExitCode)
		require.Zero(t, *d.ExitCode)
		require.EqualValues(t, size, d.Bytes)
		require.Positive(t, d.Duration)

		fsys, err := r.FS(t.Context(), sn.ID)
		require.NoError(t, err)
		got, err := fs.ReadFile(fsys, name)
		require.NoError(t, err)
		require.True(t, bytes.Equal(dumperData(size), got), "dump content differs")
	})

	t.Run("empty", func(t *testing.T) {
		ctr := runDumper(t, cli, true)
		r := newRepo(t)
		_, err := r.Backup(t.Context(), Exec(cli, ctr, "/dumper", "emit", "0"), repo.BackupOptions{})
		t.Log(err)
		require.ErrorIs(t, err, source.ErrAbort)
		require.ErrorContains(t, err, "wrote nothing")
		require.Zero(t, snapshotCount(t, r))

		src := Exec(cli, ctr, "/dumper", "emit", "0")
		src.AllowEmpty = true
		_, err = r.Backup(t.Context(), src, repo.BackupOptions{})
		require.NoError(t, err)
	})

	t.Run("failure", func(t *testing.T) {
		ctr := runDumper(t, cli, true)
		r := newRepo(t)
		sn, err := r.Backup(t.Context(), Exec(cli, ctr, "/dumper", "fail"), repo.BackupOptions{})
		require.Nil(t, sn)
		t.Log(err)
		require.ErrorIs(t, err, source.ErrAbort)
		var ce *dump.CommandError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, 3, ce.ExitCode)
		require.Equal(t, "/dumper fail", ce.Command)
		require.Contains(t, ce.Stderr, "FATAL: no such database")
		require.ErrorContains(t, err, ctr)
		require.Zero(t, snapshotCount(t, r))
	})

	t.Run("no such container", func(t *testing.T) {
		r := newRepo(t)
		_, err := r.Backup(t.Context(), Exec(cli, "cairn-test-no-such-container", "/dumper", "emit", "10"), repo.BackupOptions{})
		t.Log(err)
		require.ErrorIs(t, err, source.ErrAbort)
		require.ErrorContains(t, err, `"cairn-test-no-such-container"`)
		require.ErrorContains(t, err, "no such container")
		require.ErrorContains(t, err, "/dumper emit 10")
		require.Zero(t, snapshotCount(t, r))
	})

	t.Run("stopped container", func(t *testing.T) {
		ctr := runDumper(t, cli, true)
		_, err := cli.ContainerStop(t.Context(), ctr, client.ContainerStopOptions{})
		require.NoError(t, err)
		r := newRepo(t)
		_, err = r.Backup(t.Context(), Exec(cli, ctr, "/dumper", "emit", "10"), repo.BackupOptions{})
		t.Log(err)
		require.ErrorIs(t, err, ErrNotRunning)
		require.ErrorIs(t, err, source.ErrAbort)
		require.ErrorContains(t, err, ctr)
		require.ErrorContains(t, err, "exited")
		require.Zero(t, snapshotCount(t, r))
	})

	t.Run("cancelled", func(t *testing.T) {
		ctr := runDumper(t, cli, true)
		r := newRepo(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		src := Exec(cli, ctr, "/dumper", "hang", "3000000")
		src.Stderr = onLine("hanging", cancel)
		start := time.Now()
		sn, err := r.Backup(ctx, src, repo.BackupOptions{})
		require.Nil(t, sn)
		t.Log(err)
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(start), 30*time.Second)
		require.Zero(t, snapshotCount(t, r))
	})

	t.Run("container killed", func(t *testing.T) {
		ctr := runDumper(t, cli, true)
		r := newRepo(t)
		src := Exec(cli, ctr, "/dumper", "hang", "3000000")
		src.Stderr = onLine("hanging", func() {
			go cli.ContainerKill(context.Background(), ctr, client.ContainerKillOptions{})
		})
		sn, err := r.Backup(t.Context(), src, repo.BackupOptions{})
		require.Nil(t, sn)
		t.Log(err)
		require.ErrorIs(t, err, source.ErrAbort)
		require.ErrorContains(t, err, ctr)
		require.Zero(t, snapshotCount(t, r))
	})
}

// onLine returns a writer that calls fn once when what it got contains
// line.
func onLine(line string, fn func()) *lineWatch {
	return &lineWatch{line: line, fn: fn}
}

type lineWatch struct {
	line string
	fn   func()
	mu   sync.Mutex
	buf  strings.Builder
	once sync.Once
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	hit := strings.Contains(w.buf.String(), w.line)
	w.mu.Unlock()
	if hit {
		w.once.Do(w.fn)
	}
	return len(p), nil
}
