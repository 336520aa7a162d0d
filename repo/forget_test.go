package repo

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // America/New_York on machines without zoneinfo

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/fault"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

// hourLayout names snapshots in expectations: "2025-12-31T18".
const hourLayout = "2006-01-02T15"

// sixHourly is 2025 in UTC with a snapshot every six hours: 1460 of them,
// the newest at 2025-12-31T18.
func sixHourly() []*Snapshot {
	var list []*Snapshot
	for t := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); t.Year() == 2025; t = t.Add(6 * time.Hour) {
		list = append(list, &Snapshot{Time: t, Host: "h", Paths: []string{"/srv"}, Source: SourceInfo{Kind: "dir"}})
	}
	return list
}

// decisionTimes lists the times of ds in hourLayout, in UTC.
func decisionTimes(ds []Decision) []string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Snapshot.Time.UTC().Format(hourLayout))
	}
	return s
}

// applyOne applies p to snaps in a single group and checks that every
// snapshot is decided once, both lists newest first.
func applyOne(t *testing.T, snaps []*Snapshot, p Policy) ForgetGroup {
	t.Helper()
	groups, err := ApplyPolicy(snaps, p, GroupBy{None: true})
	require.NoError(t, err)
	require.Len(t, groups, 1)
	g := groups[0]
	require.Len(t, append(g.Keep, g.Remove...), len(snaps))
	for _, list := range [][]Decision{g.Keep, g.Remove} {
		for i := 1; i < len(list); i++ {
			require.False(t, list[i].Snapshot.Time.After(list[i-1].Snapshot.Time), "not newest first")
		}
	}
	for _, d := range g.Keep {
		require.NotEmpty(t, d.Reasons)
	}
	for _, d := range g.Remove {
		require.Empty(t, d.Reasons)
	}
	return g
}

func TestApplyPolicyYear(t *testing.T) {
	monthEnds := []string{"2025-11-30T18", "2025-10-31T18", "2025-09-30T18", "2025-08-31T18",
		"2025-07-31T18", "2025-06-30T18", "2025-05-31T18", "2025-04-30T18", "2025-03-31T18",
		"2025-02-28T18", "2025-01-31T18"}
	for _, tc := range []struct {
		name  string
		p     Policy
		want  []string // kept, newest first; nil: check only wantN
		wantN int
	}{
		{name: "last 3", p: Policy{Last: 3},
			want: []string{"2025-12-31T18", "2025-12-31T12", "2025-12-31T06"}},
		{name: "hourly 5", p: Policy{Hourly: 5},
			want: []string{"2025-12-31T18", "2025-12-31T12", "2025-12-31T06", "2025-12-31T00", "2025-12-30T18"}},
		{name: "daily 3", p: Policy{Daily: 3},
			want: []string{"2025-12-31T18", "2025-12-30T18", "2025-12-29T18"}},
		// Monday 2025-12-29 starts 2026-W01, so the Wednesday is one week
		// and the Sunday before it the next.
		{name: "weekly 3", p: Policy{Weekly: 3},
			want: []string{"2025-12-31T18", "2025-12-28T18", "2025-12-21T18"}},
		{name: "monthly 3", p: Policy{Monthly: 3},
			want: []string{"2025-12-31T18", "2025-11-30T18", "2025-10-31T18"}},
		{name: "yearly 3 with one year", p: Policy{Yearly: 3}, want: []string{"2025-12-31T18"}},
		{name: "within 2d includes the boundary", p: Policy{Within: 48 * time.Hour},
			want: []string{"2025-12-31T18", "2025-12-31T12", "2025-12-31T06", "2025-12-31T00",
				"2025-12-30T18", "2025-12-30T12", "2025-12-30T06", "2025-12-30T00", "2025-12-29T18"}},
		{name: "within 36h", p: Policy{Within: 36 * time.Hour},
			want: []string{"2025-12-31T18", "2025-12-31T12", "2025-12-31T06", "2025-12-31T00",
				"2025-12-30T18", "2025-12-30T12", "2025-12-30T06"}},
		{name: "combined", p: Policy{Last: 2, Daily: 7, Weekly: 4, Monthly: 12},
			want: append([]string{"2025-12-31T18", "2025-12-31T12", "2025-12-30T18", "2025-12-29T18",
				"2025-12-28T18", "2025-12-27T18", "2025-12-26T18", "2025-12-25T18", "2025-12-21T18",
				"2025-12-14T18"}, monthEnds...)},
		{name: "last unlimited", p: Policy{Last: -1}, wantN: 1460},
		{name: "hourly unlimited", p: Policy{Hourly: -1}, wantN: 1460},
		{name: "daily unlimited", p: Policy{Daily: -1}, wantN: 365},
		// 2025-W01 to 2025-W52, and 2026-W01 for the last three days.
		{name: "weekly unlimited", p: Policy{Weekly: -1}, wantN: 53},
		{name: "monthly unlimited", p: Policy{Monthly: -1}, wantN: 12},
		{name: "yearly unlimited", p: Policy{Yearly: -1}, wantN: 1},
		{name: "unlimited beside a count", p: Policy{Last: 1, Monthly: -1}, wantN: 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Location = time.UTC
			g := applyOne(t, sixHourly(), tc.p)
			if tc.want != nil {
				require.Equal(t, tc.want, decisionTimes(g.Keep))
			} else {
				require.Len(t, g.Keep, tc.wantN)
			}
		})
	}
}

