package repo

import (
	"runtime"
	"time"
)

// RestoreOptions tune Restore. The zero value restores the whole snapshot.
type RestoreOptions struct {
	// Path is a directory inside the snapshot to restore instead of the
	// root; its contents land at the target's root.
	Path string
	// Include, if not empty, restores only what matches one of these
	// source.Patterns (and the directories leading to it); Exclude leaves
	// out what matches. Paths are relative to Path.
	Include []string
	Exclude []string
	// Verify reads every restored file back through the target (it must
	// be a source.ReadBacker) and checks it against the snapshot's blob IDs.
	Verify bool
	// Workers is how many files are restored at once when the target
	// allows it, or, for a source.WriterAtTarget, how many stretches of
	// packs are read and written at once; default 2 × GOMAXPROCS.
	Workers int

	// Progress, if set, is called every ProgressInterval (default 1 s) and
	// once at the end.
	Progress         func(RestoreProgress)
	ProgressInterval time.Duration
}

// RestoreProgress is a restore's state.
type RestoreProgress struct {
	Files    uint64 // regular files written (hard links included)
	Dirs     uint64
	Other    uint64 // symlinks, devices, FIFOs
	Bytes    uint64 // content bytes written
	Verified uint64 // files read back and checked
	Current  string
	Elapsed  time.Duration
	Done     bool
}

func (o RestoreOptions) withDefaults() RestoreOptions {
	if o.Workers <= 0 {
		o.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = time.Second
	}
	return o
}
