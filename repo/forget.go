package repo

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrEmptyPolicy is wrapped by the error ApplyPolicy and Forget return for a
// Policy without any rule, which would remove every snapshot.
var ErrEmptyPolicy = errors.New("empty policy: it would remove every snapshot")

// Policy says which snapshots to keep. Every rule picks snapshots on its own
// within each group (see GroupBy); a snapshot that any rule keeps stays, the
// rest are removed.
//
// The counting rules walk a group's snapshots newest first. Last keeps the
// first Last of them. Hourly to Yearly keep a snapshot whenever it falls in
// another hour, day, ISO week, month or year than the last one the rule kept,
// until the rule has kept its count: Daily: 7 keeps the newest snapshot of
// each of the last seven days that have snapshots, however far apart those
// days are. A count of -1 means no limit, 0 turns the rule off.
type Policy struct {
	Last    int
	Hourly  int
	Daily   int
	Weekly  int // ISO 8601 weeks, which start on Monday
	Monthly int
	Yearly  int
	// Within keeps every snapshot taken at most Within before the group's
	// newest one. It counts from that snapshot, not from now, so a host
	// that stopped backing up keeps its last ones.
	Within time.Duration
	// Tags keeps every snapshot that carries any of these tags.
	Tags []string
	// Location is the time zone whose clock sets where hours, days, weeks,
	// months and years begin; nil means time.Local. In the hour a clock is
	// set back, the two readings of one wall-clock hour are one bucket.
	Location *time.Location
}

// Empty reports whether p has no rule. An empty policy keeps nothing, so
// ApplyPolicy and Forget refuse it.
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 &&
		p.Monthly == 0 && p.Yearly == 0 && p.Within == 0 && len(p.Tags) == 0
}

func (p Policy) validate() error {
	if p.Empty() {
		return fmt.Errorf("forget: %w", ErrEmptyPolicy)
	}
	for _, b := range p.buckets() {
		if b.left < -1 {
			return fmt.Errorf("forget: policy: %s %d: a count is -1 (no limit) or more", b.name, b.left)
		}
	}
	if p.Within < 0 {
		return fmt.Errorf("forget: policy: within %v is negative", p.Within)
	}
	if slices.Contains(p.Tags, "") {
		return errors.New("forget: policy: empty tag")
	}
	return nil
}

// bucket is one counting rule while a group is walked.
type bucket struct {
	name string                      // as reasons name it: "daily"
	left int                         // snapshots still to keep; -1: no limit
	key  func(time.Time, int) string // of a snapshot's local time and position
	last string                      // key of the last snapshot kept
}

func (p Policy) buckets() []bucket {
	format := func(layout string) func(time.Time, int) string {
		return func(t time.Time, _ int) string { return t.Format(layout) }
	}
	return []bucket{
		{name: "last", left: p.Last, key: func(_ time.Time, i int) string { return strconv.Itoa(i + 1) }},
		{name: "hourly", left: p.Hourly, key: format("2006-01-02T15")},
		{name: "daily", left: p.Daily, key: format("2006-01-02")},
		{name: "weekly", left: p.Weekly, key: func(t time.Time, _ int) string {
			year, week := t.ISOWeek()
			return fmt.Sprintf("%04d-W%02d", year, week)
		}},
		{name: "monthly", left: p.Monthly, key: format("2006-01")},
		{name: "yearly", left: p.Yearly, key: format("2006")},
	}
}

// GroupBy says which snapshots a Policy counts together: those that agree on
// every field set. The zero value groups by host, source kind and paths, so
// that each backup job keeps its own history.
type GroupBy struct {
	// Kind is Snapshot.Source.Kind. Paths and Tags compare as sets: order
	// and repeats do not matter.
	Host, Kind, Paths, Tags bool
	// None puts every snapshot in one group; the other fields must then be
	// false.
	None bool
}

