// Package docker reads Docker named volumes as backup sources, through the
// Docker Engine API (github.com/moby/moby/client).
//
// A volume is found by name, or volumes are found by label or compose
// project with FindVolumes. Open inspects a volume, records what it is and
// which containers use it (the snapshot's source details), and chooses how
// to read it:
//
//   - direct (ModeDirect): the volume's mountpoint is a directory this
//     process can read, so it is walked as a source/fs directory, with full
//     metadata and incremental change detection against the parent
//     snapshot. This needs the daemon on this host and the rights to read
//     its volumes (root, usually).
//   - helper (ModeHelper): a helper container is created, never started,
//     with the volume mounted read-only at /volume, and the container
//     archive endpoint streams the files as tar, turned into entries by
//     source/tar (paths validated, hostile streams refused). This works
//     against a remote daemon too. Content is then readable only in walk
//     order, so this source is a source.Sequential.
//
// ModeAuto, the zero Mode, takes direct when the mountpoint can be read and
// helper otherwise. Because the source.Sequential marker is found by type
// assertion, Open returns a different type for each mode: *DirectVolume or
// *HelperVolume.
//
// The helper image is made here without any registry: an empty tar is
// imported as an image (HelperImage, labelled HelperLabel=true), once, and
// reused. Helper containers carry the same label, so leftovers can be
// found; each is removed by the source's tidy-up on every way out of a
// backup (repo.Repository.Backup runs it).
//
// In both modes the snapshot paths are the volume name, so successive
// backups of one volume find each other as parents, whatever the mode.
//
// Next to the volume's files, a volume's snapshot holds how it was used,
// so that a restore on another host knows how the service ran: the
// inspect JSON of the volume, of every container that uses it (image
// reference and ID, command, environment, mounts, ports, labels) and of
// their images, under the top-level directory ConfigDir (".cairn"). With
// Options.Images the images themselves are stored too ("docker save"
// streams, deduplicated across snapshots like any content). The JSON files
// carry times and inodes made from their content, so an unchanged one is
// not read again by the next backup. Restores into a volume leave the
// directory out (VolumeInfo.ConfigExclude).
//
// Consistent wraps a volume source so that, for the duration of the read,
// the running containers that use the volume (and those labelled
// cairn.stop-during-backup=true) are stopped or paused, and exactly those
// are started or unpaused again, in reverse order, on every way out —
// success, error, panic and cancellation. Exec hooks run inside containers
// before and after (labels cairn.exec-pre and cairn.exec-post, or
// Consistency.Hooks), with exit codes checked and a timeout.
// QuiesceVolumes does the same once for a group of volumes, so that they
// are consistent with each other (a compose project's web server and its
// database at the same moment).
//
// Exec takes a dump inside a running container (pg_dumpall in the postgres
// container): the command runs without a TTY, its stdout is streamed into
// the repository as one file and its stderr kept for errors. As with
// source/dump, a non-zero exit, a container that is missing, stopped or
// killed during the dump, or empty output fails the backup and no snapshot
// is written. The Engine API cannot kill an exec'd process, so a cancelled
// dump may run on inside the container until it ends by itself.
//
// RestoreVolume restores a snapshot into an existing volume, or into one it
// creates with a driver and labels (VolumeFromDetails reads what a volume
// snapshot recorded), directly through source/fs when the mountpoint is
// local and writable, or through a helper container that takes the files
// as a tar stream on the archive endpoint. The helper is removed on every
// way out. With RestoreOptions.Stop the containers that use the volume are
// stopped while it is written and started again afterwards.
package docker
