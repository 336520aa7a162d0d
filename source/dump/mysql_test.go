package dump_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/testmysql"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source/dump"
	"github.com/stretchr/testify/require"
)

// myTables are the tables of the database src, each with the expression
// that renders a row as text for myChecksums: QUOTE tells NULL from
// 'NULL', HEX keeps binary bytes apart from the separators.
var myTables = []struct{ name, row string }{
	{"accounts", "CONCAT_WS('|', id, QUOTE(owner), balance, opened, HEX(token), QUOTE(note))"},
	{"branches", "CONCAT_WS('|', id, QUOTE(name), QUOTE(city))"},
}

// mySchema makes src: 20,000 accounts from MariaDB's SEQUENCE engine, with
// NULLs, quotes, backslashes, tabs and binary tokens (any byte, NUL, quote
// and backslash among them) for the dump to escape, and a few branches.
const mySchema = `
CREATE DATABASE src;
USE src;
CREATE TABLE accounts (
	id INT PRIMARY KEY,
	owner VARCHAR(64) NOT NULL,
	balance DECIMAL(12,2) NOT NULL,
	opened DATE NOT NULL,
	token VARBINARY(16) NOT NULL,
	note TEXT NULL
) ENGINE=InnoDB;
INSERT INTO accounts
	SELECT seq, CONCAT('owner-', seq), seq * 1.25, DATE '2020-01-01' + INTERVAL seq % 1500 DAY, UNHEX(MD5(seq)),
		IF(seq % 7 = 0, NULL, CONCAT('note ', seq, ': ''quoted'', back\\slash, tab\t.'))
	FROM seq_1_to_20000;
CREATE TABLE branches (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, city VARCHAR(64) NULL) ENGINE=InnoDB;
INSERT INTO branches VALUES (1, 'Main', 'Zürich'), (2, 'O''Brien & Sons', NULL), (3, 'Back\\slash', '東京');
`

// myChanges touches src between the two backups: a run of updates,
// deletes spread over the table, appended rows, and the small table.
const myChanges = `
UPDATE accounts SET balance = balance + 100 WHERE id BETWEEN 5000 AND 5100;
DELETE FROM accounts WHERE id % 997 = 0;
INSERT INTO accounts SELECT seq, CONCAT('late-', seq), 0, DATE '2024-02-29', UNHEX(MD5(seq)), NULL FROM seq_20001_to_20100;
UPDATE branches SET city = 'Genève' WHERE id = 2;
INSERT INTO branches VALUES (4, 'New', NULL);
`

// TestMySQLDump backs up a MariaDB database twice with mariadb-dump,
// restores each snapshot into a second server with the mariadb client, and
// compares every table; a dump of a database that does not exist saves no
// snapshot. It runs only where Debian's mariadb-server is installed.
func TestMySQLDump(t *testing.T) {
	ctx := context.Background()
	my := testmysql.Start(t)
	my.Exec(t, "", mySchema)
	r := newRepo(t)

	first := myBackup(t, r, my)
	before := myChecksums(t, my)
	require.True(t, strings.HasPrefix(before["accounts"], "20000\t"), "rows of accounts: %s", before["accounts"])
	my.Exec(t, "src", myChanges)
	after := myChecksums(t, my)
	for _, table := range myTables {
		require.NotEqual(t, before[table.name], after[table.name], "the changes reached %s", table.name)
	}
	second := myBackup(t, r, my)
	t.Logf("first backup: read %d, added %d bytes; second backup: read %d, added %d, stored %d bytes",
		first.Summary.BytesRead, first.Summary.BytesAdded,
		second.Summary.BytesRead, second.Summary.BytesAdded, second.Summary.BytesStored)

	// --databases puts CREATE DATABASE and USE into the dump: it restores
	// into a server, not into a database of our choosing.
	restored := testmysql.Start(t)
	for _, tc := range []struct {
		snap *repo.Snapshot
		want map[string]string
	}{{second, after}, {first, before}} {
		restored.Exec(t, "", "DROP DATABASE IF EXISTS src")
		require.NoError(t, r.Restore(ctx, tc.snap.ID, myInto(restored, "mariadb", "-uroot"), repo.RestoreOptions{}))
		require.Equal(t, tc.want, myChecksums(t, restored), "restore of %s", tc.snap.ID.Short())
	}

	t.Run("no such database", func(t *testing.T) {
		// mariadb-dump writes its header before it finds out: what saves
		// no snapshot is its exit status.
		src := dump.Command(testmysql.Program("mariadb-dump"), "-uroot", "--single-transaction", "--databases", "nosuchdb")
		src.Name, src.Env = "src.sql", my.Env()
		n := snapshots(t, r)
		sn, err := r.Backup(ctx, src, repo.BackupOptions{})
		t.Log(err)
		require.Nil(t, sn)
		var ce *dump.CommandError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, 2, ce.ExitCode, "mariadb-dump's exit status for a server error")
		require.Contains(t, ce.Stderr, "nosuchdb")
		require.Equal(t, n, snapshots(t, r), "no snapshot written")
	})

	t.Run("restore fails", func(t *testing.T) {
		err := r.Restore(ctx, second.ID, myInto(restored, "mariadb", "-uroot", "nosuchdb"), repo.RestoreOptions{})
		var ce *dump.CommandError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, 1, ce.ExitCode)
		require.Contains(t, ce.Stderr, "nosuchdb")
	})
}

// myBackup saves a mariadb-dump of the database src as src.sql.
func myBackup(t *testing.T, r *repo.Repository, my *testmysql.Server) *repo.Snapshot {
	t.Helper()
	src := dump.Command(testmysql.Program("mariadb-dump"), "-uroot", "--single-transaction", "--databases", "src")
	src.Name, src.Env = "src.sql", my.Env()
	sn, err := r.Backup(context.Background(), src, repo.BackupOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"src.sql"}, sn.Paths)

	var details struct{ Dumps []dump.Result }
	require.NoError(t, json.Unmarshal(sn.Source.Details, &details))
	require.Len(t, details.Dumps, 1)
	require.Equal(t, 0, *details.Dumps[0].ExitCode)
	require.EqualValues(t, sn.Summary.BytesRead, details.Dumps[0].Bytes)
	require.Greater(t, details.Dumps[0].Bytes, int64(1<<20), "20,000 accounts")
	return sn
}

// myInto is a restore target running a client program against my.
func myInto(my *testmysql.Server, name string, args ...string) *dump.Target {
	tg := dump.Into(testmysql.Program(name), args...)
	tg.Env = my.Env()
	return tg
}

// myChecksums returns, for each table of src, its row count, the MD5 of
// its rows as text in id order, and CHECKSUM TABLE's result.
func myChecksums(t *testing.T, my *testmysql.Server) map[string]string {
	t.Helper()
	sums := map[string]string{}
	for _, table := range myTables {
		sums[table.name] = my.Exec(t, "src", fmt.Sprintf(`SET SESSION group_concat_max_len = 64 << 20;
			SELECT COUNT(*), MD5(GROUP_CONCAT(%s ORDER BY id SEPARATOR '\n')) FROM %s;
			CHECKSUM TABLE %[2]s EXTENDED;`, table.row, table.name))
	}
	return sums
}
