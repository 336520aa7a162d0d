package docker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
)

const dumperImage = "cairn-test-dumper:latest"

// dumperData is testdata/dumper's Data: what `/dumper emit n` writes.
func dumperData(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{'c', 'a', 'i', 'r', 'n'}).Read(b)
	return b
}

// buildDumper compiles testdata/dumper into a FROM scratch image, removed
// when the test ends.
func buildDumper(t *testing.T, cli *client.Client) {
	t.Helper()
	t.Cleanup(func() {
		_, err := cli.ImageRemove(context.Background(), dumperImage, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		require.NoError(t, err)
	})
	require.NoError(t, buildScratchImage(t.Context(), cli, "dumper", dumperImage))
}

// runDumper creates a container of the dumper image, starts it unless
// start is false, and removes it when the test ends. It returns its name.
func runDumper(t *testing.T, cli *client.Client, start bool) string {
	t.Helper()
	ctx := t.Context()
	name := fmt.Sprintf("cairn-test-dumper-%d-%d", os.Getpid(), time.Now().UnixNano())
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       name,
		Config:     &container.Config{Image: dumperImage, Labels: map[string]string{testLabel: "true"}},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
		require.NoError(t, err)
	})
	if start {
		_, err = cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{})
		require.NoError(t, err)
	}
	return name
}
