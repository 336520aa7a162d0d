//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/source/docker"
)

// Images of the end-to-end test. The daemon cannot pull, so all are made
// here, and kept as caches, found by tag next time: the Go toolchain
// image by Go version, the agent and stub images by a hash of their build
// context (for the agent: the module source, vendored, and the
// Dockerfile), so that any change builds a new image, which replaces the
// old one. `docker image rm` them to start cold. Containers and volumes
// are removed when the test ends; all carry e2eLabel, so those of a run
// that was killed can be found (docker ps -a --filter label=...).
const (
	e2eLabel      = "cairn-agent-test" // on everything the test makes; not cairn.*, which the agent would refuse
	goImageRepo   = "cairn-test-go"
	agentRepo     = "cairn-test-agent"
	stubRepo      = "cairn-test-agent-stub"
	dockerfileRel = "examples/agent/Dockerfile"
	imageUID      = 65532 // the Dockerfile's USER
)

// dockerEnv is a reachable Docker daemon and the test that uses it.
type dockerEnv struct {
	t   *testing.T
	cli *client.Client
}

// newDockerEnv connects to the daemon of DOCKER_HOST, or skips the test
// (fails it under CAIRN_REQUIRE_INTEGRATION=1). The helper image the
// agent makes (source/docker's) is removed at the end unless it was
// there before, or some container still uses it.
func newDockerEnv(t *testing.T) *dockerEnv {
	t.Helper()
	cli, err := docker.NewClient()
	if err == nil {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if _, err = cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
			cli.Close()
		}
	}
	if err != nil {
		e2eUnavailable(t, fmt.Sprintf("no Docker daemon reachable (%v): install Docker Engine "+
			"(https://docs.docker.com/engine/install/) and start it, or set DOCKER_HOST to a daemon", err))
	}
	t.Cleanup(func() { cli.Close() })
	e := &dockerEnv{t: t, cli: cli}
	if !e.imageExists(docker.DefaultHelperImage) {
		t.Cleanup(func() {
			_, _ = cli.ImageRemove(context.Background(), docker.DefaultHelperImage, client.ImageRemoveOptions{})
		})
	}
	return e
}

// e2eUnavailable skips the test, or fails it under
// CAIRN_REQUIRE_INTEGRATION=1, where a skip would hide a broken setup.
func e2eUnavailable(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CAIRN_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg + " (CAIRN_REQUIRE_INTEGRATION=1)")
	}
	t.Skip(msg + "; CAIRN_REQUIRE_INTEGRATION=1 makes this a failure")
}

func (e *dockerEnv) imageExists(ref string) bool {
	_, err := e.cli.ImageInspect(e.t.Context(), ref)
	if err != nil {
		require.True(e.t, cerrdefs.IsNotFound(err), "inspect image %s: %v", ref, err)
	}
	return err == nil
}

// goEnv returns the values of the go command's variables names.
func goEnv(t *testing.T, names ...string) []string {
	out, err := exec.CommandContext(t.Context(), "go", append([]string{"env"}, names...)...).Output()
	require.NoError(t, err, "go env")
	vals := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	require.Len(t, vals, len(names), "go env %v", names)
	return vals
}

// dockerSocket returns the path of the daemon's socket, which the agent
// container mounts: the test needs a local daemon.
func dockerSocket(t *testing.T) string {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		return "/var/run/docker.sock"
	}
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "unix" {
		e2eUnavailable(t, "DOCKER_HOST="+host+": the agent container needs the daemon's unix socket to mount")
	}
	return u.Path
}

// volume creates a volume, removed when the test ends with the helper
// containers an agent killed in a backup may have left.
func (e *dockerEnv) volume(name string, labels map[string]string) string {
	labels[e2eLabel] = "true"
	_, err := e.cli.VolumeCreate(e.t.Context(), client.VolumeCreateOptions{Name: name, Labels: labels})
	require.NoError(e.t, err)
	e.t.Cleanup(func() {
		for _, h := range e.helpers(name) {
			_, _ = e.cli.ContainerRemove(context.Background(), h, client.ContainerRemoveOptions{Force: true})
		}
		_, err := e.cli.VolumeRemove(context.Background(), name, client.VolumeRemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			e.t.Errorf("remove volume %s: %v", name, err)
		}
	})
	return name
}

// container starts a container of image without a network, with binds
// ("volume:/path"), removed when the test ends.
func (e *dockerEnv) container(name, image string, cmd []string, labels map[string]string, binds ...string) string {
	labels[e2eLabel] = "true"
	return e.start(name, &container.Config{Image: image, Cmd: cmd, Labels: labels},
		&container.HostConfig{NetworkMode: "none", Binds: binds})
}

func (e *dockerEnv) start(name string, cfg *container.Config, hc *container.HostConfig) string {
	ctx := e.t.Context()
	_, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: hc})
	require.NoError(e.t, err, "create container %s", name)
	e.t.Cleanup(func() {
		_, err := e.cli.ContainerRemove(context.Background(), name, client.ContainerRemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			e.t.Errorf("remove container %s: %v", name, err)
		}
	})
	_, err = e.cli.ContainerStart(ctx, name, client.ContainerStartOptions{})
	require.NoError(e.t, err, "start container %s", name)
	return name
}

