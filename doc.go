// Package cairn is a library for deduplicated, encrypted, incremental-forever
// backups of containerized workloads: Docker volumes, bind mounts and plain
// directories, and database dump streams.
//
// cairn is meant to be imported. Its packages are layered, each using only
// the ones below it:
//
//	chunk      content-defined chunking with a secret polynomial (Rabin)
//	crypto     master keys, password key files (argon2id), XChaCha20-Poly1305,
//	           keyed BLAKE3-256 blob IDs
//	pack       the packfile format: sealed blobs and a sealed header
//	index      blob ID → pack location, compact in memory; index files
//	repo       the Repository: Init and Open, saving and loading blobs with
//	           deduplication, snapshots, keys
//	repo/backend  where objects live: local directories, memory, and the
//	           conformance suite every backend passes
//
// Data flows one way on backup: a source yields files, each is cut into
// chunks, each chunk becomes a blob named by its keyed BLAKE3 digest, and a
// blob the repository does not have yet is compressed (zstd), sealed and
// appended to a pack. Packs are stored first, then an index file naming them,
// then the snapshot that needs them, so a crash at any point leaves a valid
// repository. FORMAT.md describes every byte.
//
// A minimal program:
//
//	be := local.New("/srv/backups/repo")
//	r, err := repo.Init(ctx, be, password, repo.InitOptions{})
//	…
//	w := r.NewWriter()
//	id, _, err := w.SaveBlob(ctx, repo.DataBlob, data)
//	err = w.Flush(ctx)
//
// The library never prints, never exits the process and registers nothing
// at import. Errors wrap sentinel values (repo.ErrWrongPassword,
// repo.ErrCorrupt, repo.ErrNotFound, repo.ErrUnsupportedVersion) and name
// the object they concern.
package cairn
