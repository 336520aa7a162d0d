// Package tar reads a tar stream as a backup source and writes a snapshot
// back out as one.
//
// A Source turns the headers of a stream into source entries: regular
// files (contiguous and GNU sparse ones too), hard links, directories,
// symbolic links, device nodes and FIFOs, with owner, permission bits
// including setuid, setgid and sticky, nanosecond times and extended
// attributes from PAX records. Other header types (volume labels and the
// like) are skipped. The stream is read once, front to back, so the Source
// is source.Sequential: a file's content can be read only while the walk
// function runs for it.
//
// A Target writes entries as a PAX tar stream, so long names, nanosecond
// times, large ids and extended attributes survive a round trip.
//
// # Order
//
// A source yields entries depth first, and the consumer requires it: the
// entries inside a directory must be contiguous. The Source does not
// reorder the stream; it only yields the root "." first and synthesizes
// directories the stream leaves out, just before their first child. A
// stream such as "a/x", "b/y", "a/z" is passed on in that order and the
// consumer rejects it. Streams written by tar(1) from a directory tree, or
// by this package's Target, are in a suitable order.
//
// # Safety
//
// A tar stream may be hostile. A header whose name, or whose hard link
// target, is absolute, contains "..", an empty element or NUL, or leads
// through something that is not a directory (a symbolic link, say) stops
// the walk with an error wrapping source.ErrUnsafePath; such an entry never
// reaches the walk function, and nothing is skipped silently. A hard link
// must name a regular file that came earlier in the stream, or the walk
// stops with ErrUnknownHardlink; a link to a link comes out as a link to
// the file that holds the content. A second entry for a path is an error
// (ErrDuplicate) unless both are directories, in which case the first
// wins. Symbolic link targets are data and are passed on as stored;
// keeping them from being followed is the restoring target's job.
//
// To detect duplicates and check hard links, the Source remembers every
// path it yielded, so its memory grows with the number of entries. Sparse
// files are read back with their holes as zeros, so a small stream can
// describe a very large file.
package tar
