package dump_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/testpg"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/source/dump"
	"github.com/stretchr/testify/require"
)

// pgbenchTables are the tables pgbench -i makes and pgbench changes.
var pgbenchTables = []string{"pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history"}

// pgChunking is small enough for pgbench's scattered updates to leave most
// chunks of the 9.5 MB plain dump unchanged. The 400 transactions move
// about 400 random rows of pgbench_accounts to the end of the table, one
// every 24 KB of the dump, and the rows are so alike that chunks come out
// bigger than Avg: measured, 2 KiB chunks add about 24% of the plain dump
// again, 8 KiB chunks 57%, 64 KiB chunks 96%, the default 100%.
var pgChunking = chunk.Params{Min: 512, Avg: 2 << 10, Max: 16 << 10}

// TestPGDump backs up a real PostgreSQL database twice with pg_dump (plain
// and custom format in one snapshot), restores both into fresh databases
// with psql and pg_restore, and compares every table.
func TestPGDump(t *testing.T) {
	ctx := context.Background()
	pg := testpg.Start(t)
	pgRun(t, pg, "createdb", "src")
	pgRun(t, pg, "pgbench", "-i", "-q", "-s", "1", "src")
	r := pgRepo(t)

	first := pgBackup(t, r, pg)
	before := pgChecksums(t, pg, "src")
	pgRun(t, pg, "pgbench", "-n", "-t", "200", "-c", "2", "src")
	after := pgChecksums(t, pg, "src")
	require.NotEqual(t, before, after, "pgbench changed the data")
	second := pgBackup(t, r, pg)

	sizes := pgDumpSizes(t, second)
	t.Logf("dump sizes: %v; first backup: read %d, added %d bytes; second backup: read %d, added %d (%.1f%%), stored %d bytes",
		sizes, first.Summary.BytesRead, first.Summary.BytesAdded, second.Summary.BytesRead, second.Summary.BytesAdded,
		100*float64(second.Summary.BytesAdded)/float64(second.Summary.BytesRead), second.Summary.BytesStored)
	require.Equal(t, sizes["src.sql"]+sizes["src.dump"], int64(second.Summary.BytesRead))
	require.Greater(t, sizes["src.sql"], int64(5<<20), "scale 1 is 100,000 accounts")
	// The plain dump dedups; the custom format compresses each table as
	// one stream, so a changed table is new from its first change on.
	require.Less(t, second.Summary.BytesAdded, uint64(sizes["src.sql"])/2, "second backup deduplicated")

	for _, tc := range []struct {
		snap *repo.Snapshot
		want map[string]string
	}{{second, after}, {first, before}} {
		suffix := tc.snap.ID.Short()
		plain, custom := "sql_"+suffix, "fc_"+suffix
		pgRun(t, pg, "createdb", plain)
		pgRun(t, pg, "createdb", custom)
		require.NoError(t, r.Restore(ctx, tc.snap.ID, pgInto(pg, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-q", plain),
			repo.RestoreOptions{Include: []string{"/src.sql"}}))
		require.NoError(t, r.Restore(ctx, tc.snap.ID, pgInto(pg, "pg_restore", "--no-owner", "-d", custom),
			repo.RestoreOptions{Include: []string{"/src.dump"}}))
		require.Equal(t, tc.want, pgChecksums(t, pg, plain), "psql restore of %s", suffix)
		require.Equal(t, tc.want, pgChecksums(t, pg, custom), "pg_restore of %s", suffix)
	}
}

// TestPGDumpFailures checks that a dump that fails, is killed, cancelled
// or empty saves no snapshot, and that a failing restore command fails the
// restore.
func TestPGDumpFailures(t *testing.T) {
	pg := testpg.Start(t)
	pgRun(t, pg, "createdb", "src")
	pgRun(t, pg, "pgbench", "-i", "-q", "-s", "1", "src")
	r := pgRepo(t)
	good := pgBackup(t, r, pg)
	pgDump := pg.Program("pg_dump")

	for _, tc := range []struct {
		name   string
		cmd    []string
		cancel bool   // cancel the backup once it has read some bytes
		exit   int    // want a CommandError with this exit code (-1: killed)
		signal string // … killed by this signal
		stderr string // … whose stderr contains this
	}{
		{name: "no such database", cmd: []string{pgDump, "nosuchdb"}, exit: 1, stderr: `"nosuchdb"`},
		{name: "killed mid-stream", cmd: []string{"sh", "-c", `"$0" src; kill -9 $$`, pgDump}, exit: -1, signal: "kill"},
		{name: "cancelled while sleeping", cmd: []string{"sh", "-c", `printf -- '-- start\n'; exec sleep 30`}, cancel: true},
		// pg_dump blocks writing to the pipe nobody reads any more, and the
		// shell's children hold stdout and stderr open when it is killed.
		{name: "cancelled mid-dump with children", cmd: []string{"sh", "-c", `"$0" src | cat; sleep 30`, pgDump}, cancel: true},
		{name: "empty", cmd: []string{"true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			src := dump.Command(tc.cmd[0], tc.cmd[1:]...)
			src.Name, src.Env = "src.sql", pg.Env()
			opts := repo.BackupOptions{}
			if tc.cancel {
				opts.ProgressInterval = 10 * time.Millisecond
				opts.Progress = func(p repo.Progress) {
					if p.BytesRead > 0 {
						cancel()
					}
				}
			}
			n := pgSnapshotCount(t, r)
			start := time.Now()
			sn, err := pgBackupWithin(t, 15*time.Second, r, ctx, src, opts)
			t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
			require.Error(t, err)
			require.Nil(t, sn)
			require.Equal(t, n, pgSnapshotCount(t, r), "no snapshot written")

			var ce *dump.CommandError
			switch {
			case tc.cancel:
				require.ErrorIs(t, err, context.Canceled)
			case tc.exit == 0:
				require.False(t, errors.As(err, &ce), "an empty dump is not a command failure")
			default:
				require.ErrorAs(t, err, &ce)
				require.Equal(t, tc.exit, ce.ExitCode)
				require.Contains(t, strings.ToLower(ce.Signal), tc.signal)
				require.Contains(t, ce.Stderr, tc.stderr)
			}
		})
	}

	t.Run("restore fails", func(t *testing.T) {
		pgRun(t, pg, "createdb", "twice")
		for _, tc := range []struct {
			db     string
			exit   int
			stderr string
		}{
			{"nosuchdb", 2, `"nosuchdb"`},  // psql cannot connect
			{"twice", 0, ""},               // restores
			{"twice", 3, "already exists"}, // ON_ERROR_STOP on the first clash
		} {
			err := r.Restore(context.Background(), good.ID, pgInto(pg, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-q", tc.db),
				repo.RestoreOptions{Include: []string{"/src.sql"}})
			if tc.exit == 0 {
				require.NoError(t, err)
				continue
			}
			var ce *dump.CommandError
			require.ErrorAs(t, err, &ce, "restore into %s", tc.db)
			require.Equal(t, tc.exit, ce.ExitCode)
			require.Contains(t, ce.Stderr, tc.stderr)
		}
	})
}

// pgRepo makes a local repository with pgChunking.
func pgRepo(t *testing.T) *repo.Repository {
	t.Helper()
	r, err := repo.Init(context.Background(), local.New(t.TempDir()), "pw", repo.InitOptions{
		Chunking: pgChunking,
		Key:      repo.KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}}})
	require.NoError(t, err)
	return r
}

