package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/cairnbackup/cairn/repo"
)

// TagKey is the key of the tag every snapshot the agent takes carries:
// "cairn-agent-target=volume/pgdata". Forget and the drill find a
// target's snapshots by it.
const TagKey = "cairn-agent-target"

// Kind is what a target backs up.
type Kind string

// The kinds of targets, which are also the prefixes of their IDs.
const (
	KindVolume    Kind = "volume"    // a labelled volume
	KindDump      Kind = "dump"      // a command run in a labelled container
	KindContainer Kind = "container" // every named volume of a labelled container
)

// Target is one thing the agent backs up on its own schedule, as its
// labels describe it.
type Target struct {
	ID   string // "volume/NAME", "dump/CONTAINER" or "container/CONTAINER"
	Kind Kind
	Name string // the volume's or container's name

	ScheduleSpec string
	Schedule     cron.Schedule

	// Stop stops the containers that use the volumes while they are read.
	Stop bool
	// PreHook and PostHook come from cairn.exec-pre and cairn.exec-post.
	// On a volume they run in each running container that uses it; on a
	// container source/docker reads the labels itself.
	PreHook, PostHook []string

	DumpCmd  []string // dump targets: the command run in the container
	DumpName string   // dump targets: the file name in the snapshot

	Volumes []string // container targets: the named volumes it mounts

	Policy repo.Policy // empty: keep everything

	// Fingerprint changes whenever anything the target was made from
	// does, so that a re-list notices changed labels.
	Fingerprint string
}

// Tag returns the tag the target's snapshots carry.
func (t *Target) Tag() string { return TagKey + "=" + t.ID }

// ConfigError says why an object's labels do not make a valid target.
type ConfigError struct {
	Target string // the target ID the object would have had
	Label  string // the offending label; empty when no single one is
	Err    error
}

// Error names the target, the label and what is wrong with it.
func (e *ConfigError) Error() string {
	if e.Label == "" {
		return fmt.Sprintf("%s: %v", e.Target, e.Err)
	}
	return fmt.Sprintf("%s: label %s: %v", e.Target, e.Label, e.Err)
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// ObjectKind says whether an Object is a volume or a container.
type ObjectKind string

// The kinds of labelled Docker objects.
const (
	VolumeObject    ObjectKind = "volume"
	ContainerObject ObjectKind = "container"
)

// Object is a Docker volume or container as discovery found it.
type Object struct {
	Kind    ObjectKind
	Name    string
	Labels  map[string]string
	Volumes []string // containers: the named volumes they mount
}

// targetKind returns the kind of target obj stands for.
func targetKind(obj Object) Kind {
	switch {
	case obj.Kind == VolumeObject:
		return KindVolume
	case hasLabel(obj.Labels, labelDump):
		return KindDump
	default:
		return KindContainer
	}
}

// targetKindID is the ID of the target obj stands for.
func targetKindID(obj Object) string { return string(targetKind(obj)) + "/" + obj.Name }

func hasLabel(labels map[string]string, key string) bool {
	_, ok := labels[key]
	return ok
}

// fingerprint sums up what a target is made from: its object's kind,
// name, cairn labels and volumes.
func fingerprint(obj Object, defaultSchedule string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s", obj.Kind, obj.Name, defaultSchedule)
	keys := make([]string, 0, len(obj.Labels))
	for k := range obj.Labels {
		if strings.HasPrefix(k, labelPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "|%s=%q", k, obj.Labels[k])
	}
	fmt.Fprintf(&b, "|%q", obj.Volumes)
	return b.String()
}
