package docker

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
)

// Test objects carry testLabel so a crashed run's leftovers can be found.
const (
	testLabel   = "cairn.test"
	writerImage = "cairn-test-writer:latest"
)

var (
	writerOnce         sync.Once
	writerErr          error
	writerBuilt        bool
	helperImageExisted = true
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cli, err := NewClient(); err == nil {
		ctx := context.Background()
		if writerBuilt {
			_, _ = cli.ImageRemove(ctx, writerImage, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
		if !helperImageExisted {
			_, _ = cli.ImageRemove(ctx, DefaultHelperImage, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
		cli.Close()
	}
	os.Exit(code)
}

// dockerClient returns a client of a reachable daemon, or skips the test
// (fails it under CAIRN_REQUIRE_INTEGRATION=1).
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	cli, err := NewClient()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
		if err == nil {
			_, ierr := cli.ImageInspect(ctx, DefaultHelperImage)
			if cerrdefs.IsNotFound(ierr) {
				helperImageExisted = false
			}
		}
	}
	if err != nil {
		msg := fmt.Sprintf("no Docker daemon reachable (%v): install Docker and start it, or set DOCKER_HOST to a daemon", err)
		if os.Getenv("CAIRN_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg + " (CAIRN_REQUIRE_INTEGRATION=1)")
		}
		t.Skip(msg + "; CAIRN_REQUIRE_INTEGRATION=1 makes this a failure")
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// buildWriter compiles testdata/writer and builds it into a FROM scratch
// image, once per test binary.
func buildWriter(t *testing.T, cli *client.Client) {
	t.Helper()
	writerOnce.Do(func() { writerErr = buildWriterImage(t.Context(), cli) })
	require.NoError(t, writerErr)
}

func buildWriterImage(ctx context.Context, cli *client.Client) error {
	writerBuilt = true // removed in TestMain, even if the build fails half-way
	return buildScratchImage(ctx, cli, "writer", writerImage)
}

// newVolume creates a volume with a unique name, labelled testLabel and
// labels, removed when the test ends.
func newVolume(t *testing.T, cli *client.Client, labels map[string]string) string {
	t.Helper()
	name := fmt.Sprintf("cairn-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	l := map[string]string{testLabel: "true"}
	for k, v := range labels {
		l[k] = v
	}
	_, err := cli.VolumeCreate(t.Context(), client.VolumeCreateOptions{Name: name, Labels: l})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := removeVolume(cli, name); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove volume %s: %v", name, err)
		}
	})
	return name
}

func removeVolume(cli *client.Client, name string) error {
	_, err := cli.VolumeRemove(context.Background(), name, client.VolumeRemoveOptions{Force: true})
	return err
}

// fillVolume runs the writer image with vol at /data, waits for exit 0
// and removes the container.
func fillVolume(t *testing.T, cli *client.Client, vol string) {
	t.Helper()
	buildWriter(t, cli)
	ctx := t.Context()
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: writerImage, Labels: map[string]string{testLabel: "true"}},
		HostConfig: &container.HostConfig{
			NetworkMode: "none",
			Mounts:      []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/data"}},
		},
	})
	require.NoError(t, err)
	defer func() {
		_, err := cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
		require.NoError(t, err)
	}()
	_, err = cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{})
	require.NoError(t, err)
	wait := cli.ContainerWait(ctx, res.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case r := <-wait.Result:
		require.Nil(t, r.Error)
		require.Zero(t, r.StatusCode, "writer exit status")
	case err := <-wait.Error:
		require.NoError(t, err)
	}
}

// helpers lists the helper containers of vol.
func helpers(t *testing.T, cli *client.Client, vol string) []container.Summary {
	t.Helper()
	f := client.Filters{}
	f.Add("label", HelperLabel+"=true", VolumeLabel+"="+vol)
	res, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	require.NoError(t, err)
	return res.Items
}
