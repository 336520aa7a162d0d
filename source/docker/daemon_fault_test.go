package docker

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/repo"
)

// faultyDaemon is a unix socket in front of the real daemon's that
// forwards everything, except that once a response on one connection
// passes limit bytes it cuts that connection, or with stall stops
// passing the response on (the daemon stops answering) until the client
// hangs up. Other connections are not touched.
type faultyDaemon struct {
	sock  string
	limit int64
	stall bool
	hits  atomic.Int32 // connections cut or stalled
	done  chan struct{}
}

// newFaultyDaemon starts the socket and returns a client that talks
// through it.
func newFaultyDaemon(t *testing.T, limit int64, stall bool) (*faultyDaemon, *client.Client) {
	t.Helper()
	dockerClient(t) // skips without a daemon
	upstream := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		p, ok := strings.CutPrefix(h, "unix://")
		if !ok {
			t.Skipf("DOCKER_HOST %s is not a unix socket: the fault tests sit in front of one", h)
		}
		upstream = p
	}
	dir, err := os.MkdirTemp("", "cairn-fd") // short: unix socket paths are limited
	require.NoError(t, err)
	d := &faultyDaemon{sock: filepath.Join(dir, "docker.sock"), limit: limit, stall: stall, done: make(chan struct{})}
	l, err := net.Listen("unix", d.sock)
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(d.done)
		l.Close()
		wg.Wait()
		os.RemoveAll(dir)
	})
	wg.Go(func() {
		for {
			down, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { d.serve(down, upstream) })
		}
	})
	cli, err := client.New(client.WithHost("unix://"+d.sock), client.WithAPIVersionNegotiation())
	require.NoError(t, err)
	t.Cleanup(func() { cli.Close() })
	return d, cli
}

func (d *faultyDaemon) serve(down net.Conn, upstream string) {
	defer down.Close()
	up, err := net.Dial("unix", upstream)
	if err != nil {
		return
	}
	defer up.Close()
	clientGone := make(chan struct{})
	go func() {
		io.Copy(up, down)
		up.(*net.UnixConn).CloseWrite()
		close(clientGone)
	}()
	_, err = io.CopyN(down, up, d.limit)
	if err != nil {
		return // the response ended below the limit: the connection is done
	}
	d.hits.Add(1)
	if d.stall {
		// Until the client hangs up: then the daemon's writes fail, as
		// they would on a real connection.
		select {
		case <-clientGone:
		case <-d.done:
		}
	}
}

// TestDaemonCutMidStream: the archive stream of a helper read breaks half
// way. The backup fails naming the volume, no snapshot is written, the
// helper container is removed and the stopped container runs again.
func TestDaemonCutMidStream(t *testing.T) {
	real := dockerClient(t)
	buildSleeper(t, real)
	vol := newVolume(t, real, nil)
	fillVolume(t, real, vol) // holds a 1 MiB file
	id := sleeper(t, real, "app", true, nil, vol)
	d, cli := newFaultyDaemon(t, 256<<10, false)
	r := newRepo(t)

	src, err := Open(t.Context(), cli, vol, Options{Mode: ModeHelper})
	require.NoError(t, err)
	_, err = r.Backup(t.Context(), Consistent(src, cli, Consistency{Stop: true, StopTimeout: time.Second}, nil),
		repo.BackupOptions{})
	require.Error(t, err)
	t.Log(err)
	require.Contains(t, err.Error(), vol)
	require.EqualValues(t, 1, d.hits.Load(), "one connection cut")
	requireNoSnapshots(t, r)
	require.Empty(t, helpers(t, real, vol))
	require.Equal(t, ctrRunning, ctrStateOf(t, real, id))
}

// TestDaemonStopsAnswering: the daemon stalls in the middle of the
// archive stream. The backup ends when its context does, with no
// snapshot and no helper container left.
func TestDaemonStopsAnswering(t *testing.T) {
	real := dockerClient(t)
	vol := newVolume(t, real, nil)
	fillVolume(t, real, vol)
	d, cli := newFaultyDaemon(t, 256<<10, true)
	r := newRepo(t)

	src, err := Open(t.Context(), cli, vol, Options{Mode: ModeHelper})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	_, err = r.Backup(ctx, src, repo.BackupOptions{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.EqualValues(t, 1, d.hits.Load())
	requireNoSnapshots(t, r)
	require.Empty(t, helpers(t, real, vol))
}

// TestDaemonGone: no daemon behind DOCKER_HOST. The error says so and
// names the volume.
func TestDaemonGone(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	cli, err := NewClient()
	require.NoError(t, err)
	defer cli.Close()
	_, err = Open(t.Context(), cli, "somevolume", Options{})
	require.Error(t, err)
	require.Contains(t, err.Error(), `volume "somevolume"`)
	require.Contains(t, err.Error(), sock)
}

func requireNoSnapshots(t *testing.T, r *repo.Repository) {
	t.Helper()
	snaps, err := r.Snapshots(t.Context())
	require.NoError(t, err)
	require.Empty(t, snaps, "no snapshot for a failed read")
}
