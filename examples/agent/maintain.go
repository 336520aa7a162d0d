package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cairnbackup/cairn/drill"
	"github.com/cairnbackup/cairn/repo"
)

// snapshotsOf opens the repository and returns t's snapshots taken from
// this host, oldest first.
func (c *cairnRunner) snapshotsOf(ctx context.Context, t *Target) (*repo.Repository, []*repo.Snapshot, error) {
	r, err := c.repo.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	all, err := r.Snapshots(ctx)
	if err != nil {
		return nil, nil, err
	}
	tag := t.Tag()
	return r, slices.DeleteFunc(all, func(sn *repo.Snapshot) bool {
		return sn.Host != c.host || !slices.Contains(sn.Tags, tag)
	}), nil
}

// Forget applies t's policy to its snapshots, each volume's (each path's)
// on their own.
func (c *cairnRunner) Forget(ctx context.Context, t *Target) (ForgetResult, error) {
	r, snaps, err := c.snapshotsOf(ctx, t)
	if err != nil {
		return ForgetResult{}, err
	}
	res := ForgetResult{Remaining: len(snaps)}
	if t.Policy.Empty() {
		return res, nil
	}
	groups, err := repo.ApplyPolicy(snaps, t.Policy, repo.GroupBy{})
	if err != nil {
		return res, err
	}
	for _, g := range groups {
		for _, d := range g.Remove {
			if err := r.DeleteSnapshot(ctx, d.Snapshot.ID); err != nil {
				return res, fmt.Errorf("forget snapshot %s: %w", d.Snapshot.ID.Short(), err)
			}
			res.Removed++
			res.Remaining--
		}
	}
	return res, nil
}

// Drill restores a sample of t's newest snapshot into a temporary
// directory and checks it.
func (c *cairnRunner) Drill(ctx context.Context, t *Target) (DrillResult, error) {
	r, snaps, err := c.snapshotsOf(ctx, t)
	if err != nil {
		return DrillResult{}, err
	}
	if len(snaps) == 0 {
		return DrillResult{}, ErrNoSnapshot
	}
	newest := slices.MaxFunc(snaps, func(a, b *repo.Snapshot) int { return a.Time.Compare(b.Time) })
	res := DrillResult{Snapshot: newest.ID.String()}
	rep, err := drill.Run(ctx, r, newest.ID, drill.Options{Sample: c.sample})
	if err != nil {
		return res, fmt.Errorf("drill of snapshot %s: %w", newest.ID.Short(), err)
	}
	res.Files, res.Bytes, res.OK = rep.Files, rep.Bytes, rep.OK()
	if !res.OK {
		var b strings.Builder
		for i, m := range rep.Mismatches {
			if i == 5 {
				fmt.Fprintf(&b, "; and %d more", len(rep.Mismatches)-i)
				break
			}
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(m.String())
		}
		res.Problem = b.String()
	}
	return res, nil
}

// Prune frees the packs no snapshot needs and measures the repository.
func (c *cairnRunner) Prune(ctx context.Context) (PruneResult, error) {
	r, err := c.repo.get(ctx)
	if err != nil {
		return PruneResult{}, err
	}
	rep, err := r.Prune(ctx, repo.PruneOptions{})
	if err != nil {
		return PruneResult{}, err
	}
	res := PruneResult{PacksDeleted: len(rep.Deleted), BytesDeleted: rep.BytesDeleted}
	if st, err := r.Stats(ctx); err == nil {
		res.RepoSize = st.StoredBytes
	}
	return res, nil
}