// pgBackup saves a plain (src.sql) and a custom-format (src.dump) pg_dump
// of the database src in one snapshot.
func pgBackup(t *testing.T, r *repo.Repository, pg *testpg.Server) *repo.Snapshot {
	t.Helper()
	plain := dump.Command(pg.Program("pg_dump"), "--no-owner", "src")
	custom := dump.Command(pg.Program("pg_dump"), "--no-owner", "-Fc", "src")
	plain.Name, custom.Name = "src.sql", "src.dump"
	plain.Env, custom.Env = pg.Env(), pg.Env()
	sn, err := r.Backup(context.Background(), dump.Multi(plain, custom), repo.BackupOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"src.sql", "src.dump"}, sn.Paths)
	return sn
}

// pgBackupWithin runs a backup that must end, one way or another, within
// d: it fails t instead of hanging when a stopped dump's children keep its
// pipes open.
func pgBackupWithin(t *testing.T, d time.Duration, r *repo.Repository, ctx context.Context, src *dump.Source, opts repo.BackupOptions) (*repo.Snapshot, error) {
	t.Helper()
	type result struct {
		sn  *repo.Snapshot
		err error
	}
	done := make(chan result, 1)
	go func() {
		sn, err := r.Backup(ctx, src, opts)
		done <- result{sn, err}
	}()
	select {
	case res := <-done:
		return res.sn, res.err
	case <-time.After(d):
		t.Fatalf("backup still running %v after it was stopped or failed: the dump command (or a child of it) was not stopped", d)
		return nil, nil
	}
}

// pgInto is a restore target running a client program against pg.
func pgInto(pg *testpg.Server, name string, args ...string) *dump.Target {
	tg := dump.Into(pg.Program(name), args...)
	tg.Env = pg.Env()
	return tg
}

// pgChecksums returns each pgbench table's row count and the MD5 of its
// rows in text form, in order.
func pgChecksums(t *testing.T, pg *testpg.Server, db string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	for _, table := range pgbenchTables {
		sums[table] = pg.Exec(t, db, fmt.Sprintf(
			`SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM %s t`, table))
	}
	return sums
}

// pgDumpSizes reads the dump sizes from the snapshot record.
func pgDumpSizes(t *testing.T, sn *repo.Snapshot) map[string]int64 {
	t.Helper()
	var details struct {
		Dumps []struct {
			Name  string
			Bytes int64
		}
	}
	require.NoError(t, json.Unmarshal(sn.Source.Details, &details))
	sizes := map[string]int64{}
	for _, d := range details.Dumps {
		sizes[d.Name] = d.Bytes
	}
	return sizes
}

func pgSnapshotCount(t *testing.T, r *repo.Repository) int {
	t.Helper()
	snaps, err := r.Snapshots(context.Background())
	require.NoError(t, err)
	return len(snaps)
}

func pgRun(t *testing.T, pg *testpg.Server, name string, args ...string) {
	t.Helper()
	out, err := pg.Cmd(t.Context(), name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
}
