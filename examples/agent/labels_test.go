package main

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo"
)

func vol(name string, labels map[string]string) Object {
	return Object{Kind: VolumeObject, Name: name, Labels: labels}
}

func ctr(name string, labels map[string]string, volumes ...string) Object {
	return Object{Kind: ContainerObject, Name: name, Labels: labels, Volumes: volumes}
}

func TestParseTargetValid(t *testing.T) {
	tests := []struct {
		name string
		obj  Object
		want Target // compared on the fields set here
	}{
		{"volume with defaults", vol("pgdata", map[string]string{"cairn.backup": "true", "other": "x"}),
			Target{ID: "volume/pgdata", Kind: KindVolume, Name: "pgdata", ScheduleSpec: "@daily"}},
		{"volume with everything", vol("v", map[string]string{"cairn.backup": "true", "cairn.schedule": "*/5 * * * *",
			"cairn.stop-during-backup": "true", "cairn.exec-pre": "sync", "cairn.exec-post": `["sh","-c","echo done"]`,
			"cairn.keep-last": "3", "cairn.keep-hourly": "-1", "cairn.keep-daily": "7", "cairn.keep-weekly": "4",
			"cairn.keep-monthly": "12", "cairn.keep-yearly": "2", "cairn.keep-within": "1d12h"}),
			Target{ID: "volume/v", Kind: KindVolume, Name: "v", ScheduleSpec: "*/5 * * * *", Stop: true,
				PreHook: []string{"sync"}, PostHook: []string{"sh", "-c", "echo done"},
				Policy: repo.Policy{Last: 3, Hourly: -1, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 2, Within: 36 * time.Hour}}},
		{"dump split on white space", ctr("db", map[string]string{"cairn.backup": "true", "cairn.dump": " pg_dumpall  -U postgres "}),
			Target{ID: "dump/db", Kind: KindDump, Name: "db", ScheduleSpec: "@daily",
				DumpCmd: []string{"pg_dumpall", "-U", "postgres"}, DumpName: "db.dump"}},
		{"dump as JSON with a name", ctr("db", map[string]string{"cairn.backup": "true",
			"cairn.dump": `["sh","-c","pg_dumpall | gzip"]`, "cairn.dump-name": "all.sql.gz", "cairn.schedule": "@every 30s"}),
			Target{ID: "dump/db", Kind: KindDump, Name: "db", ScheduleSpec: "@every 30s",
				DumpCmd: []string{"sh", "-c", "pg_dumpall | gzip"}, DumpName: "all.sql.gz"}},
		{"container with volumes", ctr("app", map[string]string{"cairn.backup": "true", "cairn.stop-during-backup": "false",
			"cairn.keep-within": "7d"}, "a", "b"),
			Target{ID: "container/app", Kind: KindContainer, Name: "app", ScheduleSpec: "@daily", Volumes: []string{"a", "b"},
				Policy: repo.Policy{Within: 7 * 24 * time.Hour}}},
		{"keep-within as a Go duration", vol("v", map[string]string{"cairn.backup": "true", "cairn.keep-within": "36h"}),
			Target{ID: "volume/v", Kind: KindVolume, Name: "v", ScheduleSpec: "@daily", Policy: repo.Policy{Within: 36 * time.Hour}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTarget(tc.obj, "@daily")
			require.NoError(t, err)
			require.NotNil(t, got)
			require.NotNil(t, got.Schedule)
			require.NotEmpty(t, got.Fingerprint)
			got.Schedule, got.Fingerprint = nil, ""
			require.Equal(t, tc.want, *got)
		})
	}
}

func TestParseTargetNotOptedIn(t *testing.T) {
	for _, labels := range []map[string]string{
		nil,
		{"cairn.schedule": "bogus", "cairn.unknown": "x"},
		{"cairn.backup": "false", "cairn.unknown": "x"},
	} {
		got, err := ParseTarget(vol("v", labels), "@daily")
		require.NoError(t, err)
		require.Nil(t, got)
	}
}