func TestApplyPolicyReasons(t *testing.T) {
	p := Policy{Last: 2, Daily: 7, Weekly: 4, Monthly: 12, Within: 6 * time.Hour, Location: time.UTC}
	g := applyOne(t, sixHourly(), p)
	want := map[string][]string{
		"2025-12-31T18": {"last 1", "daily 2025-12-31", "weekly 2026-W01", "monthly 2025-12", "within 6h"},
		"2025-12-31T12": {"last 2", "within 6h"},
		"2025-12-28T18": {"daily 2025-12-28", "weekly 2025-W52"},
		"2025-11-30T18": {"monthly 2025-11"},
	}
	for _, d := range g.Keep {
		if w, ok := want[d.Snapshot.Time.Format(hourLayout)]; ok {
			require.Equal(t, w, d.Reasons, d.Snapshot.Time)
		}
	}
	g = applyOne(t, sixHourly(), Policy{Hourly: 1, Yearly: 1, Location: time.UTC})
	require.Equal(t, []string{"hourly 2025-12-31T18", "yearly 2025"}, g.Keep[0].Reasons)
}

// daysAtNoon is one snapshot a day at noon UTC, from first to last.
func daysAtNoon(first, last string) []*Snapshot {
	from, _ := time.Parse(time.DateOnly, first)
	to, _ := time.Parse(time.DateOnly, last)
	var list []*Snapshot
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		list = append(list, &Snapshot{Time: d.Add(12 * time.Hour), Host: "h"})
	}
	return list
}

func TestApplyPolicyISOWeeks(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, last string
		p           Policy
		want        []string
		reasons     []string
	}{
		// Monday 2024-12-30 starts 2025-W01.
		{name: "week 1 starts in December", first: "2024-12-27", last: "2025-01-07", p: Policy{Weekly: -1},
			want:    []string{"2025-01-07T12", "2025-01-05T12", "2024-12-29T12"},
			reasons: []string{"weekly 2025-W02", "weekly 2025-W01", "weekly 2024-W52"}},
		{name: "years split the same days otherwise", first: "2024-12-27", last: "2025-01-07", p: Policy{Yearly: -1},
			want:    []string{"2025-01-07T12", "2024-12-31T12"},
			reasons: []string{"yearly 2025", "yearly 2024"}},
		// 2026 has 53 ISO weeks; its last ends on 2027-01-03.
		{name: "week 53 reaches into January", first: "2026-12-26", last: "2027-01-05", p: Policy{Weekly: 3},
			want:    []string{"2027-01-05T12", "2027-01-03T12", "2026-12-27T12"},
			reasons: []string{"weekly 2027-W01", "weekly 2026-W53", "weekly 2026-W52"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Location = time.UTC
			g := applyOne(t, daysAtNoon(tc.first, tc.last), tc.p)
			require.Equal(t, tc.want, decisionTimes(g.Keep))
			var reasons []string
			for _, d := range g.Keep {
				reasons = append(reasons, d.Reasons...)
			}
			require.Equal(t, tc.reasons, reasons)
		})
	}
}

