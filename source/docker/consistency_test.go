package docker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
)

func TestConsistentMarkers(t *testing.T) {
	direct := Consistent(&DirectVolume{volume: &volume{}}, nil, Consistency{}, nil)
	helper := Consistent(&HelperVolume{volume: &volume{}}, nil, Consistency{}, nil)
	for _, src := range []source.Source{direct, helper} {
		_, ok := src.(source.Preparer)
		require.True(t, ok)
	}
	_, seq := direct.(source.Sequential)
	_, cnt := direct.(source.Counter)
	require.Equal(t, [2]bool{false, true}, [2]bool{seq, cnt}, "direct: sequential, counter")
	_, seq = helper.(source.Sequential)
	_, cnt = helper.(source.Counter)
	require.Equal(t, [2]bool{true, false}, [2]bool{seq, cnt}, "helper: sequential, counter")
}

func TestConsistencyOptions(t *testing.T) {
	for _, c := range []Consistency{{Stop: true, Pause: true}, {HookTimeout: -1}, {StopTimeout: -1}} {
		_, err := Quiesce(t.Context(), nil, nil, c)
		require.Error(t, err)
	}
}

var errWalkInjected = errors.New("injected walk failure")

// TestStopDuringBackup: two running containers use the volume, a stopped
// one too, and a running one that does not is labelled StopLabel=true.
// During the walk the running ones are stopped (or paused); afterwards,
// whatever way the backup ended, exactly they run again.
func TestStopDuringBackup(t *testing.T) {
	cli := dockerClient(t)
	buildSleeper(t, cli)
	vol := newVolume(t, cli, nil)
	a := sleeper(t, cli, "a", true, nil, vol)
	b := sleeper(t, cli, "b", true, nil, vol)
	c := sleeper(t, cli, "c", true, nil, vol)
	_, err := cli.ContainerStop(t.Context(), c, client.ContainerStopOptions{})
	require.NoError(t, err)
	other := newVolume(t, cli, nil)
	d := sleeper(t, cli, "d", true, map[string]string{StopLabel: "true"}, other)
	ids := []string{a, b, c, d}
	r := newRepo(t)

	for _, tc := range []struct {
		name   string
		c      Consistency
		during ctrState
		end    string // "ok", "fail", "cancel", "panic"
	}{
		{"stop", Consistency{Stop: true}, ctrStopped, "ok"},
		{"stop/walk fails", Consistency{Stop: true}, ctrStopped, "fail"},
		{"stop/cancelled", Consistency{Stop: true}, ctrStopped, "cancel"},
		{"stop/walk panics", Consistency{Stop: true}, ctrStopped, "panic"},
		{"pause", Consistency{Pause: true}, ctrPaused, "ok"},
		{"pause/walk fails", Consistency{Pause: true}, ctrPaused, "fail"},
		{"pause/cancelled", Consistency{Pause: true}, ctrPaused, "cancel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			opened, err := Open(ctx, cli, vol, Options{Mode: ModeDirect})
			require.NoError(t, err)
			var seen []ctrState
			p := &walkProbe{DirectVolume: opened.(*DirectVolume), walk: func(ctx context.Context) error {
				for _, id := range ids {
					seen = append(seen, ctrStateOf(t, cli, id))
				}
				switch tc.end {
				case "fail":
					return errWalkInjected
				case "cancel":
					cancel()
				case "panic":
					panic(errWalkInjected)
				}
				return nil
			}}
			before, err := r.Snapshots(t.Context())
			require.NoError(t, err)
			backup := func() {
				_, err = r.Backup(ctx, Consistent(p, cli, tc.c, nil), repo.BackupOptions{NoParent: true})
			}
			if tc.end == "panic" {
				require.PanicsWithValue(t, errWalkInjected, backup)
			} else {
				backup()
			}
			require.Equal(t, []ctrState{tc.during, tc.during, ctrStopped, tc.during}, seen, "a, b, c, d during the walk")
			require.Equal(t, []ctrState{ctrRunning, ctrRunning, ctrStopped, ctrRunning},
				[]ctrState{ctrStateOf(t, cli, a), ctrStateOf(t, cli, b), ctrStateOf(t, cli, c), ctrStateOf(t, cli, d)},
				"a, b, c, d after the backup")
			after, lerr := r.Snapshots(t.Context())
			require.NoError(t, lerr)
			switch tc.end {
			case "ok":
				require.NoError(t, err)
				require.Len(t, after, len(before)+1)
			case "panic":
				require.Len(t, after, len(before))
			case "fail":
				require.ErrorIs(t, err, errWalkInjected)
				require.Len(t, after, len(before))
			case "cancel":
				require.ErrorIs(t, err, context.Canceled)
				require.Len(t, after, len(before))
			}
		})
	}

	t.Run("stop order", func(t *testing.T) {
		resume, err := Quiesce(t.Context(), cli, []string{b, a, c}, Consistency{Stop: true})
		require.NoError(t, err)
		require.NoError(t, resume(t.Context()))
		require.NoError(t, resume(t.Context()), "second resume")
		// Stopped b, a, d; started d, a, b.
		fin, start := ctrTimes(t, cli, b, a, d)
		require.True(t, fin[0].Before(fin[1]) && fin[1].Before(fin[2]), "stopped in order: %v", fin)
		require.True(t, start[2].Before(start[1]) && start[1].Before(start[0]), "started in reverse: %v", start)
		require.Equal(t, ctrStopped, ctrStateOf(t, cli, c))
	})

	t.Run("helper mode", func(t *testing.T) {
		src, err := Open(t.Context(), cli, vol, Options{Mode: ModeHelper})
		require.NoError(t, err)
		_, err = r.Backup(t.Context(), Consistent(src, cli, Consistency{Stop: true}, nil), repo.BackupOptions{NoParent: true})
		require.NoError(t, err)
		for _, id := range []string{a, b, d} {
			require.Equal(t, ctrRunning, ctrStateOf(t, cli, id))
		}
		require.Empty(t, helpers(t, cli, vol))
	})
}

// times returns when the containers last stopped and started.
func ctrTimes(t *testing.T, cli *client.Client, ids ...string) (finished, started []time.Time) {
	t.Helper()
	for _, id := range ids {
		res, err := cli.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
		require.NoError(t, err)
		f, err := time.Parse(time.RFC3339Nano, res.Container.State.FinishedAt)
		require.NoError(t, err)
		s, err := time.Parse(time.RFC3339Nano, res.Container.State.StartedAt)
		require.NoError(t, err)
		finished, started = append(finished, f), append(started, s)
	}
	return finished, started
}

// TestQuiesceVolumes quiesces the containers of two volumes once: one of
// them uses both.
func TestQuiesceVolumes(t *testing.T) {
	cli := dockerClient(t)
	buildSleeper(t, cli)
	v1, v2 := newVolume(t, cli, nil), newVolume(t, cli, nil)
	x := sleeper(t, cli, "x", true, nil, v1)
	y := sleeper(t, cli, "y", true, nil, v1, v2)
	z := sleeper(t, cli, "z", true, nil, v2)
	resume, err := QuiesceVolumes(t.Context(), cli, []string{v1, v2}, Consistency{Stop: true, IgnoreLabels: true})
	require.NoError(t, err)
	for _, id := range []string{x, y, z} {
		require.Equal(t, ctrStopped, ctrStateOf(t, cli, id))
	}
	require.NoError(t, resume(context.Background()))
	for _, id := range []string{x, y, z} {
		require.Equal(t, ctrRunning, ctrStateOf(t, cli, id))
	}
}
