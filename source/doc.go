// Package source defines how data gets into a backup and back out of one.
//
// A Source yields the entries of one backup: a path relative to the source
// root, metadata, and for regular files a way to open the content. Entries
// come depth first, a directory before everything inside it and everything
// inside it before anything outside it; the root itself comes first, as
// ".". A Target receives the entries of a snapshot being restored in the
// same order.
//
// Concrete sources and targets live in sub-packages: fs (directories and
// bind mounts), tar (tar streams), dump (a command's output), docker (Docker
// volumes). The repository package consumes these interfaces and knows
// nothing of the concrete ones.
package source
