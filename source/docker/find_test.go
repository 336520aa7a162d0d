package docker

import (
	"context"
	"errors"
	"testing"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
	"github.com/stretchr/testify/require"
)

func TestMissingVolume(t *testing.T) {
	cli := dockerClient(t)
	r := newRepo(t)
	const name = "cairn-test-no-such-volume"
	for _, mode := range []Mode{ModeAuto, ModeDirect, ModeHelper} {
		_, err := Open(t.Context(), cli, name, Options{Mode: mode})
		require.ErrorIs(t, err, ErrNoVolume)
		require.ErrorContains(t, err, name)
	}
	_, err := FindVolumes(t.Context(), cli, Selector{Names: []string{name}})
	require.ErrorIs(t, err, ErrNoVolume)
	require.ErrorContains(t, err, name)

	// Gone between Open and the backup: Prepare fails, no snapshot.
	for _, mode := range []Mode{ModeDirect, ModeHelper} {
		vol := newVolume(t, cli, nil)
		src, err := Open(t.Context(), cli, vol, Options{Mode: mode})
		require.NoError(t, err)
		require.NoError(t, removeVolume(cli, vol))
		_, err = r.Backup(t.Context(), src, repo.BackupOptions{})
		require.ErrorIs(t, err, ErrNoVolume)
		require.ErrorContains(t, err, vol)
		require.Empty(t, helpers(t, cli, vol))
	}
	snaps, err := r.Snapshots(t.Context())
	require.NoError(t, err)
	require.Empty(t, snaps)
}

func TestFindVolumes(t *testing.T) {
	cli := dockerClient(t)
	key := "cairn.test.find-" + t.Name()
	a := newVolume(t, cli, map[string]string{key: "yes", ComposeProjectLabel: "cairn-test-proj"})
	b := newVolume(t, cli, map[string]string{key: "yes"})
	c := newVolume(t, cli, map[string]string{key: "no", ComposeProjectLabel: "cairn-test-proj"})

	names := func(sel Selector) []string {
		vols, err := FindVolumes(t.Context(), cli, sel)
		require.NoError(t, err)
		var out []string
		for _, v := range vols {
			require.Equal(t, "local", v.Driver)
			out = append(out, v.Name)
		}
		return out
	}
	require.Equal(t, []string{a, b}, names(Selector{Labels: []string{key + "=yes"}}))
	require.Equal(t, []string{a, b, c}, names(Selector{Labels: []string{key}}))
	require.Equal(t, []string{a, c}, names(Selector{Project: "cairn-test-proj"}))
	require.Equal(t, []string{a}, names(Selector{Project: "cairn-test-proj", Labels: []string{key + "=yes"}}))
	require.Equal(t, []string{b}, names(Selector{Names: []string{b}}))
	require.Empty(t, names(Selector{Names: []string{b}, Project: "cairn-test-proj"}))
	_, err := FindVolumes(t.Context(), cli, Selector{})
	require.Error(t, err)
}

var errInjected = errors.New("injected failure")

// failing fails the walk of a HelperVolume at big.bin.
type failing struct{ *HelperVolume }

func (f failing) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	return f.HelperVolume.Walk(ctx, func(e *source.Entry) error {
		if e.Path == "big.bin" {
			return errInjected
		}
		return fn(e)
	})
}

func TestHelperRemovedOnFailure(t *testing.T) {
	cli := dockerClient(t)
	vol := newVolume(t, cli, nil)
	fillVolume(t, cli, vol)
	r := newRepo(t)
	src, err := Open(t.Context(), cli, vol, Options{Mode: ModeHelper})
	require.NoError(t, err)
	_, err = r.Backup(t.Context(), failing{src.(*HelperVolume)}, repo.BackupOptions{})
	require.ErrorIs(t, err, errInjected)
	require.Empty(t, helpers(t, cli, vol))

	// Cancelled during the walk.
	src, err = Open(t.Context(), cli, vol, Options{Mode: ModeHelper})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	h := src.(*HelperVolume)
	tidy, err := h.Prepare(ctx)
	require.NoError(t, err)
	require.Len(t, helpers(t, cli, vol), 1)
	err = h.Walk(ctx, func(*source.Entry) error { cancel(); return nil })
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, tidy(context.Background()))
	require.Empty(t, helpers(t, cli, vol))

	// Walk without Prepare tidies up itself.
	src, err = Open(t.Context(), cli, vol, Options{Mode: ModeHelper})
	require.NoError(t, err)
	var n int
	require.NoError(t, src.Walk(t.Context(), func(*source.Entry) error { n++; return nil }))
	require.Equal(t, 12, n) // ".", sub, and 8 below; .cairn and its volume.json
	require.Empty(t, helpers(t, cli, vol))

	snaps, err := r.Snapshots(t.Context())
	require.NoError(t, err)
	require.Empty(t, snaps)
}

func TestAutoMode(t *testing.T) {
	cli := dockerClient(t)
	vol := newVolume(t, cli, nil)
	src, err := Open(t.Context(), cli, vol, Options{})
	require.NoError(t, err)
	if err := readable(cli, src.(interface{ Volume() VolumeInfo }).Volume().Mountpoint); err == nil {
		require.IsType(t, &DirectVolume{}, src)
	} else {
		require.IsType(t, &HelperVolume{}, src)
		t.Logf("mountpoint not readable here (%v): auto chose helper", err)
	}
}