func TestApplyPolicyLocation(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	at := func(s string) *Snapshot {
		tm, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return &Snapshot{Time: tm, Host: "h"}
	}
	for _, tc := range []struct {
		name    string
		snaps   []string
		p       Policy
		reasons [][]string
	}{
		// 20:00 and 03:00 UTC are 16:00 and 23:00 on 9 March in New York.
		{name: "day in UTC", snaps: []string{"2026-03-09T20:00:00Z", "2026-03-10T03:00:00Z"},
			p: Policy{Daily: -1, Location: time.UTC}, reasons: [][]string{{"daily 2026-03-10"}, {"daily 2026-03-09"}}},
		{name: "day in New York", snaps: []string{"2026-03-09T20:00:00Z", "2026-03-10T03:00:00Z"},
			p: Policy{Daily: -1, Location: ny}, reasons: [][]string{{"daily 2026-03-09"}}},
		{name: "day in a fixed zone", snaps: []string{"2026-03-09T20:00:00Z", "2026-03-10T03:00:00Z"},
			p: Policy{Daily: -1, Location: time.FixedZone("UTC+5", 5*3600)}, reasons: [][]string{{"daily 2026-03-10"}}},
		// Clocks go back on 1 November 2026: 05:30 and 06:30 UTC both read
		// 01:30 in New York, one hour apart.
		{name: "repeated hour in UTC", snaps: []string{"2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"},
			p:       Policy{Hourly: -1, Location: time.UTC},
			reasons: [][]string{{"hourly 2026-11-01T06"}, {"hourly 2026-11-01T05"}}},
		{name: "repeated hour in New York", snaps: []string{"2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"},
			p: Policy{Hourly: -1, Location: ny}, reasons: [][]string{{"hourly 2026-11-01T01"}}},
		// Clocks go forward on 8 March 2026: 00:30 EST and 23:30 EDT are
		// 22 hours apart, on one day in New York but two in UTC.
		{name: "short day in New York", snaps: []string{"2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z", "2026-03-09T03:30:00Z"},
			p: Policy{Daily: -1, Hourly: -1, Location: ny},
			reasons: [][]string{{"hourly 2026-03-08T23", "daily 2026-03-08"}, {"hourly 2026-03-08T01"},
				{"hourly 2026-03-08T00"}}},
		{name: "short day in UTC", snaps: []string{"2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z", "2026-03-09T03:30:00Z"},
			p:       Policy{Daily: -1, Location: time.UTC},
			reasons: [][]string{{"daily 2026-03-09"}, {"daily 2026-03-08"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var snaps []*Snapshot
			for _, s := range tc.snaps {
				snaps = append(snaps, at(s))
			}
			g := applyOne(t, snaps, tc.p)
			var reasons [][]string
			for _, d := range g.Keep {
				reasons = append(reasons, d.Reasons)
			}
			require.Equal(t, tc.reasons, reasons)
		})
	}
	t.Run("nil is local", func(t *testing.T) {
		snaps := sixHourly()
		got, err := ApplyPolicy(snaps, Policy{Daily: 40, Hourly: 30}, GroupBy{})
		require.NoError(t, err)
		want, err := ApplyPolicy(snaps, Policy{Daily: 40, Hourly: 30, Location: time.Local}, GroupBy{})
		require.NoError(t, err)
		require.Equal(t, want, got)
	})
}

func TestApplyPolicyGroupBy(t *testing.T) {
	// Named by Source.Description, oldest first.
	snaps := []*Snapshot{
		{Host: "a", Source: SourceInfo{Kind: "dir", Description: "a-dir-x"}, Paths: []string{"/x"}},
		{Host: "a", Source: SourceInfo{Kind: "dir", Description: "a-dir-yx"}, Paths: []string{"/y", "/x"}},
		{Host: "b", Source: SourceInfo{Kind: "dir", Description: "b-dir-x"}, Paths: []string{"/x"}},
		{Host: "a", Source: SourceInfo{Kind: "dump", Description: "a-dump-x-t"}, Paths: []string{"/x"}, Tags: []string{"t"}},
		{Host: "a", Source: SourceInfo{Kind: "dir", Description: "a-dir-x-t"}, Paths: []string{"/x"}, Tags: []string{"t"}},
		{Host: "a", Source: SourceInfo{Kind: "dir", Description: "a-dir-xy"}, Paths: []string{"/x", "/y"}},
		{Host: "a", Source: SourceInfo{Kind: "dir", Description: "a-dir-x-2"}, Paths: []string{"/x"}},
	}
	for i, sn := range snaps {
		sn.Time = time.Date(2026, 11, 21, i, 0, 0, 0, time.UTC)
	}
	type group struct {
		key     string
		members []string // newest first; Last: 1 keeps the first
	}
	for _, tc := range []struct {
		name string
		by   GroupBy
		want []group
	}{
		{name: "default: host, kind, paths", by: GroupBy{}, want: []group{
			{"host a, kind dir, paths [/x]", []string{"a-dir-x-2", "a-dir-x-t", "a-dir-x"}},
			{"host a, kind dir, paths [/x /y]", []string{"a-dir-xy", "a-dir-yx"}},
			{"host a, kind dump, paths [/x]", []string{"a-dump-x-t"}},
			{"host b, kind dir, paths [/x]", []string{"b-dir-x"}},
		}},
		{name: "the default spelled out", by: GroupBy{Host: true, Kind: true, Paths: true}, want: []group{
			{"host a, kind dir, paths [/x]", []string{"a-dir-x-2", "a-dir-x-t", "a-dir-x"}},
			{"host a, kind dir, paths [/x /y]", []string{"a-dir-xy", "a-dir-yx"}},
			{"host a, kind dump, paths [/x]", []string{"a-dump-x-t"}},
			{"host b, kind dir, paths [/x]", []string{"b-dir-x"}},
		}},
		{name: "host", by: GroupBy{Host: true}, want: []group{
			{"host a", []string{"a-dir-x-2", "a-dir-xy", "a-dir-x-t", "a-dump-x-t", "a-dir-yx", "a-dir-x"}},
			{"host b", []string{"b-dir-x"}},
		}},
		{name: "kind and tags", by: GroupBy{Kind: true, Tags: true}, want: []group{
			{"kind dir", []string{"a-dir-x-2", "a-dir-xy", "b-dir-x", "a-dir-yx", "a-dir-x"}},
			{"kind dir, tags [t]", []string{"a-dir-x-t"}},
			{"kind dump, tags [t]", []string{"a-dump-x-t"}},
		}},
		{name: "none", by: GroupBy{None: true}, want: []group{
			{"all snapshots", []string{"a-dir-x-2", "a-dir-xy", "a-dir-x-t", "a-dump-x-t", "b-dir-x", "a-dir-yx", "a-dir-x"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			groups, err := ApplyPolicy(snaps, Policy{Last: 1}, tc.by)
			require.NoError(t, err)
			var got []group
			for _, g := range groups {
				require.Len(t, g.Keep, 1)
				var names []string
				for _, d := range append(g.Keep, g.Remove...) {
					names = append(names, d.Snapshot.Source.Description)
				}
				got = append(got, group{g.Key.String(), names})
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestApplyPolicyTags(t *testing.T) {
	snaps := daysAtNoon("2026-11-17", "2026-11-21")
	snaps[0].Tags = []string{"nightly"}
	snaps[1].Tags = []string{"manual", "weekly"}
	snaps[2].Tags = []string{"Nightly"} // tags are case-sensitive
	snaps[4].Tags = []string{"nightly", "manual"}
	g := applyOne(t, snaps, Policy{Tags: []string{"nightly", "manual"}, Last: 1})
	require.Equal(t, []string{"2026-11-21T12", "2026-11-18T12", "2026-11-17T12"}, decisionTimes(g.Keep))
	require.Equal(t, [][]string{{"last 1", "tag nightly", "tag manual"}, {"tag manual"}, {"tag nightly"}},
		[][]string{g.Keep[0].Reasons, g.Keep[1].Reasons, g.Keep[2].Reasons})
	require.Equal(t, []string{"2026-11-20T12", "2026-11-19T12"}, decisionTimes(g.Remove))
}

func TestApplyPolicyWithinFromNewest(t *testing.T) {
	old := daysAtNoon("2025-01-01", "2025-01-31")
	for _, sn := range old {
		sn.Host = "old"
	}
	snaps := append(daysAtNoon("2025-01-01", "2025-12-31"), old...)
	groups, err := ApplyPolicy(snaps, Policy{Within: 7 * 24 * time.Hour, Location: time.UTC}, GroupBy{Host: true})
	require.NoError(t, err)
	require.Len(t, groups, 2)
	require.Equal(t, "host h", groups[0].Key.String())
	require.Equal(t, []string{"2025-12-31T12", "2025-12-30T12", "2025-12-29T12", "2025-12-28T12",
		"2025-12-27T12", "2025-12-26T12", "2025-12-25T12", "2025-12-24T12"}, decisionTimes(groups[0].Keep))
	require.Equal(t, "host old", groups[1].Key.String())
	require.Equal(t, []string{"2025-01-31T12", "2025-01-30T12", "2025-01-29T12", "2025-01-28T12",
		"2025-01-27T12", "2025-01-26T12", "2025-01-25T12", "2025-01-24T12"}, decisionTimes(groups[1].Keep))
	require.Equal(t, []string{"within 7d"}, groups[1].Keep[0].Reasons)
	require.Len(t, groups[1].Remove, 23)
}

func TestApplyPolicyTies(t *testing.T) {
	noon := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	id := func(b byte) ID { return ID{b} }
	snaps := []*Snapshot{
		{ID: id(9), Time: noon.Add(-time.Hour), Host: "h"},
		{ID: id(1), Time: noon, Host: "h"},
		{ID: id(3), Time: noon, Host: "h"},
		{ID: id(2), Time: noon, Host: "h"},
	}
	ids := func(ds []Decision) []ID {
		var s []ID
		for _, d := range ds {
			s = append(s, d.Snapshot.ID)
		}
		return s
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range []Policy{{Last: 1}, {Daily: 1}, {Hourly: 1}, {Within: time.Nanosecond}} {
		for range 10 {
			shuffled := append([]*Snapshot(nil), snaps...)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			before := append([]*Snapshot(nil), shuffled...)
			p.Location = time.UTC
			g := applyOne(t, shuffled, p)
			require.Equal(t, before, shuffled, "the caller's slice is left as it was")
			if p.Within > 0 { // all three at noon are the newest
				require.Equal(t, []ID{id(3), id(2), id(1)}, ids(g.Keep))
				require.Equal(t, []ID{id(9)}, ids(g.Remove))
				continue
			}
			require.Equal(t, []ID{id(3)}, ids(g.Keep), "%+v", p)
			require.Equal(t, []ID{id(2), id(1), id(9)}, ids(g.Remove), "%+v", p)
		}
	}
}

func TestApplyPolicyErrors(t *testing.T) {
	ok := []*Snapshot{{Time: time.Now(), Host: "h"}}
	for _, tc := range []struct {
		name  string
		p     Policy
		by    GroupBy
		snaps []*Snapshot
		empty bool // the error wraps ErrEmptyPolicy
	}{
		{name: "zero policy", p: Policy{}, empty: true},
		{name: "only a location", p: Policy{Location: time.UTC}, empty: true},
		{name: "empty tag list", p: Policy{Tags: []string{}}, empty: true},
		{name: "empty with no snapshots", p: Policy{}, snaps: []*Snapshot{}, empty: true},
		{name: "last -2", p: Policy{Last: -2}},
		{name: "hourly -5 beside a valid rule", p: Policy{Daily: 3, Hourly: -5}},
		{name: "yearly -2", p: Policy{Yearly: -2}},
		{name: "negative within", p: Policy{Within: -time.Hour}},
		{name: "empty tag", p: Policy{Tags: []string{"nightly", ""}}},
		{name: "none with fields", p: Policy{Last: 1}, by: GroupBy{None: true, Host: true}},
		{name: "nil snapshot", p: Policy{Last: 1}, snaps: []*Snapshot{ok[0], nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snaps := ok
			if tc.snaps != nil {
				snaps = tc.snaps
			}
			groups, err := ApplyPolicy(snaps, tc.p, tc.by)
			require.Error(t, err)
			require.Nil(t, groups)
			require.Equal(t, tc.empty, errors.Is(err, ErrEmptyPolicy), err)
		})
	}
	groups, err := ApplyPolicy(nil, Policy{Last: 1}, GroupBy{})
	require.NoError(t, err, "no snapshots is no error")
	require.Empty(t, groups)
}

func TestPolicyEmpty(t *testing.T) {
	for _, tc := range []struct {
		p    Policy
		want bool
	}{
		{Policy{}, true},
		{Policy{Location: time.UTC, Tags: []string{}}, true},
		{Policy{Last: -1}, false},
		{Policy{Yearly: 1}, false},
		{Policy{Within: time.Second}, false},
		{Policy{Tags: []string{"x"}}, false},
		{Policy{Hourly: -2}, false}, // invalid, but not empty
	} {
		require.Equal(t, tc.want, tc.p.Empty(), "%+v", tc.p)
	}
}

func TestPolicyFormatWithin(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7 * 24 * time.Hour:                     "7d",
		36 * time.Hour:                         "1d12h",
		90 * time.Minute:                       "1h30m",
		25*time.Hour + time.Second:             "1d1h1s",
		1500 * time.Millisecond:                "1.5s",
		400*24*time.Hour + 30*time.Minute:      "400d30m",
		time.Duration(1<<63 - 1).Truncate(1e9): "106751d23h47m16s",
		time.Nanosecond:                        "1ns",
		2*time.Hour + 3*time.Millisecond:       "2h0m0.003s",
		24*time.Hour + 59*time.Minute + 59e9:   "1d59m59s",
	} {
		require.Equal(t, want, formatWithin(d), "%d", int64(d))
	}
}

func TestForgetGroupKeyString(t *testing.T) {
	require.Equal(t, "all snapshots", GroupKey{}.String())
	require.Equal(t, "host db1, kind dir, paths [/etc /srv], tags [a b]",
		GroupKey{Host: "db1", Kind: "dir", Paths: []string{"/etc", "/srv"}, Tags: []string{"a", "b"}}.String())
	require.Equal(t, "kind docker-volume", GroupKey{Kind: "docker-volume"}.String())
}

// forgetSource is one directory with one file.
func forgetSource() *testSource {
	s := &testSource{}
	s.add(source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}, nil)
	s.add(source.Entry{Path: "f", Type: source.TypeFile, Inode: 1}, []byte("content"))
	return s
}

// forgetRepo backs up five days for host h and one for host g, the oldest
// first, and returns the snapshots.
func forgetRepo(t *testing.T, be backend.Backend) (*Repository, []*Snapshot) {
	t.Helper()
	r := initRepo(t, be, Options{})
	var snaps []*Snapshot
	for i, host := range []string{"g", "h", "h", "h", "h", "h"} {
		sn, err := r.Backup(t.Context(), forgetSource(), BackupOptions{
			Host: host, Time: time.Date(2026, 11, 16+i, 10, 0, 0, 0, time.UTC)})
		require.NoError(t, err)
		snaps = append(snaps, sn)
	}
	return r, snaps
}

func remainingIDs(t *testing.T, r *Repository) []ID {
	t.Helper()
	list, err := r.Snapshots(t.Context())
	require.NoError(t, err)
	var ids []ID
	for _, sn := range list {
		ids = append(ids, sn.ID)
	}
	return ids
}

func TestForget(t *testing.T) {
	policy := Policy{Daily: 2, Location: time.UTC}
	t.Run("deletes what no rule keeps", func(t *testing.T) {
		be := mem.New()
		r, s := forgetRepo(t, be)
		res, err := r.Forget(t.Context(), policy, ForgetOptions{})
		require.NoError(t, err)
		require.Len(t, res.Groups, 2)
		require.Equal(t, "host g, kind test, paths [/test]", res.Groups[0].Key.String())
		require.Equal(t, []string{"2026-11-16T10"}, decisionTimes(res.Groups[0].Keep))
		require.Equal(t, []string{"2026-11-21T10", "2026-11-20T10"}, decisionTimes(res.Groups[1].Keep))
		require.Equal(t, []string{"daily 2026-11-21"}, res.Groups[1].Keep[0].Reasons)
		require.Equal(t, []string{"2026-11-19T10", "2026-11-18T10", "2026-11-17T10"}, decisionTimes(res.Groups[1].Remove))
		require.Equal(t, []ID{s[3].ID, s[2].ID, s[1].ID}, res.Removed)
		require.Equal(t, []ID{s[0].ID, s[4].ID, s[5].ID}, remainingIDs(t, r))
		require.Equal(t, []ID{s[0].ID, s[4].ID, s[5].ID}, remainingIDs(t, reopen(t, be)))

		again, err := r.Forget(t.Context(), policy, ForgetOptions{})
		require.NoError(t, err)
		require.Empty(t, again.Removed, "a second run finds nothing more")
	})
	t.Run("dry run deletes nothing", func(t *testing.T) {
		r, s := forgetRepo(t, mem.New())
		res, err := r.Forget(t.Context(), policy, ForgetOptions{DryRun: true})
		require.NoError(t, err)
		require.Empty(t, res.Removed)
		require.Len(t, res.Groups[1].Remove, 3)
		require.Len(t, remainingIDs(t, r), len(s))
	})
	t.Run("no grouping", func(t *testing.T) {
		r, s := forgetRepo(t, mem.New())
		res, err := r.Forget(t.Context(), Policy{Last: 1}, ForgetOptions{GroupBy: GroupBy{None: true}})
		require.NoError(t, err)
		require.Len(t, res.Removed, 5)
		require.Equal(t, []ID{s[5].ID}, remainingIDs(t, r))
	})
	t.Run("bad policy deletes nothing", func(t *testing.T) {
		r, s := forgetRepo(t, mem.New())
		res, err := r.Forget(t.Context(), Policy{}, ForgetOptions{})
		require.ErrorIs(t, err, ErrEmptyPolicy)
		require.Nil(t, res)
		_, err = r.Forget(t.Context(), Policy{Last: 1}, ForgetOptions{GroupBy: GroupBy{None: true, Tags: true}})
		require.Error(t, err)
		require.Len(t, remainingIDs(t, r), len(s))
	})
	t.Run("a failed deletion reports what was deleted", func(t *testing.T) {
		fb := fault.New(mem.New())
		r, s := forgetRepo(t, fb)
		removes := 0
		fb.FailOn(func(op fault.Op, h backend.Handle) error {
			if op != fault.OpRemove {
				return nil
			}
			if removes++; removes == 2 {
				return fault.ErrInjected
			}
			return nil
		})
		res, err := r.Forget(t.Context(), policy, ForgetOptions{})
		require.ErrorIs(t, err, fault.ErrInjected)
		var fe *FileError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, s[2].ID.String(), fe.File.Name)
		require.NotNil(t, res)
		require.Equal(t, []ID{s[3].ID}, res.Removed)
		require.Equal(t, []ID{s[0].ID, s[1].ID, s[2].ID, s[4].ID, s[5].ID}, remainingIDs(t, r))
	})
	t.Run("cancelled", func(t *testing.T) {
		r, s := forgetRepo(t, mem.New())
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := r.Forget(ctx, policy, ForgetOptions{})
		require.ErrorIs(t, err, context.Canceled)
		require.Len(t, remainingIDs(t, r), len(s))
	})
}