func TestParseTargetBad(t *testing.T) {
	on := func(kv ...string) map[string]string {
		m := map[string]string{"cairn.backup": "true"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name   string
		obj    Object
		target string
		label  string
	}{
		{"backup not a bool", vol("v", map[string]string{"cairn.backup": "yes"}), "volume/v", "cairn.backup"},
		{"backup upper case", vol("v", map[string]string{"cairn.backup": "TRUE"}), "volume/v", "cairn.backup"},
		{"unknown label", vol("v", on("cairn.keep-lats", "3")), "volume/v", "cairn.keep-lats"},
		{"unknown label on a container", ctr("c", on("cairn.foo", ""), "v"), "container/c", "cairn.foo"},
		{"schedule malformed", vol("v", on("cairn.schedule", "every day")), "volume/v", "cairn.schedule"},
		{"schedule six fields", vol("v", on("cairn.schedule", "0 0 0 * * *")), "volume/v", "cairn.schedule"},
		{"schedule never fires", vol("v", on("cairn.schedule", "0 0 30 2 *")), "volume/v", "cairn.schedule"},
		{"schedule empty", vol("v", on("cairn.schedule", "")), "volume/v", "cairn.schedule"},
		{"stop not a bool", vol("v", on("cairn.stop-during-backup", "1")), "volume/v", "cairn.stop-during-backup"},
		{"keep not a number", vol("v", on("cairn.keep-daily", "seven")), "volume/v", "cairn.keep-daily"},
		{"keep below -1", vol("v", on("cairn.keep-last", "-2")), "volume/v", "cairn.keep-last"},
		{"keep fraction", vol("v", on("cairn.keep-weekly", "1.5")), "volume/v", "cairn.keep-weekly"},
		{"keep-within malformed", vol("v", on("cairn.keep-within", "a week")), "volume/v", "cairn.keep-within"},
		{"keep-within zero", vol("v", on("cairn.keep-within", "0d")), "volume/v", "cairn.keep-within"},
		{"keep-within negative", vol("v", on("cairn.keep-within", "-5h")), "volume/v", "cairn.keep-within"},
		{"exec-pre empty", vol("v", on("cairn.exec-pre", "  ")), "volume/v", "cairn.exec-pre"},
		{"exec-post bad JSON", vol("v", on("cairn.exec-post", `["sync"`)), "volume/v", "cairn.exec-post"},
		{"exec-post JSON not strings", vol("v", on("cairn.exec-post", `[1,2]`)), "volume/v", "cairn.exec-post"},
		{"dump empty", ctr("c", on("cairn.dump", "")), "dump/c", "cairn.dump"},
		{"dump empty JSON", ctr("c", on("cairn.dump", "[]")), "dump/c", "cairn.dump"},
		{"dump on a volume", vol("v", on("cairn.dump", "pg_dumpall")), "volume/v", "cairn.dump"},
		{"dump-name without dump", ctr("c", on("cairn.dump-name", "x.sql"), "v"), "container/c", "cairn.dump-name"},
		{"dump-name with a slash", ctr("c", on("cairn.dump", "pg_dumpall", "cairn.dump-name", "a/b")), "dump/c", "cairn.dump-name"},
		{"dump-name dot dot", ctr("c", on("cairn.dump", "pg_dumpall", "cairn.dump-name", "..")), "dump/c", "cairn.dump-name"},
		{"dump with stop", ctr("c", on("cairn.dump", "pg_dumpall", "cairn.stop-during-backup", "true")), "dump/c", "cairn.stop-during-backup"},
		{"container without volumes", ctr("c", on()), "container/c", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTarget(tc.obj, "@daily")
			require.Nil(t, got)
			var ce *ConfigError
			require.True(t, errors.As(err, &ce), "want a *ConfigError, got %v", err)
			require.Equal(t, tc.target, ce.Target)
			require.Equal(t, tc.label, ce.Label)
			require.Contains(t, err.Error(), tc.target)
		})
	}
}

func TestParseTargetBadDefaultSchedule(t *testing.T) {
	_, err := ParseTarget(vol("v", map[string]string{"cairn.backup": "true"}), "nope")
	require.ErrorContains(t, err, "default schedule")
	got, err := ParseTarget(vol("v", map[string]string{"cairn.backup": "true", "cairn.schedule": "@hourly"}), "nope")
	require.ErrorContains(t, err, "default schedule") // checked first, whatever the labels
	require.Nil(t, got)
}

func TestParseTargetDeterministicError(t *testing.T) {
	obj := vol("v", map[string]string{"cairn.backup": "true", "cairn.zzz": "1", "cairn.aaa": "1", "cairn.keep-last": "x"})
	for range 20 {
		_, err := ParseTarget(obj, "@daily")
		require.ErrorContains(t, err, "cairn.aaa")
	}
}

func TestFingerprint(t *testing.T) {
	a := vol("v", map[string]string{"cairn.backup": "true", "cairn.schedule": "@hourly", "other": "1"})
	b := vol("v", map[string]string{"cairn.backup": "true", "cairn.schedule": "@hourly", "other": "2"})
	c := vol("v", map[string]string{"cairn.backup": "true", "cairn.schedule": "@daily"})
	require.Equal(t, fingerprint(a, "@daily"), fingerprint(b, "@daily"), "non-cairn labels do not count")
	require.NotEqual(t, fingerprint(a, "@daily"), fingerprint(c, "@daily"))
	require.NotEqual(t, fingerprint(a, "@daily"), fingerprint(a, "@weekly"))
	require.NotEqual(t, fingerprint(ctr("c", nil, "x"), ""), fingerprint(ctr("c", nil, "x", "y"), ""))
}

func TestTag(t *testing.T) {
	require.Equal(t, "cairn-agent-target=volume/pgdata", (&Target{ID: "volume/pgdata"}).Tag())
}