// runAgent starts the agent's image as the README deploys it: the
// daemon's socket, the repository directory and a password file
// mounted, the metrics port published (on 127.0.0.1), the socket's group
// added. As root the test gives the directory to the image's own user
// (65532) and runs it as that; otherwise it runs it as this process's
// user, with a /tmp it can write. The schedules are seconds apart; the
// repository is the image's default, /repo. The agent's log is shown if
// the test fails.
func (e *dockerEnv) runAgent(name, image, sock, repoDir string) string {
	t := e.t
	secrets := t.TempDir()
	pwFile := filepath.Join(secrets, "cairn-password")
	require.NoError(t, os.WriteFile(pwFile, []byte(e2ePassword+"\n"), 0o600))
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(sock, &st), "the daemon's socket")
	port := network.MustParsePort("9477/tcp")
	cfg := &container.Config{
		Image: image,
		Cmd: []string{"--password-file=/run/secrets/cairn-password", "--host=" + e2eHost,
			"--prune-schedule=@every 10s", "--drill-schedule=@every 4s", "--drill-sample=100"},
		Env:          []string{"CAIRN_DEFAULT_SCHEDULE=@every 3s", "CAIRN_JITTER=0s"},
		ExposedPorts: network.PortSet{port: {}},
		Labels:       map[string]string{e2eLabel: "true"},
	}
	hc := &container.HostConfig{
		Binds:        []string{sock + ":/var/run/docker.sock", repoDir + ":/repo", secrets + ":/run/secrets:ro"},
		GroupAdd:     []string{strconv.Itoa(int(st.Gid))},
		PortBindings: network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1")}}},
	}
	if os.Geteuid() == 0 {
		require.NoError(t, filepath.WalkDir(repoDir, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, imageUID, imageUID)
		}))
		require.NoError(t, os.Chown(secrets, imageUID, imageUID))
		require.NoError(t, os.Chown(pwFile, imageUID, imageUID))
	} else {
		cfg.User = fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
		hc.Tmpfs = map[string]string{"/tmp": "mode=1777"} // the drills' scratch space
	}
	e.start(name, cfg, hc)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", e.logs(name))
		}
	})
	return name
}

// agentURL returns the base URL of the agent's published metrics port,
// once it answers.
func (e *dockerEnv) agentURL(agent string) string {
	ports := e.inspect(agent).NetworkSettings.Ports[network.MustParsePort("9477/tcp")]
	require.NotEmpty(e.t, ports, "published ports of %s", agent)
	base := "http://127.0.0.1:" + ports[0].HostPort
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/metrics")
		if err == nil {
			res.Body.Close()
			return base
		}
		require.True(e.t, e.inspect(agent).State.Running, "the agent exited; log:\n%s", e.logs(agent))
		require.False(e.t, time.Now().After(deadline), "the agent does not answer: %v", err)
		time.Sleep(200 * time.Millisecond)
	}
}

func (e *dockerEnv) inspect(name string) container.InspectResponse {
	res, err := e.cli.ContainerInspect(e.t.Context(), name, client.ContainerInspectOptions{})
	require.NoError(e.t, err, "inspect %s", name)
	return res.Container
}

// stop stops a container as docker stop does (SIGTERM, then SIGKILL
// after grace) and returns its final state.
func (e *dockerEnv) stop(name string, grace time.Duration) *container.State {
	secs := int(grace.Seconds())
	_, err := e.cli.ContainerStop(e.t.Context(), name, client.ContainerStopOptions{Timeout: &secs})
	require.NoError(e.t, err, "stop %s", name)
	return e.inspect(name).State
}

// logs returns the end of a container's output.
func (e *dockerEnv) logs(name string) string {
	res, err := e.cli.ContainerLogs(context.Background(), name, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return err.Error()
	}
	defer res.Close()
	var b bytes.Buffer
	if _, err := stdcopy.StdCopy(&b, &b, res); err != nil {
		fmt.Fprintf(&b, "\n(reading the log: %v)", err)
	}
	return string(lastBytes(b.Bytes(), 30000))
}

// eventually waits up to 15 s for cond, which may be false for a while:
// other agents and tests on the daemon may stop the test's containers
// too (all those labelled cairn.stop-during-backup=true) or back up its
// volumes (all those labelled cairn.backup=true).
func (e *dockerEnv) eventually(cond func() bool, msg string, args ...any) {
	e.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			e.t.Fatalf(msg, args...)
		}
	}
}

// helpers lists the helper containers source/docker made for vol.
func (e *dockerEnv) helpers(vol string) []string {
	f := client.Filters{}
	f.Add("label", docker.HelperLabel+"=true", docker.VolumeLabel+"="+vol)
	res, err := e.cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	require.NoError(e.t, err)
	var names []string
	for _, c := range res.Items {
		names = append(names, c.Names...)
	}
	return names
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
