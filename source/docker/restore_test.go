package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
)

// restoreName returns a unique volume name that the test removes at its
// end, whether it was created or not.
func restoreName(t *testing.T, cli *client.Client) string {
	t.Helper()
	name := fmt.Sprintf("cairn-test-restore-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() {
		if err := removeVolume(cli, name); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove volume %s: %v", name, err)
		}
	})
	return name
}

// backupFilled fills a new volume and backs it up directly.
func backupFilled(t *testing.T, cli *client.Client, r *repo.Repository) *repo.Snapshot {
	t.Helper()
	vol := newVolume(t, cli, map[string]string{"cairn.restore-test": "yes"})
	fillVolume(t, cli, vol)
	src, err := Open(t.Context(), cli, vol, Options{Mode: ModeDirect})
	require.NoError(t, err)
	sn, err := r.Backup(t.Context(), src, repo.BackupOptions{NoParent: true})
	require.NoError(t, err)
	return sn
}

// restoreInto restores snapshot id into the volume name.
func restoreInto(ctx context.Context, cli *client.Client, r *repo.Repository, id repo.ID, name string, opts RestoreOptions) error {
	sn, err := r.LoadSnapshot(ctx, id)
	if err != nil {
		return err
	}
	info, err := VolumeFromDetails(sn.Source.Details)
	if err != nil {
		return err
	}
	return RestoreVolume(ctx, cli, name, opts, func(ctx context.Context, t source.Target) error {
		return r.Restore(ctx, id, t, repo.RestoreOptions{Exclude: info.ConfigExclude()})
	})
}

// backupTree backs up the volume name through a helper and returns its tree.
func backupTree(t *testing.T, cli *client.Client, r *repo.Repository, name string) map[string]node {
	t.Helper()
	src, err := Open(t.Context(), cli, name, Options{Mode: ModeHelper})
	require.NoError(t, err)
	sn, err := r.Backup(t.Context(), src, repo.BackupOptions{NoParent: true})
	require.NoError(t, err)
	return tree(t, r, sn.ID)
}

func TestRestoreNewVolume(t *testing.T) {
	cli := dockerClient(t)
	r := newRepo(t)
	sn := backupFilled(t, cli, r)
	want := tree(t, r, sn.ID)
	info, err := VolumeFromDetails(sn.Source.Details)
	require.NoError(t, err)

	for _, mode := range []Mode{ModeDirect, ModeHelper} {
		t.Run(mode.String(), func(t *testing.T) {
			name := restoreName(t, cli)
			start := time.Now()
			err := restoreInto(t.Context(), cli, r, sn.ID, name, RestoreOptions{
				Mode: mode, Create: true, Driver: info.Driver, Labels: info.Labels})
			require.NoError(t, err)
			t.Logf("%s: %v", mode, time.Since(start))
			require.Empty(t, helpers(t, cli, name), "helper container left")

			v, err := cli.VolumeInspect(t.Context(), name, client.VolumeInspectOptions{})
			require.NoError(t, err)
			require.Equal(t, info.Driver, v.Volume.Driver)
			require.Equal(t, info.Labels, v.Volume.Labels)

			got := backupTree(t, cli, r, name)
			require.Equal(t, want, got)
			// Times survive to the nanosecond, whatever the archive endpoint
			// gives back: look at the mountpoint itself.
			fsys, err := r.FS(t.Context(), sn.ID)
			require.NoError(t, err)
			if readable(cli, v.Volume.Mountpoint) != nil {
				return // a remote daemon
			}
			for _, p := range []string{"a.txt", "sub"} {
				fi, err := fs.Stat(fsys, p)
				require.NoError(t, err)
				onDisk, err := os.Lstat(filepath.Join(v.Volume.Mountpoint, p))
				require.NoError(t, err)
				require.True(t, fi.ModTime().Equal(onDisk.ModTime()), "%s: %v, restored %v", p, fi.ModTime(), onDisk.ModTime())
			}
			require.Equal(t, "a.txt", got["b-hardlink"].Hardlink)
			require.Equal(t, [2]uint32{1234, 5678}, [2]uint32{got["owned.txt"].UID, got["owned.txt"].GID})
		})
	}
}

