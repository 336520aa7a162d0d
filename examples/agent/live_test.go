package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/docker"
	sfs "github.com/cairnbackup/cairn/source/fs"
)

// liveDaemon returns a client of the Docker daemon, or skips the test
// when none answers (fails it under CAIRN_REQUIRE_INTEGRATION=1).
func liveDaemon(t *testing.T) *client.Client {
	t.Helper()
	cli, err := docker.NewClient()
	if err != nil {
		liveUnavailable(t, err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		liveUnavailable(t, err)
	}
	return cli
}

func liveUnavailable(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CAIRN_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf("no Docker daemon (CAIRN_REQUIRE_INTEGRATION=1): %v", err)
	}
	t.Skipf("no Docker daemon (CAIRN_REQUIRE_INTEGRATION=1 makes this a failure): %v", err)
}

// liveFiles are what the test volume holds.
var liveFiles = map[string]string{"a.txt": "alpha\n", "dir/b.txt": "beta\n", "dir/sub/c.bin": strings.Repeat("c", 10000)}

// liveVolume creates a volume with liveFiles and labels, filled by a
// restore from an in-memory repository (direct or through a helper
// container, whichever the daemon allows), and removes it when the test
// ends.
func liveVolume(t *testing.T, cli *client.Client, name string, labels map[string]string) {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	for p, content := range liveFiles {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644))
	}
	seed, err := repo.Init(ctx, mem.New(), testPassword, repo.InitOptions{})
	require.NoError(t, err)
	defer seed.Close()
	sn, err := seed.Backup(ctx, sfs.Dir(dir, sfs.Options{}), repo.BackupOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true}); err != nil {
			t.Logf("removing volume %s: %v", name, err)
		}
	})
	err = docker.RestoreVolume(ctx, cli, name, docker.RestoreOptions{Create: true, Labels: labels},
		func(ctx context.Context, tg source.Target) error {
			return seed.Restore(ctx, sn.ID, tg, repo.RestoreOptions{})
		})
	require.NoError(t, err)
}

// onlyNamed shows the agent only the objects whose names start with
// prefix, so that it leaves alone whatever else the daemon runs.
type onlyNamed struct {
	Discoverer
	prefix string
}

func (o onlyNamed) List(ctx context.Context) ([]Object, error) {
	objs, err := o.Discoverer.List(ctx)
	return slices.DeleteFunc(objs, func(obj Object) bool { return !strings.HasPrefix(obj.Name, o.prefix) }), err
}

// liveAgent is an agent running in this process against the daemon and
// a new local repository.
type liveAgent struct {
	*Agent
	runner *cairnRunner
	logs   *syncBuffer
	stop   func() // ends the agent and waits for it
}

// startLiveAgent runs an agent that sees only the objects named with
// prefix, with args added to its flags.
func startLiveAgent(t *testing.T, cli *client.Client, prefix string, args ...string) *liveAgent {
	t.Helper()
	args = append([]string{"--repo", newTestRepo(t), "--host", "live-test", "--jitter", "0s",
		"--default-schedule", "@every 1h", "--prune-schedule", "off", "--drill-schedule", "off"}, args...)
	cfg, err := ParseConfig(args, envOf(map[string]string{"CAIRN_PASSWORD": testPassword}), io.Discard)
	require.NoError(t, err)
	la := &liveAgent{logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(la.logs, nil))
	la.runner = newCairnRunner(cfg, cli, log)
	t.Cleanup(func() { _ = la.runner.repo.close() })
	la.Agent = newAgentFromConfig(cfg, la.runner, onlyNamed{&dockerDiscoverer{cli: cli}, prefix}, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); la.Run(ctx) }()
	la.stop = func() { cancel(); <-done }
	t.Cleanup(la.stop)
	return la
}

// snapshotFiles checks that the newest snapshot tagged for target holds
// liveFiles, and returns how many snapshots the target has.
func (la *liveAgent) snapshotFiles(t *testing.T, target string) int {
	t.Helper()
	ctx := context.Background()
	r, snaps, err := la.runner.snapshotsOf(ctx, &Target{ID: target})
	require.NoError(t, err)
	require.NotEmpty(t, snaps, "no snapshot of %s", target)
	newest := snaps[len(snaps)-1]
	require.Equal(t, []string{TagKey + "=" + target}, newest.Tags)
	fsys, err := r.FS(ctx, newest.ID)
	require.NoError(t, err)
	for p, content := range liveFiles {
		got, err := fs.ReadFile(fsys, p)
		require.NoError(t, err, p)
		require.Equal(t, content, string(got), p)
	}
	return len(snaps)
}

func livePrefix() string {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	return "cairn-agent-live-" + hex.EncodeToString(suffix)
}

