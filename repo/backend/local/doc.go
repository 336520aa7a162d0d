// Package local is a Backend on a directory of the local file system:
//
//	config
//	keys/<name>
//	data/<first two characters of name>/<name>
//	index/<name>
//	snapshots/<name>
//	locks/<name>
//
// The two-character fan-out keeps the data folder's entries few, which many
// file systems and tools cope with better than a single folder of packs.
//
// Invariants, kept even if the machine crashes at any instant:
//
//   - An object is either absent or complete. Save writes a temporary file in
//     the object's folder, fsyncs it, and only then gives it the final name.
//   - An object is never overwritten. The final name is created with a hard
//     link, which fails if the name exists, so two savers racing for one
//     name, even in two processes, cannot both win. A plain rename would
//     silently replace the other's file.
//   - Once Save or Remove returns nil the change is durable: the folder is
//     fsynced after the name is added or removed, and so is the parent of
//     every folder Save creates.
//
// Temporary files start with "." and List never reports them, nor anything
// else that is not a valid object name in its proper folder. A crash can
// leave such files behind; they waste space but do no harm.
//
// Folders are created with mode 0700 and files with 0600, since a
// repository's objects are nobody else's business even though encrypted.
//
// Saving needs a file system with hard links; on one without (FAT, exFAT,
// some network shares) Save fails instead of overwriting unsafely.
package local