func TestRestoreExistingVolume(t *testing.T) {
	cli := dockerClient(t)
	r := newRepo(t)
	sn := backupFilled(t, cli, r)
	want := tree(t, r, sn.ID)

	for _, mode := range []Mode{ModeDirect, ModeHelper} {
		t.Run(mode.String(), func(t *testing.T) {
			name := newVolume(t, cli, nil)
			// Something already there: the restore adds to it.
			err := RestoreVolume(t.Context(), cli, name, RestoreOptions{Mode: mode},
				func(ctx context.Context, tg source.Target) error {
					for _, e := range []*source.Entry{
						{Path: ".", Type: source.TypeDir, Perm: 0o755},
						{Path: "keep.txt", Type: source.TypeFile, Perm: 0o600, Size: 5},
					} {
						if err := tg.Put(ctx, e, strings.NewReader("keep\n")); err != nil {
							return err
						}
					}
					return tg.Close(ctx)
				})
			require.NoError(t, err)
			require.NoError(t, restoreInto(t.Context(), cli, r, sn.ID, name, RestoreOptions{Mode: mode}))
			require.Empty(t, helpers(t, cli, name), "helper container left")

			got := backupTree(t, cli, r, name)
			require.Equal(t, fs.FileMode(0o600), got["keep.txt"].Mode)
			delete(got, "keep.txt")
			delete(got, ".") // its mtime changed when keep.txt was made
			delete(want, ".")
			require.Equal(t, want, got)
		})
	}
}

func TestRestoreMissingVolume(t *testing.T) {
	cli := dockerClient(t)
	name := restoreName(t, cli)
	_, _, err := IntoVolume(t.Context(), cli, name, RestoreOptions{})
	require.ErrorIs(t, err, ErrNoVolume)
	require.ErrorContains(t, err, name)
	_, err = cli.VolumeInspect(t.Context(), name, client.VolumeInspectOptions{})
	require.True(t, cerrdefs.IsNotFound(err), "volume created without Create")

	existing := newVolume(t, cli, nil)
	_, _, err = IntoVolume(t.Context(), cli, existing, RestoreOptions{Create: true, Driver: "no-such-driver"})
	require.ErrorContains(t, err, "no-such-driver")
}