// TestLiveAgent runs the agent in this process against the real Docker
// daemon and a local repository: a labelled volume is backed up on its
// schedule, forgotten by its policy and drilled, the metrics say so, and
// the snapshot holds the volume's files.
func TestLiveAgent(t *testing.T) {
	cli := liveDaemon(t)
	prefix := livePrefix()
	name := prefix + "-data"
	liveVolume(t, cli, name, map[string]string{"cairn.backup": "true", "cairn.schedule": "@every 2s", "cairn.keep-last": "2"})
	liveVolume(t, cli, prefix+"-bad", map[string]string{"cairn.backup": "true", "cairn.keep-last": "many"})
	la := startLiveAgent(t, cli, prefix, "--drill-schedule", "@every 3s", "--drill-sample", "100")

	id := "volume/" + name
	m := la.metrics
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(m.runs.WithLabelValues(id, resultSuccess)) >= 2 &&
			testutil.ToFloat64(m.drillSuccess.WithLabelValues(id)) == 1
	}, 40*time.Second, 100*time.Millisecond, "logs:\n%s", la.logs)
	require.Equal(t, 1.0, testutil.ToFloat64(m.configError.WithLabelValues("volume/"+prefix+"-bad")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.targets))
	require.GreaterOrEqual(t, testutil.ToFloat64(m.lastFiles.WithLabelValues(id)), float64(len(liveFiles)))
	require.Positive(t, testutil.ToFloat64(m.repoSize))
	require.NoError(t, la.health.Err())
	la.stop()
	n := la.snapshotFiles(t, id)
	require.LessOrEqual(t, n, 3, "keep-last 2, plus at most one taken after the last forget")
}

// TestLiveAgentContainers backs up a container's volume (the container
// created, never started, from an empty image) and fails a dump in a
// container that does not run, which the webhook hears of.
func TestLiveAgentContainers(t *testing.T) {
	cli := liveDaemon(t)
	prefix := livePrefix()
	image := liveEmptyImage(t, cli, prefix+"-img:latest")
	liveVolume(t, cli, prefix+"-vol", nil)
	liveContainer(t, cli, image, prefix+"-app", map[string]string{"cairn.backup": "true", "cairn.schedule": "@every 2s",
		// Not true: a stopping backup also stops every running container
		// labelled so on the daemon, other tests' too.
		"cairn.stop-during-backup": "false"}, prefix+"-vol")
	liveContainer(t, cli, image, prefix+"-db", map[string]string{"cairn.backup": "true", "cairn.schedule": "@every 2s",
		"cairn.dump": `["pg_dumpall", "-U", "postgres"]`})
	events := make(chan Event, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev Event
		if json.NewDecoder(r.Body).Decode(&ev) == nil {
			events <- ev
		}
	}))
	defer hook.Close()
	la := startLiveAgent(t, cli, prefix, "--webhook", hook.URL)

	app, db := "container/"+prefix+"-app", "dump/"+prefix+"-db"
	m := la.metrics
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(m.runs.WithLabelValues(app, resultSuccess)) >= 1 &&
			testutil.ToFloat64(m.runs.WithLabelValues(db, resultFailure)) >= 1
	}, 40*time.Second, 100*time.Millisecond, "logs:\n%s", la.logs)
	require.Equal(t, 2.0, testutil.ToFloat64(m.targets))
	ev := <-events
	require.Equal(t, db, ev.Target)
	require.Equal(t, resultFailure, ev.Status)
	require.Contains(t, ev.Error, "not running")

	// A volume made now is found through Docker's events (--resync is 5m).
	late := prefix + "-late"
	liveVolume(t, cli, late, map[string]string{"cairn.backup": "true", "cairn.schedule": "@every 1s"})
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(m.runs.WithLabelValues("volume/"+late, resultSuccess)) >= 1
	}, 20*time.Second, 100*time.Millisecond, "logs:\n%s", la.logs)
	la.stop()
	la.snapshotFiles(t, app)
	la.snapshotFiles(t, "volume/"+late)
}

// liveEmptyImage imports an empty image as ref and removes it when the
// test ends.
func liveEmptyImage(t *testing.T, cli *client.Client, ref string) string {
	t.Helper()
	res, err := cli.ImageImport(t.Context(), client.ImageImportSource{Source: bytes.NewReader(make([]byte, 1024)), SourceName: "-"},
		ref, client.ImageImportOptions{})
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, res)
	require.NoError(t, errors.Join(err, res.Close()))
	t.Cleanup(func() {
		if _, err := cli.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true}); err != nil {
			t.Logf("removing image %s: %v", ref, err)
		}
	})
	return ref
}

// liveContainer creates (and does not start) a container with labels and
// volumes mounted, and removes it when the test ends.
func liveContainer(t *testing.T, cli *client.Client, image, name string, labels map[string]string, volumes ...string) {
	t.Helper()
	hc := &container.HostConfig{}
	for i, v := range volumes {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: v, Target: fmt.Sprintf("/v%d", i)})
	}
	_, err := cli.ContainerCreate(t.Context(), client.ContainerCreateOptions{Name: name, HostConfig: hc,
		Config: &container.Config{Image: image, Cmd: []string{"/none"}, Labels: labels}})
	require.NoError(t, err)
	// Registered after the volumes' cleanup, so it runs before it.
	t.Cleanup(func() {
		if _, err := cli.ContainerRemove(context.Background(), name, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Logf("removing container %s: %v", name, err)
		}
	})
}
