// Package dump backs up streams: the output of a command (pg_dump,
// pg_dumpall, mysqldump, mongodump --archive, redis-cli --rdb -, any
// program) or any io.Reader, stored as one file of a snapshot; and it
// restores such a file into a command's stdin (psql, pg_restore, mysql) or
// an io.Writer.
//
// The classic failure of logical backups is a dump that broke half-way
// stored as a good backup. Here that cannot happen: the stream goes
// straight through the chunker (no temporary file), and only once the
// command has exited 0 is the snapshot written. A command that exits
// non-zero or is killed, a cancelled context, a reader that fails, or an
// empty dump (unless Source.AllowEmpty) fails Backup with an error —
// a *CommandError with the exit status and the end of stderr for
// commands — and no snapshot is written. On restore, a command that exits
// non-zero, or exits without reading all of its input, fails the restore.
//
// The snapshot records, in Snapshot.Source.Details, each dump's command
// line (with Source.Redact applied; environment values are never
// recorded), exit status, byte count, start and duration. Multi puts
// several dumps into one snapshot, one file each, for example one per
// database.
//
// # Chunk sizes and dumps
//
// Consecutive dumps of a database share most of their bytes, and cairn's
// content-defined chunks find what is shared wherever it moved to. How much
// of an unchanged stretch is recognised depends on the chunk size: every
// change costs the whole chunk around it, so smaller chunks store less per
// change, at the price of more index entries (about 48 bytes of memory
// per blob) and more blobs per file. The chunk sizes are fixed per
// repository (repo.InitOptions.Chunking), so a repository that mostly holds
// dumps may be created with smaller ones.
//
// What that buys depends on where a database's changes land in its dump.
// Measured with BenchmarkDumpDedup in bench/ (a 2-core VM, PostgreSQL 15,
// one run; chunk boundaries depend on each repository's secret key, so
// blob counts vary a little between runs): a pgbench database at scale 10,
// dumped as plain SQL (96.5 MB), then 10,000 pgbench transactions, then
// dumped again. The second dump added, before compression:
//
//	chunks (min / avg / max)      added       share   data blobs in repo
//	512 KiB / 1 MiB / 8 MiB       96.5 MB     100%        85   (default)
//	64 KiB / 256 KiB / 2 MiB      96.5 MB     100%       380
//	16 KiB / 64 KiB / 512 KiB     96.3 MB      99.8%    1416
//	2 KiB / 8 KiB / 64 KiB        82.6 MB      85.6%   10051
//	512 B / 2 KiB / 16 KiB        48.9 MB      50.7%   32205
//	restic 0.14, backup --stdin   96.5 MB     100%     (its defaults)
//
// pgbench updates random rows of a 1-million-row table, and PostgreSQL
// writes each updated row elsewhere in the table, so 10,000 transactions
// change the dump about every 10 KB: at any chunk size that keeps the
// index small, nearly every chunk of such a dump is new, for restic as for
// cairn. (PostgreSQL 15.14 and later also start every plain dump with a
// random \restrict key.) Dumps whose changes are clustered — append-mostly
// tables, a few busy tables among many quiet ones — dedup well at the
// default sizes; for a database like pgbench's, a small average (8 KiB or
// less) is what saves space, at the cost of some 4 to 12 times the index
// entries. Custom-format dumps (pg_dump -Fc) compress each table as one
// stream and change almost entirely with any change; keep them for speed of
// restore, and prefer plain dumps, which cairn compresses itself, where
// dedup matters.
package dump
