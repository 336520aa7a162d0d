package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cairnbackup/cairn/internal/testpg"
)

// The pgbench data set is a plain pg_dump of a pgbench database; the
// backup-changed step sees a second dump of it, taken after pgbench ran
// transactions, as a database dumped nightly would give.
const (
	pgbenchScale        = 10      // pgbench -i -s at scale 1: 1,000,000 accounts, a dump of about 100 MB
	pgbenchAccounts     = 100_000 // accounts per pgbench scale
	pgbenchMinAccounts  = 1000
	pgbenchTransactions = 10_000 // between the dumps at scale 1, over pgbenchClients
	pgbenchClients      = 2
	pgbenchDump         = "db.sql"
)

// pgbenchScript is pgbench's built-in tpcb-like transaction with the
// account drawn from the accounts left (naccounts), which are fewer than
// pgbench -i made when the data set is shrunk below pgbench's scale 1.
const pgbenchScript = `\set aid random(1, :naccounts)
\set bid random(1, :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
`

// nextDump is where makePgbench puts the second dump: beside the data set,
// not in it.
func nextDump(dir string) string { return dir + ".next.sql" }

// makePgbench starts a throwaway PostgreSQL server, fills a database with
// pgbench -i and dumps it into dir; then runs pgbench transactions and dumps
// the database again into nextDump(dir). Without PostgreSQL or pgbench the
// error wraps errUnavailable.
func makePgbench(dir string, scale float64, seed uint64) (err error) {
	pg, stop, err := testpg.Run("", nil)
	if err != nil {
		return err
	}
	defer func() {
		if serr := stop(); err == nil {
			err = serr
		}
	}()
	if p := pg.Program("pgbench"); !filepath.IsAbs(p) {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%w: no pgbench in %s or on PATH", errUnavailable, pg.Bin)
		}
	}
	script, err := os.CreateTemp("", "cairn-pgbench-*.sql")
	if err != nil {
		return err
	}
	defer os.Remove(script.Name())
	if _, err := script.WriteString(pgbenchScript); err != nil {
		script.Close()
		return err
	}
	if err := script.Close(); err != nil {
		return err
	}

	s := max(1, int(math.Ceil(pgbenchScale*scale)))
	accounts := min(s*pgbenchAccounts, max(pgbenchMinAccounts, int(math.Round(pgbenchScale*pgbenchAccounts*scale))))
	perClient := max(1, int(math.Round(pgbenchTransactions*scale/pgbenchClients)))
	pgRun := func(name string, args ...string) error {
		if out, err := pg.Cmd(context.Background(), name, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	for _, c := range [][]string{
		{"createdb", "bench"},
		{"pgbench", "-i", "-q", "-s", strconv.Itoa(s), "bench"},
		{"psql", "-Xq", "-v", "ON_ERROR_STOP=1", "-d", "bench", "-c", fmt.Sprintf("DELETE FROM pgbench_accounts WHERE aid > %d", accounts)},
		{"pg_dump", "--no-sync", "-f", filepath.Join(dir, pgbenchDump), "bench"},
		{"pgbench", "-n", "-s", strconv.Itoa(s), "-D", "naccounts=" + strconv.Itoa(accounts),
			"-c", strconv.Itoa(pgbenchClients), "-t", strconv.Itoa(perClient),
			"--random-seed=" + strconv.FormatUint(seed, 10), "-f", script.Name(), "bench"},
		{"pg_dump", "--no-sync", "-f", nextDump(dir), "bench"},
	} {
		if err := pgRun(c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// changePgbench swaps the second dump into the data set; undo swaps it out.
func changePgbench(d *dataset, _ uint64) (undo func() error, err error) {
	swap := func() error { return swapFiles(filepath.Join(d.dir, pgbenchDump), nextDump(d.dir)) }
	if err := swap(); err != nil {
		return nil, err
	}
	return swap, nil
}

// swapFiles exchanges the files at a and b by renaming them.
func swapFiles(a, b string) error {
	tmp := b + ".swap"
	if err := os.Rename(a, tmp); err != nil {
		return err
	}
	if err := os.Rename(b, a); err != nil {
		os.Rename(tmp, a)
		return err
	}
	return os.Rename(tmp, b)
}
