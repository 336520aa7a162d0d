// Package fs backs up a directory tree of the local file system: Dir returns
// a source.Source that walks it.
//
// # The walk
//
// The root comes first, as ".". If the path given to Dir is a symbolic link
// to a directory, the link is followed for the root, once, before the walk
// starts; every link below the root is backed up as a link. Then the walk
// goes depth first, and the entries of each directory come sorted by name in
// byte order. The order is part of the contract, not a nicety: a hard link
// names an earlier entry of the same walk, and the repository stores a
// directory's entries sorted, so a consumer can write each tree as it
// completes without sorting it again.
//
// The walk reads ahead of its consumer: a few goroutines list directories and
// lstat their entries in the order the walk will need them, at most a few
// thousand entries ahead, while the walk function is called for one entry at
// a time, in order, on the goroutine that called Walk. An entry's metadata is
// thus a moment older than the call that hands it over. Metadata comes from
// the raw stat and xattr calls: the setuid, setgid and sticky bits,
// nanosecond times, device numbers and all extended attributes (sorted by
// name) are kept as they are, and symbolic links are never followed below
// the root.
//
// # Content and change detection
//
// A regular file's Open may be called from any goroutine until Walk
// returns. It opens the file by path again, without following a symbolic
// link and without updating its access time where the kernel allows that,
// and refuses a file that is no longer the one the walk saw (another device
// or inode, or not a regular file), with an error wrapping
// source.ErrChanged. The reader's Close compares size, modification time and
// change time with the entry's and reports a difference the same way: the
// bytes read are kept, and the consumer learns that they may be torn. The
// reader is also an io.ReaderAt, so a big file can be read at several
// offsets at once.
//
// The first entry of a walk for a file with several links carries the
// content; later entries for the same device and inode get Hardlink set to
// the first one's path and no Open.
//
// # Errors
//
// Only a problem with the root ends the walk with an error (and an error
// returned by the walk function, which Walk returns as it is). An entry that
// cannot be read comes as an Entry with only Path and Err set, an
// *fs.PathError naming the operation and the absolute path, and the walk
// goes on. A directory that cannot be listed comes as a normal entry first,
// then a second entry with the same path and the listing error.
//
// # Selection
//
// Options.Exclude drops paths matching source.Patterns, with everything
// under them; Options.ExcludeIfPresent drops a directory that holds a file
// of one of the given names; Options.OneFileSystem keeps a directory on
// another device as an empty directory. The root itself is always backed up.
// Count selects exactly what Walk selects.
//
// # Memory
//
// The walk holds the sorted names of one directory per level of the current
// path and of the directories it has listed ahead, the entries it has read
// ahead (a fixed number of each) and a map of the files with several links
// seen so far; its memory does not grow with the size of the tree otherwise.
//
// # Platform
//
// The package is for Linux. Paths longer than PATH_MAX (4096 bytes) cannot
// be reached by path and come as entries with an error.
package fs
