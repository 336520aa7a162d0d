package main

import (
	"context"
	"errors"
)

// Runner does the agent's work on the repository. The agent decides when
// and how often; a Runner only does it. Tests replace it with a fake.
type Runner interface {
	// Backup takes the target's snapshots (one per volume).
	Backup(ctx context.Context, t *Target) (BackupResult, error)
	// Forget applies the target's retention policy to its snapshots and
	// counts those left; with an empty policy it only counts.
	Forget(ctx context.Context, t *Target) (ForgetResult, error)
	// Drill restores a sample of the target's newest snapshot and checks
	// it; ErrNoSnapshot if it has none.
	Drill(ctx context.Context, t *Target) (DrillResult, error)
	// Prune frees what no snapshot needs.
	Prune(ctx context.Context) (PruneResult, error)
}

// Pinger is a Runner that can tell whether its repository is reachable,
// for /healthz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// ErrNoSnapshot is the error of Drill for a target without snapshots.
var ErrNoSnapshot = errors.New("no snapshot yet")

// BackupResult is what a backup did.
type BackupResult struct {
	Snapshots  []string // IDs of the snapshots saved
	BytesAdded uint64   // new to the repository, before compression
	Files      uint64
	RepoSize   uint64 // stored bytes in the repository after it; 0 if unknown
}

// ForgetResult is what forget did.
type ForgetResult struct {
	Removed   int // snapshots deleted
	Remaining int // snapshots of the target left
}

// DrillResult is what a restore drill found. OK is false when what was
// restored differs from the snapshot; Problem then says how.
type DrillResult struct {
	Snapshot string
	Files    int
	Bytes    uint64
	OK       bool
	Problem  string
}

// PruneResult is what a prune did.
type PruneResult struct {
	PacksDeleted int
	BytesDeleted uint64
	RepoSize     uint64 // 0 if unknown
}
