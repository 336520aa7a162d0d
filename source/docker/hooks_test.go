package docker

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
)

func TestHookArgv(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"  /bin/flush  --all ", []string{"/bin/flush", "--all"}, false},
		{`["sh", "-c", "a b > c"]`, []string{"sh", "-c", "a b > c"}, false},
		{`["sh", 1]`, nil, true},
	} {
		got, err := hookArgv(tc.in)
		if tc.err {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	h, ok, err := labelHook("c", map[string]string{ExecPostLabel: "x y"})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, Hook{Container: "c", Post: []string{"x", "y"}}, h)
	_, ok, err = labelHook("c", map[string]string{"other": "x"})
	require.NoError(t, err)
	require.False(t, ok)
}

func TestHookOutputKeepsTheEnd(t *testing.T) {
	var o hookOutput
	for range 100 {
		_, _ = o.Write([]byte("0123456789abcdefghijklmnopqrstuvwxyz\n"))
	}
	_, _ = o.Write([]byte("the end\n"))
	require.Len(t, o.String(), hookOutputMax)
	require.Contains(t, o.String(), "the end\n")
}

// hookCmd is the sleeper's hook command: append text to the volume's
// hooks.log and exit with code.
func hookCmd(code, text string) []string {
	return []string{"/sleeper", "hook", "/data/hooks.log", code, text}
}

func TestHooks(t *testing.T) {
	cli := dockerClient(t)
	buildSleeper(t, cli)
	r := newRepo(t)

	// setup: a with hooks by label (the post one in JSON form), b without.
	setup := func(t *testing.T) (vol, a, b string) {
		vol = newVolume(t, cli, nil)
		a = sleeper(t, cli, "a", true, map[string]string{
			ExecPreLabel:  "/sleeper hook /data/hooks.log 0 a-pre",
			ExecPostLabel: `["/sleeper", "hook", "/data/hooks.log", "0", "a post"]`,
		}, vol)
		b = sleeper(t, cli, "b", true, nil, vol)
		return vol, a, b
	}
	backup := func(t *testing.T, vol string, c Consistency) (*repo.Snapshot, error) {
		src, err := Open(t.Context(), cli, vol, Options{})
		require.NoError(t, err)
		return r.Backup(t.Context(), Consistent(src, cli, c, nil), repo.BackupOptions{NoParent: true})
	}

	t.Run("order", func(t *testing.T) {
		vol, a, b := setup(t)
		sn, err := backup(t, vol, Consistency{Stop: true,
			Hooks: []Hook{{Container: b, Pre: hookCmd("0", "b-pre"), Post: hookCmd("0", "b-post")}}})
		require.NoError(t, err)
		require.Equal(t, "a-pre\nb-pre\nb-post\na post\n", catFile(t, cli, a, "/data/hooks.log"))
		fsys, err := r.FS(t.Context(), sn.ID)
		require.NoError(t, err)
		data, err := fs.ReadFile(fsys, "hooks.log")
		require.NoError(t, err)
		require.Equal(t, "a-pre\nb-pre\n", string(data), "the volume as read")
		require.Equal(t, ctrRunning, ctrStateOf(t, cli, a))
		require.Equal(t, ctrRunning, ctrStateOf(t, cli, b))
	})

	t.Run("pre-hook fails", func(t *testing.T) {
		vol, a, b := setup(t)
		before, err := r.Snapshots(t.Context())
		require.NoError(t, err)
		_, err = backup(t, vol, Consistency{Stop: true,
			Hooks: []Hook{{Container: b, Pre: hookCmd("3", "b-pre"), Post: hookCmd("0", "b-post")}}})
		var he *HookError
		require.ErrorAs(t, err, &he)
		require.Equal(t, b, he.Container)
		require.Equal(t, "pre", he.Phase)
		require.Equal(t, 3, he.ExitCode)
		require.Contains(t, he.Output, "hook b-pre: exit 3")
		require.Contains(t, he.Output, "hook b-pre: on stderr")
		require.Contains(t, err.Error(), "hook b-pre: exit 3")
		after, err := r.Snapshots(t.Context())
		require.NoError(t, err)
		require.Equal(t, len(before), len(after), "no snapshot")
		// a's pre-hook ran, so its post-hook undid it; b's did not run.
		require.Equal(t, "a-pre\nb-pre\na post\n", catFile(t, cli, a, "/data/hooks.log"))
		require.Equal(t, ctrRunning, ctrStateOf(t, cli, a))
		require.Equal(t, ctrRunning, ctrStateOf(t, cli, b))
	})

	// Through Prepare and tidy, as repo.Repository.Backup calls them: the
	// post-hook's failure comes from tidy, after the containers run again.
	t.Run("post-hook fails", func(t *testing.T) {
		vol, a, b := setup(t)
		src, err := Open(t.Context(), cli, vol, Options{})
		require.NoError(t, err)
		cs := Consistent(src, cli, Consistency{Pause: true,
			Hooks: []Hook{{Container: b, Post: hookCmd("4", "b-post")}}}, nil)
		tidy, err := cs.(source.Preparer).Prepare(t.Context())
		require.NoError(t, err)
		require.Equal(t, ctrPaused, ctrStateOf(t, cli, a))
		require.NoError(t, cs.Walk(t.Context(), func(*source.Entry) error { return nil }))
		err = tidy(context.Background())
		var he *HookError
		require.ErrorAs(t, err, &he)
		require.Equal(t, "post", he.Phase)
		require.Equal(t, 4, he.ExitCode)
		require.Equal(t, "a-pre\nb-post\na post\n", catFile(t, cli, a, "/data/hooks.log"))
		require.Equal(t, ctrRunning, ctrStateOf(t, cli, a))
		require.Equal(t, ctrRunning, ctrStateOf(t, cli, b))
	})

	t.Run("timeout", func(t *testing.T) {
		_, _, b := setup(t)
		start := time.Now()
		_, err := Quiesce(t.Context(), cli, nil, Consistency{HookTimeout: 500 * time.Millisecond,
			Hooks: []Hook{{Container: b, Pre: []string{"/sleeper", "sleep", "30"}}}})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 20*time.Second)
	})

	t.Run("missing command", func(t *testing.T) {
		_, _, b := setup(t)
		_, err := Quiesce(t.Context(), cli, []string{b}, Consistency{
			Hooks: []Hook{{Container: b, Pre: []string{"/no/such/command"}}}})
		var he *HookError
		require.ErrorAs(t, err, &he)
		require.NotZero(t, he.ExitCode)
	})

	t.Run("missing container", func(t *testing.T) {
		_, err := Quiesce(t.Context(), cli, []string{"cairn-test-no-such-container"}, Consistency{Stop: true})
		require.ErrorContains(t, err, "cairn-test-no-such-container")
		require.False(t, errors.Is(err, context.DeadlineExceeded))
	})
}
