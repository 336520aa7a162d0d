// Package drill runs restore drills: it restores a snapshot, or a random
// sample of its files, into a scratch directory of the local file system,
// checks every restored file's content and every restored entry's
// metadata against the snapshot, and reports what differs.
//
// A backup is only as good as its last successful restore; Run is that
// restore, automated, for a cron job or a monitoring check.
//
// # What is checked
//
// Content: every regular file is read back from disk after it is written
// and compared with the bytes the repository delivered, each of which the
// repository authenticated and checked against its blob ID on the way; the
// bytes restored must add up to the sizes the snapshot records. Sparse
// files need not keep their holes.
//
// Metadata, as the backup's own directory walk (source/fs) sees it on the
// restored tree: type, permission bits with setuid, setgid and sticky (not
// for symbolic links, whose permissions Linux ignores), size, modification
// time (of symbolic links too) as precisely as the scratch file system
// keeps it, symbolic link targets, device numbers, extended attributes of
// the user namespace, and hard links: entries that are links to each other
// in the snapshot must share an inode on disk, and no others may. Owner
// and group are compared only when the drill runs as root, as nobody else
// can restore them; Report.OwnersChecked says which it was. Sockets are
// not restored, so not checked.
//
// # Samples
//
// With Options.Sample or Options.Files only a random choice of regular
// files is restored, with the directories leading to them; files that are
// hard links to each other count as one and come along together. A sample
// that would hold no file of a snapshot that has some holds one of them,
// at random, so that a drill always checks something. The
// choice is made while walking the snapshot's trees once, in memory that
// grows with the sample, not with the snapshot, and is the same for the
// same Seed and snapshot. Restoring the sample does not fetch the content
// of files left out.
//
// # Layering
//
// The package uses only the exported API of repo and source/fs, as any
// embedder would; repo itself knows no concrete source or target.
package drill