func TestRestoreHelperFailures(t *testing.T) {
	cli := dockerClient(t)
	r := newRepo(t)
	sn := backupFilled(t, cli, r)
	root := &source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o755}

	t.Run("put fails", func(t *testing.T) {
		name := newVolume(t, cli, nil)
		tg, tidy, err := IntoVolume(t.Context(), cli, name, RestoreOptions{Mode: ModeHelper})
		require.NoError(t, err)
		require.NoError(t, tg.Put(t.Context(), root, nil))
		require.Len(t, helpers(t, cli, name), 1)
		err = tg.Put(t.Context(), &source.Entry{Path: "../escape", Type: source.TypeFile}, nil)
		require.ErrorIs(t, err, source.ErrUnsafePath)
		require.Empty(t, helpers(t, cli, name), "helper left after a failed Put")
		require.ErrorIs(t, tg.Close(t.Context()), source.ErrUnsafePath, "error not sticky")
		require.NoError(t, tidy(t.Context()))
	})
	t.Run("restore fails outside the target", func(t *testing.T) {
		name := newVolume(t, cli, nil)
		boom := errors.New("boom")
		err := RestoreVolume(t.Context(), cli, name, RestoreOptions{Mode: ModeHelper},
			func(ctx context.Context, tg source.Target) error {
				if err := tg.Put(ctx, root, nil); err != nil {
					return err
				}
				require.Len(t, helpers(t, cli, name), 1)
				return boom
			})
		require.ErrorIs(t, err, boom)
		require.Empty(t, helpers(t, cli, name), "helper left after a failed restore")
	})
	t.Run("daemon refuses", func(t *testing.T) {
		name := newVolume(t, cli, nil)
		// A directory where the snapshot has a file: the daemon refuses.
		err := RestoreVolume(t.Context(), cli, name, RestoreOptions{Mode: ModeHelper},
			func(ctx context.Context, tg source.Target) error {
				for _, e := range []*source.Entry{root, {Path: "a.txt", Type: source.TypeDir, Perm: 0o755}} {
					if err := tg.Put(ctx, e, nil); err != nil {
						return err
					}
				}
				return tg.Close(ctx)
			})
		require.NoError(t, err)
		err = restoreInto(t.Context(), cli, r, sn.ID, name, RestoreOptions{Mode: ModeHelper})
		require.ErrorContains(t, err, name)
		require.ErrorContains(t, err, "upload")
		t.Log(err)
		require.Empty(t, helpers(t, cli, name), "helper left after the daemon refused")
	})
	t.Run("cancelled", func(t *testing.T) {
		name := newVolume(t, cli, nil)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		err := RestoreVolume(ctx, cli, name, RestoreOptions{Mode: ModeHelper},
			func(ctx context.Context, tg source.Target) error {
				return r.Restore(ctx, sn.ID, cancelAfter{tg, cancel, 3, new(int)}, repo.RestoreOptions{})
			})
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, helpers(t, cli, name), "helper left after cancellation")
	})
}

// cancelAfter cancels the restore once n entries were put.
type cancelAfter struct {
	source.Target
	cancel context.CancelFunc
	n      int
	seen   *int
}

func (c cancelAfter) Put(ctx context.Context, e *source.Entry, content io.Reader) error {
	if *c.seen++; *c.seen == c.n {
		c.cancel()
	}
	return c.Target.Put(ctx, e, content)
}

func TestVolumeFromDetails(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"recorded", `{"Name":"db","Driver":"local","Labels":{"a":"b"},"Mountpoint":"/x","Mode":"direct"}`, true},
		{"no driver", `{"Name":"db"}`, false},
		{"not json", `{`, false},
		{"empty", ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := VolumeFromDetails([]byte(tc.in))
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, VolumeInfo{Name: "db", Driver: "local", Labels: map[string]string{"a": "b"}, Mountpoint: "/x"}, v)
		})
	}
}

// TestRestoreStopsContainers: with Stop, the container using the volume
// is stopped while the restore writes and running again afterwards, after
// a failed restore too.
func TestRestoreStopsContainers(t *testing.T) {
	cli := dockerClient(t)
	buildSleeper(t, cli)
	r := newRepo(t)
	sn := backupFilled(t, cli, r)
	name := newVolume(t, cli, nil)
	id := sleeper(t, cli, "app", true, nil, name)
	idle := sleeper(t, cli, "idle", false, nil, name)

	var during ctrState
	err := RestoreVolume(t.Context(), cli, name, RestoreOptions{Stop: true, StopTimeout: time.Second},
		func(ctx context.Context, tg source.Target) error {
			during = ctrStateOf(t, cli, id)
			return r.Restore(ctx, sn.ID, tg, repo.RestoreOptions{})
		})
	require.NoError(t, err)
	require.Equal(t, ctrStopped, during)
	require.Equal(t, ctrRunning, ctrStateOf(t, cli, id))
	require.Equal(t, ctrStopped, ctrStateOf(t, cli, idle), "not running before: not started")

	errBroken := errors.New("broken restore")
	err = RestoreVolume(t.Context(), cli, name, RestoreOptions{Stop: true, StopTimeout: time.Second},
		func(context.Context, source.Target) error { return errBroken })
	require.ErrorIs(t, err, errBroken)
	require.Equal(t, ctrRunning, ctrStateOf(t, cli, id))
}
