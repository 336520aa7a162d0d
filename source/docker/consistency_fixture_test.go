package docker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/source"
)

// sleeperImage is testdata/sleeper in a FROM scratch image: a container
// that runs until stopped, and the hook command. Its tag is new for each
// test, so test binaries run at once do not remove each other's.
var sleeperImage string

// buildSleeper builds a sleeperImage, removed when the test ends.
func buildSleeper(t *testing.T, cli *client.Client) {
	t.Helper()
	sleeperImage = fmt.Sprintf("cairn-test-sleeper:%d-%d", os.Getpid(), time.Now().UnixNano())
	image := sleeperImage
	t.Cleanup(func() {
		_, err := cli.ImageRemove(context.Background(), image, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		require.NoError(t, err)
	})
	require.NoError(t, buildScratchImage(t.Context(), cli, "sleeper", sleeperImage))
}

// sleeper creates a container of sleeperImage with the volumes at /data,
// /data2, …, starts it if start, and removes it when the test ends.
func sleeper(t *testing.T, cli *client.Client, name string, start bool, labels map[string]string, vols ...string) string {
	t.Helper()
	l := map[string]string{testLabel: "true"}
	for k, v := range labels {
		l[k] = v
	}
	var mounts []mount.Mount
	for i, v := range vols {
		target := "/data"
		if i > 0 {
			target = fmt.Sprintf("/data%d", i+1)
		}
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: v, Target: target})
	}
	res, err := cli.ContainerCreate(t.Context(), client.ContainerCreateOptions{
		Name:       fmt.Sprintf("cairn-test-%d-%d-%s", os.Getpid(), time.Now().UnixNano(), name),
		Config:     &container.Config{Image: sleeperImage, Labels: l},
		HostConfig: &container.HostConfig{NetworkMode: "none", Mounts: mounts},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
		require.NoError(t, err)
	})
	if start {
		_, err = cli.ContainerStart(t.Context(), res.ID, client.ContainerStartOptions{})
		require.NoError(t, err)
	}
	return res.ID
}

// state is what the tests check of a container.
type ctrState struct{ Running, Paused bool }

var (
	ctrRunning = ctrState{Running: true}
	ctrStopped = ctrState{}
	ctrPaused  = ctrState{Running: true, Paused: true}
)

func ctrStateOf(t *testing.T, cli *client.Client, id string) ctrState {
	t.Helper()
	res, err := cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	require.NoError(t, err)
	return ctrState{Running: res.Container.State.Running, Paused: res.Container.State.Paused}
}

// catFile reads a file inside a running sleeper container, by exec.
func catFile(t *testing.T, cli *client.Client, id, path string) string {
	t.Helper()
	ctx := t.Context()
	cr, err := cli.ExecCreate(ctx, id, client.ExecCreateOptions{
		AttachStdout: true, AttachStderr: true, Cmd: []string{"/sleeper", "cat", path}})
	require.NoError(t, err)
	att, err := cli.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	require.NoError(t, err)
	defer att.Close()
	var stdout, stderr bytes.Buffer
	_, err = stdcopy.StdCopy(&stdout, &stderr, att.Reader)
	require.NoError(t, err)
	require.Empty(t, stderr.String())
	return stdout.String()
}

// probe is a source that calls walk before walking the wrapped one, to
// look at the containers during the backup or to inject failures.
type walkProbe struct {
	*DirectVolume
	walk func(ctx context.Context) error
}

func (p *walkProbe) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	if err := p.walk(ctx); err != nil {
		return err
	}
	return p.DirectVolume.Walk(ctx, fn)
}
