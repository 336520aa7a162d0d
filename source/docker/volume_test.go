package docker

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
	"github.com/stretchr/testify/require"
)

func newRepo(t *testing.T) *repo.Repository {
	t.Helper()
	r, err := repo.Init(context.Background(), mem.New(), "pw", repo.InitOptions{
		Key: repo.KeyOptions{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}}})
	require.NoError(t, err)
	return r
}

func TestClientNegotiates(t *testing.T) {
	cli := dockerClient(t)
	ping, err := cli.Ping(t.Context(), client.PingOptions{NegotiateAPIVersion: true})
	require.NoError(t, err)
	t.Logf("daemon API %s, client uses %s", ping.APIVersion, cli.ClientVersion())
	require.False(t, versions.GreaterThan(cli.ClientVersion(), ping.APIVersion))
}

// node is what the test compares of one file in a snapshot.
type node struct {
	Mode           fs.FileMode
	UID, GID       uint32
	Size           int64
	MTime          int64 // seconds: the archive endpoint keeps no more
	Link, Hardlink string
	Sum            [32]byte
}

// tree returns the volume's files in snapshot id, without the ConfigDir.
func tree(t *testing.T, r *repo.Repository, id repo.ID) map[string]node {
	t.Helper()
	sn, err := r.LoadSnapshot(t.Context(), id)
	require.NoError(t, err)
	info, err := VolumeFromDetails(sn.Source.Details)
	require.NoError(t, err)
	fsys, err := r.FS(t.Context(), id)
	require.NoError(t, err)
	out := map[string]node{}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if p == info.ConfigDir {
			return fs.SkipDir
		}
		fi, err := d.Info()
		require.NoError(t, err)
		n := fi.Sys().(*repo.Node)
		v := node{Mode: fi.Mode(), UID: n.UID, GID: n.GID, MTime: n.ModTime.Unix(),
			Link: n.LinkTarget, Hardlink: n.Hardlink}
		if fi.Mode().IsRegular() {
			data, err := fs.ReadFile(fsys, p)
			require.NoError(t, err)
			v.Size, v.Sum = int64(len(data)), sha256.Sum256(data)
		}
		out[p] = v
		return nil
	})
	require.NoError(t, err)
	return out
}

func TestBackupBothModes(t *testing.T) {
	cli := dockerClient(t)
	vol := newVolume(t, cli, nil)
	fillVolume(t, cli, vol)
	r := newRepo(t)

	trees := map[Mode]map[string]node{}
	for _, mode := range []Mode{ModeDirect, ModeHelper} {
		src, err := Open(t.Context(), cli, vol, Options{Mode: mode})
		require.NoError(t, err)
		_, seq := src.(source.Sequential)
		require.Equal(t, mode == ModeHelper, seq)
		start := time.Now()
		sn, err := r.Backup(t.Context(), src, repo.BackupOptions{NoParent: true})
		require.NoError(t, err, mode)
		t.Logf("%s: %v", mode, time.Since(start))
		require.Equal(t, "docker-volume", sn.Source.Kind)
		require.Equal(t, "volume "+vol, sn.Source.Description)
		require.Equal(t, []string{vol}, sn.Paths)
		var d details
		require.NoError(t, json.Unmarshal(sn.Source.Details, &d))
		require.Equal(t, vol, d.Name)
		require.Equal(t, "local", d.Driver)
		require.Equal(t, "true", d.Labels[testLabel])
		require.NotEmpty(t, d.Mountpoint)
		require.Equal(t, mode.String(), d.Mode)
		trees[mode] = tree(t, r, sn.ID)
		require.Empty(t, helpers(t, cli, vol), "helper container left after %s", mode)
	}
	img, err := cli.ImageInspect(t.Context(), DefaultHelperImage)
	require.NoError(t, err)
	require.Equal(t, "true", img.Config.Labels[HelperLabel])
	direct, helper := trees[ModeDirect], trees[ModeHelper]
	require.Equal(t, direct, helper)

	require.Equal(t, fs.FileMode(0o640), direct["a.txt"].Mode)
	require.Equal(t, fs.FileMode(0o755), direct["run.sh"].Mode)
	require.Equal(t, 0o755|fs.ModeSetuid, direct["suid"].Mode)
	require.Equal(t, fs.ModeDir|0o750, direct["sub"].Mode)
	require.Equal(t, [2]uint32{1234, 5678}, [2]uint32{direct["owned.txt"].UID, direct["owned.txt"].GID})
	require.Equal(t, "a.txt", direct["b-hardlink"].Hardlink)
	require.Equal(t, direct["a.txt"].Sum, direct["b-hardlink"].Sum)
	require.Equal(t, fs.ModeSymlink|0o777, direct["c-symlink"].Mode)
	require.Equal(t, "sub/nested.txt", direct["c-symlink"].Link)
	require.EqualValues(t, 1<<20, direct["big.bin"].Size)

	// Incremental: a direct backup after a direct one reads nothing again.
	src, err := Open(t.Context(), cli, vol, Options{Mode: ModeDirect})
	require.NoError(t, err)
	first, err := r.Backup(t.Context(), src, repo.BackupOptions{NoParent: true})
	require.NoError(t, err)
	src, err = Open(t.Context(), cli, vol, Options{Mode: ModeDirect})
	require.NoError(t, err)
	second, err := r.Backup(t.Context(), src, repo.BackupOptions{})
	require.NoError(t, err)
	require.Equal(t, first.ID, *second.Parent)
	require.Zero(t, second.Summary.BytesRead)
	require.Zero(t, second.Summary.FilesNew+second.Summary.FilesChanged)
	require.Equal(t, first.Tree, second.Tree)
}
