package docker

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	volumetypes "github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/source"
)

// readJSON decodes the file p of snapshot fsys into v.
func readJSON(t *testing.T, fsys fs.FS, p string, v any) {
	t.Helper()
	data, err := fs.ReadFile(fsys, p)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, v), p)
	fi, err := fs.Stat(fsys, p)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), fi.Mode(), "%s: the owner's only", p)
}

func TestConfigStored(t *testing.T) {
	cli := dockerClient(t)
	buildSleeper(t, cli)
	vol := newVolume(t, cli, nil)
	fillVolume(t, cli, vol)
	running := sleeper(t, cli, "running", true, map[string]string{"cairn.test-role": "db"}, vol)
	sleeper(t, cli, "stopped", false, nil, vol)
	r := newRepo(t)

	for _, mode := range []Mode{ModeDirect, ModeHelper} {
		t.Run(mode.String(), func(t *testing.T) {
			src, err := Open(t.Context(), cli, vol, Options{Mode: mode})
			require.NoError(t, err)
			sn, err := r.Backup(t.Context(), src, repo.BackupOptions{NoParent: true})
			require.NoError(t, err)
			info, err := VolumeFromDetails(sn.Source.Details)
			require.NoError(t, err)
			require.Equal(t, ConfigDir, info.ConfigDir)
			require.Len(t, info.Containers, 2)
			fsys, err := r.FS(t.Context(), sn.ID)
			require.NoError(t, err)

			var v volumetypes.Volume
			readJSON(t, fsys, ".cairn/volume.json", &v)
			require.Equal(t, vol, v.Name)
			require.Equal(t, "true", v.Labels[testLabel])

			imageID := ""
			for _, c := range info.Containers {
				var got container.InspectResponse
				readJSON(t, fsys, ".cairn/containers/"+c.Name+".json", &got)
				require.Equal(t, c.ID, got.ID)
				require.Equal(t, sleeperImage, got.Config.Image, "the image reference")
				require.Equal(t, c.ImageID, got.Image, "the image ID")
				require.Equal(t, c.ID == running, got.State.Running)
				require.Len(t, got.Mounts, 1)
				require.Equal(t, vol, got.Mounts[0].Name)
				imageID = got.Image
			}
			var img image.InspectResponse
			readJSON(t, fsys, ".cairn/images/"+strings.ReplaceAll(imageID, ":", "-")+".json", &img)
			require.Equal(t, imageID, img.ID)
			require.Contains(t, img.RepoTags, sleeperImage)
			entries, err := fs.ReadDir(fsys, ".cairn/images")
			require.NoError(t, err)
			require.Len(t, entries, 1, "one image for both containers, not saved")
		})
	}
}

func TestConfigIncremental(t *testing.T) {
	cli := dockerClient(t)
	buildSleeper(t, cli)
	vol := newVolume(t, cli, nil)
	fillVolume(t, cli, vol)
	id := sleeper(t, cli, "db", true, nil, vol)
	r := newRepo(t)
	backup := func() *repo.Snapshot {
		src, err := Open(t.Context(), cli, vol, Options{Mode: ModeDirect})
		require.NoError(t, err)
		sn, err := r.Backup(t.Context(), src, repo.BackupOptions{})
		require.NoError(t, err)
		return sn
	}
	first := backup()
	second := backup()
	require.Zero(t, second.Summary.BytesRead, "nothing changed: nothing read")
	require.Equal(t, first.Tree, second.Tree)

	// A restart changes the container's inspect JSON (its start time),
	// perhaps not its length: it is read again, and nothing else is.
	_, err := cli.ContainerRestart(t.Context(), id, client.ContainerRestartOptions{})
	require.NoError(t, err)
	third := backup()
	require.EqualValues(t, 1, third.Summary.FilesChanged)
	require.NotZero(t, third.Summary.BytesRead)
	fsys, err := r.FS(t.Context(), third.ID)
	require.NoError(t, err)
	info, err := cli.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	require.NoError(t, err)
	var got container.InspectResponse
	readJSON(t, fsys, ".cairn/containers/"+strings.TrimPrefix(info.Container.Name, "/")+".json", &got)
	require.Equal(t, info.Container.State.StartedAt, got.State.StartedAt)
}