func (g GroupBy) validate() error {
	if g.None && (g.Host || g.Kind || g.Paths || g.Tags) {
		return errors.New("forget: group by: None with other fields set")
	}
	return nil
}

// key is sn's group.
func (g GroupBy) key(sn *Snapshot) GroupKey {
	if g.None {
		return GroupKey{}
	}
	if g == (GroupBy{}) {
		g = GroupBy{Host: true, Kind: true, Paths: true}
	}
	sorted := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return slices.Compact(slices.Sorted(slices.Values(s)))
	}
	var k GroupKey
	if g.Host {
		k.Host = sn.Host
	}
	if g.Kind {
		k.Kind = sn.Source.Kind
	}
	if g.Paths {
		k.Paths = sorted(sn.Paths)
	}
	if g.Tags {
		k.Tags = sorted(sn.Tags)
	}
	return k
}

// GroupKey is what the snapshots of one group share; fields not grouped by
// are empty. Paths and Tags are sorted.
type GroupKey struct {
	Host, Kind  string
	Paths, Tags []string
}

// String is for people: `host db1, kind dir, paths [/etc /srv]`, or
// "all snapshots" when no field is set.
func (k GroupKey) String() string {
	var parts []string
	if k.Host != "" {
		parts = append(parts, "host "+k.Host)
	}
	if k.Kind != "" {
		parts = append(parts, "kind "+k.Kind)
	}
	if len(k.Paths) > 0 {
		parts = append(parts, fmt.Sprintf("paths %v", k.Paths))
	}
	if len(k.Tags) > 0 {
		parts = append(parts, fmt.Sprintf("tags %v", k.Tags))
	}
	if len(parts) == 0 {
		return "all snapshots"
	}
	return strings.Join(parts, ", ")
}

// id is a map key that tells keys apart whatever their strings hold.
func (k GroupKey) id() string {
	return fmt.Sprintf("%q %q %q %q", k.Host, k.Kind, k.Paths, k.Tags)
}

func (k GroupKey) compare(o GroupKey) int {
	return cmp.Or(cmp.Compare(k.Host, o.Host), cmp.Compare(k.Kind, o.Kind),
		slices.Compare(k.Paths, o.Paths), slices.Compare(k.Tags, o.Tags))
}

// Decision is what a Policy decided for one snapshot.
type Decision struct {
	Snapshot *Snapshot
	// Reasons name the rules that keep the snapshot, with the bucket each
	// kept it for: "last 1", "hourly 2026-11-21T10", "daily 2026-11-21",
	// "weekly 2026-W47", "monthly 2026-11", "yearly 2026", "within 7d",
	// "tag nightly". Empty for a snapshot to remove.
	Reasons []string
}

// ForgetGroup is the outcome of a Policy for one group of snapshots.
type ForgetGroup struct {
	Key          GroupKey
	Keep, Remove []Decision // newest first
}

// ApplyPolicy groups snaps by g and decides for each snapshot whether p keeps
// it. It changes nothing and depends on nothing but its arguments. Groups
// come sorted by key.
//
// Newest first means by Time, and among equal times by descending ID: the
// reverse of Repository.Snapshots, so that Last: 1 keeps the snapshot
// "latest" names.
func ApplyPolicy(snaps []*Snapshot, p Policy, g GroupBy) ([]ForgetGroup, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if err := g.validate(); err != nil {
		return nil, err
	}
	keys := map[string]GroupKey{}
	members := map[string][]*Snapshot{}
	for i, sn := range snaps {
		if sn == nil {
			return nil, fmt.Errorf("forget: snapshot %d is nil", i)
		}
		k := g.key(sn)
		id := k.id()
		keys[id] = k
		members[id] = append(members[id], sn)
	}
	loc := p.Location
	if loc == nil {
		loc = time.Local
	}
	groups := make([]ForgetGroup, 0, len(keys))
	for id, k := range keys {
		groups = append(groups, p.decide(k, members[id], loc))
	}
	slices.SortFunc(groups, func(a, b ForgetGroup) int { return a.Key.compare(b.Key) })
	return groups, nil
}

