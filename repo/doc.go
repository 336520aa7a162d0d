// Package repo is a cairn repository: creating and opening one, saving and
// loading blobs with deduplication, snapshots and keys.
//
// A Repository is opened with a password from a backend.Backend (a local
// directory, memory, object storage). Opening loads every index file into a
// compact in-memory index, so looking up whether a blob exists costs no I/O.
//
// Writing happens in sessions: a Writer (Repository.NewWriter) takes blobs
// from many goroutines, skips those the repository or the session already
// has, compresses and seals the rest and spreads them at random over a few
// open packs. A full pack is stored by the goroutine that
// filled it; Flush stores the rest and then writes an index file. Blobs
// become visible to other sessions only once an index file names them, and
// Writer.SaveSnapshot flushes before it stores the snapshot, so every object
// is written after what it depends on and a crash at any point leaves a valid
// repository.
//
// Where packs are built depends on the backend. One that gives spool files
// (backend.Spooler: the local backend) has each pack written into an
// unnamed file on the repository's own file system, which is given its
// name once the pack is complete: packs cost no memory and are written
// once. For other backends (object stores) packs are built in memory, and
// memory while writing is bounded by Options: about
// (PackWriters + 1 + Uploads) × PackSize for packs. Either way add one
// chunk per goroutine calling SaveBlob.
//
// Everything read back is verified: files against the hash that names them,
// sealed data by its authentication tag, blobs by recomputing their ID.
// Failures wrap ErrCorrupt, ErrNotFound, ErrWrongPassword or
// ErrUnsupportedVersion, and name the object: a *FileError for files, a
// *BlobError (with the pack) for blobs.
//
// Maintenance: Forget thins snapshots by a retention Policy; Prune frees
// the packs no snapshot needs, in two phases, so that backups never wait
// for it and never lose a blob to it (FORMAT.md §12); Check verifies the
// structure and, with ReadData, every byte, naming the snapshots each
// problem harms; RebuildIndex rebuilds the index from the packs. Backups
// and restores hold shared locks and maintenance exclusive ones (Lock);
// locks are refreshed while held and turn stale after Options.LockStale.
//
// Remote repositories: OpenOptions.CacheDir keeps index files, snapshots
// and tree packs in a local cache, verified on every read, so that opening
// and an incremental backup read almost nothing remote. Copy replicates
// snapshots into another repository (offsite), sending only the blobs it
// lacks; InitOptions.ChunkerFrom makes the two deduplicate alike.
package repo
