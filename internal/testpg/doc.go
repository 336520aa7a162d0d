// Package testpg starts a throwaway PostgreSQL server for a test or
// benchmark, from the programs of Debian's postgresql package
// (/usr/lib/postgresql/<version>/bin, the newest version installed).
//
// The server lives in a fresh temporary directory: its data directory, its
// log and its unix socket. It listens on no TCP port, trusts every local
// connection as the superuser "postgres", and trades durability for speed
// (fsync off). Start registers a cleanup that stops it and removes the
// directory; Run, for programs that are not tests (bench/compare), returns
// the function that does.
//
// PostgreSQL refuses to run as root, so when the test runs as root the
// server programs (initdb, pg_ctl, postgres) run as the postgres OS user;
// client programs (psql, pg_dump, pgbench…) run as the current user and
// connect as the database user postgres.
//
// Without the programs the test is skipped, or fails when
// CAIRN_REQUIRE_INTEGRATION=1, as in CI; Run returns an error wrapping
// ErrUnavailable.
package testpg
