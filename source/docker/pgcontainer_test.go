package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/dump"
)

// pgSum is a table's row count and the MD5 of its rows in text form, in
// order.
const pgSum = `SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY t.id)) FROM items t`

// TestPGContainerDump backs up pg_dumpall from a real PostgreSQL server in
// a container with Exec, restores the dump into a second, fresh server and
// compares the data.
func TestPGContainerDump(t *testing.T) {
	cli := dockerClient(t)
	ensurePGImage(t, cli)
	src := runPG(t, cli)
	pgPsql(t, cli, src, "postgres", "CREATE DATABASE shop")
	pgPsql(t, cli, src, "shop", `CREATE TABLE items AS
		SELECT g AS id, md5(g::text) AS name, g * 0.25 AS price FROM generate_series(1, 20000) g;
		ALTER TABLE items ADD PRIMARY KEY (id)`)
	want := pgPsql(t, cli, src, "shop", pgSum)
	require.True(t, strings.HasPrefix(want, "20000 "), want)

	t.Run("dumpall round trip", func(t *testing.T) {
		r := newRepo(t)
		ex := Exec(cli, src, "pg_dumpall")
		ex.User = "postgres"
		start := time.Now()
		sn, err := r.Backup(t.Context(), ex, repo.BackupOptions{})
		require.NoError(t, err)
		var d ExecResult
		require.NoError(t, json.Unmarshal(sn.Source.Details, &d))
		t.Logf("pg_dumpall: %d bytes in %v", d.Bytes, time.Since(start).Round(time.Millisecond))
		require.Equal(t, "docker-exec", sn.Source.Kind)
		require.Equal(t, src+"-pg_dumpall.dump", d.Name)
		require.Equal(t, "pg_dumpall", d.Command)
		require.Equal(t, "postgres", d.User)
		require.Equal(t, pgImage, d.Image)
		require.NotNil(t, d.ExitCode)
		require.Zero(t, *d.ExitCode)
		require.Positive(t, d.Bytes)

		var sql bytes.Buffer
		require.NoError(t, r.Restore(t.Context(), sn.ID, dump.IntoWriter(&sql), repo.RestoreOptions{}))
		require.EqualValues(t, d.Bytes, sql.Len())
		require.Contains(t, sql.String(), "CREATE DATABASE shop")

		dst := runPG(t, cli)
		copyFile(t, cli, dst, "/tmp/dumpall.sql", sql.Bytes())
		// A fresh cluster has the role postgres already: the dump's
		// CREATE ROLE for it fails, and only that may fail.
		stdout, stderr, code := pgExec(t, cli, dst, "psql", "-X", "-q", "-d", "postgres", "-f", "/tmp/dumpall.sql")
		require.Zero(t, code, "psql: %s%s", stdout, stderr)
		require.Equal(t, 1, strings.Count(stderr, "ERROR:"), stderr)
		require.Contains(t, stderr, `role "postgres" already exists`)
		require.Equal(t, want, pgPsql(t, cli, dst, "shop", pgSum))
	})

	t.Run("pg_dump failure", func(t *testing.T) {
		r := newRepo(t)
		ex := Exec(cli, src, "pg_dump", "nosuchdb")
		ex.User = "postgres"
		sn, err := r.Backup(t.Context(), ex, repo.BackupOptions{})
		require.Nil(t, sn)
		t.Log(err)
		require.ErrorIs(t, err, source.ErrAbort)
		var ce *dump.CommandError
		require.ErrorAs(t, err, &ce)
		require.NotZero(t, ce.ExitCode)
		require.Equal(t, "pg_dump nosuchdb", ce.Command)
		require.Contains(t, ce.Stderr, `database "nosuchdb" does not exist`)
		require.Zero(t, snapshotCount(t, r))
	})
}

// runPG starts a container of pgImage, waits until its server accepts
// connections and removes it when the test ends. It returns its name.
func runPG(t *testing.T, cli *client.Client) string {
	t.Helper()
	ctx := t.Context()
	name := fmt.Sprintf("cairn-test-pg-%d-%d", os.Getpid(), time.Now().UnixNano())
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       name,
		Config:     &container.Config{Image: pgImage, Labels: map[string]string{testLabel: "true"}},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
		require.NoError(t, err)
	})
	_, err = cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{})
	require.NoError(t, err)
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, errOut, code := pgExec(t, cli, name, "pg_isready", "-q")
		if code == 0 {
			return name
		}
		if time.Now().After(deadline) {
			log, _, _ := pgExec(t, cli, name, "sh", "-c", "cat /tmp/initdb.log /tmp/pg.log")
			t.Fatalf("PostgreSQL in %s not ready after 60s (pg_isready exit %d: %s%s)\n%s", name, code, out, errOut, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pgPsql runs sql in db inside ctr and returns its output, trimmed.
func pgPsql(t *testing.T, cli *client.Client, ctr, db, sql string) string {
	t.Helper()
	out, errOut, code := pgExec(t, cli, ctr, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql)
	require.Zero(t, code, "psql %q: %s%s", sql, out, errOut)
	return strings.TrimSpace(out)
}

// pgExec runs cmd as postgres inside ctr and returns its stdout, stderr
// and exit code.
func pgExec(t *testing.T, cli *client.Client, ctr string, cmd ...string) (string, string, int) {
	t.Helper()
	ctx := t.Context()
	cr, err := cli.ExecCreate(ctx, ctr, client.ExecCreateOptions{
		User: "postgres", Cmd: cmd, AttachStdout: true, AttachStderr: true,
	})
	require.NoError(t, err)
	at, err := cli.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	require.NoError(t, err)
	defer at.Close()
	var out, errOut bytes.Buffer
	_, err = stdcopy.StdCopy(&out, &errOut, at.Reader)
	require.NoError(t, err)
	for {
		in, err := cli.ExecInspect(ctx, cr.ID, client.ExecInspectOptions{})
		require.NoError(t, err)
		if !in.Running {
			return out.String(), errOut.String(), in.ExitCode
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// copyFile writes data to file (an absolute path) in ctr, readable by all.
func copyFile(t *testing.T, cli *client.Client, ctr, file string, data []byte) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: path.Base(file), Mode: 0o644, Size: int64(len(data)), ModTime: time.Now()}))
	_, err := tw.Write(data)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	_, err = cli.CopyToContainer(t.Context(), ctr, client.CopyToContainerOptions{DestinationPath: path.Dir(file), Content: &buf})
	require.NoError(t, err)
}
