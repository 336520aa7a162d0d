package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/source/docker"
)

// The labels the agent reads. Every other label starting with
// labelPrefix is a configuration error.
const (
	labelPrefix   = "cairn."
	labelBackup   = "cairn.backup"
	labelSchedule = "cairn.schedule"
	labelStop     = docker.StopLabel
	labelPre      = docker.ExecPreLabel
	labelPost     = docker.ExecPostLabel
	labelDump     = "cairn.dump"
	labelDumpName = "cairn.dump-name"
	labelWithin   = "cairn.keep-within"
)

// labelSetter applies one label's value to a target.
type labelSetter func(t *Target, value string) error

// setters knows every label but cairn.backup.
var setters = map[string]labelSetter{
	labelSchedule: func(t *Target, v string) (err error) {
		t.Schedule, err = parseSchedule(v)
		t.ScheduleSpec = v
		return err
	},
	labelStop:            func(t *Target, v string) (err error) { t.Stop, err = parseStrictBool(v); return err },
	labelPre:             func(t *Target, v string) (err error) { t.PreHook, err = parseCommand(v); return err },
	labelPost:            func(t *Target, v string) (err error) { t.PostHook, err = parseCommand(v); return err },
	labelDump:            func(t *Target, v string) (err error) { t.DumpCmd, err = parseCommand(v); return err },
	labelDumpName:        func(t *Target, v string) (err error) { t.DumpName, err = parseFileName(v); return err },
	labelWithin:          func(t *Target, v string) (err error) { t.Policy.Within, err = parseWithin(v); return err },
	"cairn.keep-last":    keepCount(func(t *Target) *int { return &t.Policy.Last }),
	"cairn.keep-hourly":  keepCount(func(t *Target) *int { return &t.Policy.Hourly }),
	"cairn.keep-daily":   keepCount(func(t *Target) *int { return &t.Policy.Daily }),
	"cairn.keep-weekly":  keepCount(func(t *Target) *int { return &t.Policy.Weekly }),
	"cairn.keep-monthly": keepCount(func(t *Target) *int { return &t.Policy.Monthly }),
	"cairn.keep-yearly":  keepCount(func(t *Target) *int { return &t.Policy.Yearly }),
}

// ParseTarget turns a labelled object into a Target. It returns nil and
// no error for an object that does not opt in (no cairn.backup label, or
// cairn.backup=false), and a *ConfigError for invalid labels.
// defaultSchedule is used when the object has no cairn.schedule.
func ParseTarget(obj Object, defaultSchedule string) (*Target, error) {
	v, ok := obj.Labels[labelBackup]
	if !ok || v == "false" {
		return nil, nil
	}
	id := targetKindID(obj)
	if v != "true" {
		return nil, &ConfigError{Target: id, Label: labelBackup, Err: fmt.Errorf("%q: want true or false", v)}
	}
	t := &Target{ID: id, Kind: targetKind(obj), Name: obj.Name,
		Volumes: obj.Volumes, Fingerprint: fingerprint(obj, defaultSchedule)}
	if err := setters[labelSchedule](t, defaultSchedule); err != nil {
		return nil, &ConfigError{Target: id, Err: fmt.Errorf("default schedule: %w", err)}
	}
	// Sorted, so that the same labels always give the same error.
	for _, key := range slices.Sorted(maps.Keys(obj.Labels)) {
		value := obj.Labels[key]
		if key == labelBackup || !strings.HasPrefix(key, labelPrefix) {
			continue
		}
		set, ok := setters[key]
		if !ok {
			return nil, &ConfigError{Target: id, Label: key, Err: errors.New("unknown label")}
		}
		if err := set(t, value); err != nil {
			return nil, &ConfigError{Target: id, Label: key, Err: fmt.Errorf("%q: %w", value, err)}
		}
	}
	if err := t.check(obj); err != nil {
		return nil, err
	}
	return t, nil
}

// check tests what single labels cannot: how they go together.
func (t *Target) check(obj Object) error {
	fail := func(label, msg string) error {
		return &ConfigError{Target: t.ID, Label: label, Err: errors.New(msg)}
	}
	switch {
	case t.Kind == KindVolume && hasLabel(obj.Labels, labelDump):
		return fail(labelDump, "goes on containers, not volumes")
	case t.Kind != KindDump && hasLabel(obj.Labels, labelDumpName):
		return fail(labelDumpName, "needs "+labelDump)
	case t.Kind == KindDump && t.Stop:
		return fail(labelStop, "a dump runs in the container, which must keep running")
	case t.Kind == KindContainer && len(t.Volumes) == 0:
		return fail("", "the container mounts no named volume (label it with "+labelDump+" or label its volumes)")
	}
	if t.Kind == KindDump && t.DumpName == "" {
		t.DumpName = t.Name + ".dump"
	}
	return nil
}

// parseStrictBool accepts exactly "true" and "false".
func parseStrictBool(s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("want true or false")
}

// parseCommand reads a command as Docker's exec form, a JSON array of
// strings, when it starts with "[", and as words split on white space
// otherwise.
func parseCommand(s string) ([]string, error) {
	var argv []string
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		if err := json.Unmarshal([]byte(s), &argv); err != nil {
			return nil, fmt.Errorf("not a JSON array of strings: %w", err)
		}
	} else {
		argv = strings.Fields(s)
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("empty command")
	}
	return argv, nil
}

// parseFileName accepts a plain file name.
func parseFileName(s string) (string, error) {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
		return "", errors.New("want a file name without slashes")
	}
	return s, nil
}

// keepCount returns the setter of one counting retention rule.
func keepCount(field func(*Target) *int) labelSetter {
	return func(t *Target, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 {
			return errors.New("want a count, or -1 for no limit")
		}
		*field(t) = n
		return nil
	}
}

var withinDays = regexp.MustCompile(`^([0-9]{1,5})d(.*)$`)

// parseWithin reads a Go duration, optionally led by days: "7d", "1d12h",
// "36h".
func parseWithin(s string) (time.Duration, error) {
	var total time.Duration
	if m := withinDays.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1]) // at most five digits
		total, s = time.Duration(n)*24*time.Hour, m[2]
	}
	if s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, errors.New("want a duration such as 7d, 36h or 1d12h")
		}
		total += d
	}
	if total <= 0 {
		return 0, errors.New("want a positive duration")
	}
	return total, nil
}