// TestConfigNameTaken backs up a volume that has a .cairn of its own: the
// configuration goes beside it, and a restore brings back the volume's
// .cairn and not the configuration.
func TestConfigNameTaken(t *testing.T) {
	cli := dockerClient(t)
	vol := newVolume(t, cli, nil)
	fillVolume(t, cli, vol)
	r := newRepo(t)
	err := RestoreVolume(t.Context(), cli, vol, RestoreOptions{}, func(ctx context.Context, tg source.Target) error {
		for _, e := range []*source.Entry{
			{Path: ".", Type: source.TypeDir, Perm: 0o755},
			{Path: ".cairn", Type: source.TypeFile, Perm: 0o644, Size: 5},
		} {
			if err := tg.Put(ctx, e, strings.NewReader("mine\n")); err != nil {
				return err
			}
		}
		return tg.Close(ctx)
	})
	require.NoError(t, err)

	for _, mode := range []Mode{ModeDirect, ModeHelper} {
		t.Run(mode.String(), func(t *testing.T) {
			src, err := Open(t.Context(), cli, vol, Options{Mode: mode})
			require.NoError(t, err)
			sn, err := r.Backup(t.Context(), src, repo.BackupOptions{NoParent: true})
			require.NoError(t, err)
			info, err := VolumeFromDetails(sn.Source.Details)
			require.NoError(t, err)
			require.Equal(t, ".cairn.1", info.ConfigDir)
			fsys, err := r.FS(t.Context(), sn.ID)
			require.NoError(t, err)
			mine, err := fs.ReadFile(fsys, ".cairn")
			require.NoError(t, err)
			require.Equal(t, "mine\n", string(mine))
			_, err = fs.Stat(fsys, ".cairn.1/volume.json")
			require.NoError(t, err)

			name := restoreName(t, cli)
			require.NoError(t, restoreInto(t.Context(), cli, r, sn.ID, name, RestoreOptions{Create: true, Mode: mode}))
			got := backupTree(t, cli, r, name)
			require.Contains(t, got, ".cairn")
			require.NotContains(t, got, ".cairn.1")
			require.Equal(t, tree(t, r, sn.ID), got)
		})
	}
}

func TestConfigOff(t *testing.T) {
	cli := dockerClient(t)
	vol := newVolume(t, cli, nil)
	fillVolume(t, cli, vol)
	r := newRepo(t)
	src, err := Open(t.Context(), cli, vol, Options{NoConfig: true})
	require.NoError(t, err)
	sn, err := r.Backup(t.Context(), src, repo.BackupOptions{})
	require.NoError(t, err)
	info, err := VolumeFromDetails(sn.Source.Details)
	require.NoError(t, err)
	require.Empty(t, info.ConfigDir)
	require.Nil(t, info.ConfigExclude())
	fsys, err := r.FS(t.Context(), sn.ID)
	require.NoError(t, err)
	_, err = fs.Stat(fsys, ConfigDir)
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// TestConfigImages stores the image with the volume, twice: the second
// time its content is read again and nothing new is stored.
func TestConfigImages(t *testing.T) {
	cli := dockerClient(t)
	buildSleeper(t, cli)
	vol := newVolume(t, cli, nil)
	fillVolume(t, cli, vol)
	id := sleeper(t, cli, "app", false, nil, vol)
	ctr, err := cli.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	require.NoError(t, err)
	name := ".cairn/images/" + strings.ReplaceAll(ctr.Container.Image, ":", "-") + ".tar"
	r := newRepo(t)

	var sizes []uint64
	for _, mode := range []Mode{ModeDirect, ModeHelper} {
		src, err := Open(t.Context(), cli, vol, Options{Mode: mode, Images: true})
		require.NoError(t, err)
		sn, err := r.Backup(t.Context(), src, repo.BackupOptions{NoParent: true})
		require.NoError(t, err, mode)
		sizes = append(sizes, sn.Summary.BytesAdded)
		fsys, err := r.FS(t.Context(), sn.ID)
		require.NoError(t, err)
		f, err := fsys.Open(name)
		require.NoError(t, err)
		names := tarNames(t, f)
		require.NoError(t, f.Close())
		require.Contains(t, names, "manifest.json", "a docker save stream")
	}
	t.Logf("bytes added: first %d, second %d", sizes[0], sizes[1])
	require.Greater(t, sizes[0], uint64(1<<20), "the image (a Go binary) is stored")
	require.Less(t, sizes[1], uint64(64<<10), "and stored once")
}

func tarNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		require.NoError(t, err)
		names = append(names, h.Name)
	}
}

// TestIdentify: an inspect JSON that changed keeping its length (a new
// start time) must not pass for unchanged, so its time and inode differ.
func TestIdentify(t *testing.T) {
	c := &volumeConfig{at: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var a, b, again source.Entry
	c.identify(&a, []byte(`{"StartedAt":"2026-11-21T10:00:00.1Z"}`))
	c.identify(&b, []byte(`{"StartedAt":"2026-11-21T10:00:00.2Z"}`))
	c.identify(&again, []byte(`{"StartedAt":"2026-11-21T10:00:00.1Z"}`))
	require.Equal(t, a.Size, b.Size)
	require.NotEqual(t, a.ModTime, b.ModTime)
	require.NotEqual(t, a.Inode, b.Inode)
	require.Equal(t, a.ModTime, again.ModTime)
	require.Equal(t, a.Inode, again.Inode)
	require.Equal(t, c.at, a.ModTime.Truncate(time.Second), "the volume's creation, to the second")
	rc, err := a.Open()
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, a.Size, int64(len(data)))
}