// decide walks one group newest first.
func (p Policy) decide(key GroupKey, list []*Snapshot, loc *time.Location) ForgetGroup {
	slices.SortStableFunc(list, func(a, b *Snapshot) int {
		return cmp.Or(b.Time.Compare(a.Time), bytes.Compare(b.ID[:], a.ID[:]))
	})
	since := list[0].Time.Add(-p.Within)
	buckets := p.buckets()
	fg := ForgetGroup{Key: key}
	for i, sn := range list {
		var reasons []string
		t := sn.Time.In(loc)
		for j := range buckets {
			b := &buckets[j]
			if b.left == 0 {
				continue
			}
			if k := b.key(t, i); k != b.last {
				b.last = k
				if b.left > 0 {
					b.left--
				}
				reasons = append(reasons, b.name+" "+k)
			}
		}
		if p.Within > 0 && !sn.Time.Before(since) {
			reasons = append(reasons, "within "+formatWithin(p.Within))
		}
		for _, tag := range p.Tags {
			if slices.Contains(sn.Tags, tag) {
				reasons = append(reasons, "tag "+tag)
			}
		}
		if len(reasons) > 0 {
			fg.Keep = append(fg.Keep, Decision{Snapshot: sn, Reasons: reasons})
		} else {
			fg.Remove = append(fg.Remove, Decision{Snapshot: sn})
		}
	}
	return fg
}

// formatWithin writes d with days: 7d, 1d12h, 90m as 1h30m.
func formatWithin(d time.Duration) string {
	if d%time.Second != 0 {
		return d.String()
	}
	var s string
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			s += strconv.FormatInt(int64(n), 10) + u.name
			d -= n * u.unit
		}
	}
	return s
}

// ForgetOptions tune Forget. The zero value groups by host, source kind and
// paths and deletes.
type ForgetOptions struct {
	GroupBy GroupBy
	// DryRun decides but deletes nothing.
	DryRun bool
	// Prune runs Prune with PruneOptions once the snapshots are deleted.
	Prune        bool
	PruneOptions PruneOptions
}

// ForgetResult is what Forget decided and did.
type ForgetResult struct {
	Groups  []ForgetGroup
	Removed []ID         // the snapshots deleted, in the order they were
	Prune   *PruneReport // with ForgetOptions.Prune
}

// Forget applies p to every snapshot in the repository and, unless
// opts.DryRun, deletes those no rule keeps. It decides about all of them
// before it deletes any. The data of a deleted snapshot stays until a prune
// finds it unreferenced.
//
// If a deletion fails, Forget stops and returns the error together with a
// result whose Removed lists the snapshots already deleted.
func (r *Repository) Forget(ctx context.Context, p Policy, opts ForgetOptions) (*ForgetResult, error) {
	if err := cmp.Or(p.validate(), opts.GroupBy.validate()); err != nil {
		return nil, err
	}
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("forget: %w", err)
	}
	groups, err := ApplyPolicy(snaps, p, opts.GroupBy)
	if err != nil {
		return nil, err
	}
	res := &ForgetResult{Groups: groups}
	if opts.DryRun {
		return res, nil
	}
	for _, g := range groups {
		for _, d := range g.Remove {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("forget: %w", err)
			}
			if err := r.DeleteSnapshot(ctx, d.Snapshot.ID); err != nil {
				return res, fmt.Errorf("forget: %w", err)
			}
			res.Removed = append(res.Removed, d.Snapshot.ID)
		}
	}
	if opts.Prune {
		rep, err := r.Prune(ctx, opts.PruneOptions)
		res.Prune = rep
		if err != nil {
			return res, fmt.Errorf("forget: %w", err)
		}
	}
	return res, nil
}
