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
package dump
