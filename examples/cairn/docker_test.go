package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// dockerCLI runs the docker command-line client, or skips the test when
// there is no daemon (fails it under CAIRN_REQUIRE_INTEGRATION=1).
func dockerCLI(t *testing.T) func(args ...string) string {
	t.Helper()
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		msg := "needs the docker client and a running daemon (DOCKER_HOST): " + strings.TrimSpace(string(out))
		if os.Getenv("CAIRN_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return func(args ...string) string {
		t.Helper()
		out, err := exec.Command("docker", args...).CombinedOutput()
		require.NoError(t, err, "docker %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
}

func TestDockerVolumes(t *testing.T) {
	docker := dockerCLI(t)
	if os.Geteuid() != 0 {
		t.Skip("fills the volume through its mountpoint, which needs root")
	}
	helperExisted := exec.Command("docker", "image", "inspect", "cairn-helper:empty").Run() == nil
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	src, dst := "cairn-cli-src-"+suffix, "cairn-cli-dst-"+suffix
	t.Cleanup(func() {
		exec.Command("docker", "volume", "rm", "-f", src, dst, dst+"-helper").Run()
		if !helperExisted {
			exec.Command("docker", "image", "rm", "-f", "cairn-helper:empty").Run()
		}
	})
	docker("volume", "create", "--label", "cairn.cli-test="+suffix, src)
	mount := docker("volume", "inspect", "--format", "{{.Mountpoint}}", src)
	files := map[string]string{"app.conf": "listen = :8080\n", "data/rows": strings.Repeat("row\n", 10000), "link": "->app.conf"}
	writeTree(t, mount, files)
	require.NoError(t, os.Chown(filepath.Join(mount, "data/rows"), 1234, 5678))

	c := newCLI(t)
	c.ok("init")
	c.ok("backup", "--docker-volume", src)
	c.ok("backup", "--docker-label", "cairn.cli-test="+suffix, "--docker-mode", "helper")
	var snaps []struct {
		Paths  []string
		Source struct{ Kind string }
	}
	c.okJSON(&snaps, "snapshots")
	require.Len(t, snaps, 2)
	require.Equal(t, "docker-volume", snaps[1].Source.Kind)
	require.Equal(t, []string{src}, snaps[1].Paths)

	for _, mode := range []string{"direct", "helper"} {
		vol := dst
		if mode == "helper" {
			vol = dst + "-helper"
		}
		c.ok("restore", "latest", "--docker-volume", vol, "--docker-mode", mode)
		got := docker("volume", "inspect", "--format", "{{.Mountpoint}}", vol)
		require.Equal(t, files, readTree(t, got), mode)
		fi, err := os.Stat(filepath.Join(got, "data/rows"))
		require.NoError(t, err)
		require.Equal(t, "1234 5678", ownerOf(fi), mode)
		require.Equal(t, suffix, docker("volume", "inspect", "--format", `{{index .Labels "cairn.cli-test"}}`, vol),
			"%s: created with the recorded labels", mode)
	}

	c.fails(exitError, "cairn-cli-nope", "backup", "--docker-volume", "cairn-cli-nope-"+suffix)
	c.fails(exitError, "needs a command", "backup", "--docker-exec", "some-container")
}

// ownerOf returns "UID GID" of a file.
func ownerOf(fi os.FileInfo) string {
	st := fi.Sys().(*syscall.Stat_t)
	return strconv.Itoa(int(st.Uid)) + " " + strconv.Itoa(int(st.Gid))
}

// TestDockerStopContainers backs up a volume with --stop-containers: the
// container using it is stopped for the backup and running again after.
func TestDockerStopContainers(t *testing.T) {
	docker := dockerCLI(t)
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	image, vol, ctr := "cairn-cli-sleeper:"+suffix, "cairn-cli-stop-"+suffix, "cairn-cli-stop-"+suffix
	t.Cleanup(func() {
		exec.Command("docker", "rm", "-f", ctr).Run()
		exec.Command("docker", "volume", "rm", "-f", vol).Run()
		exec.Command("docker", "image", "rm", "-f", image).Run()
	})
	// A FROM scratch image of the docker package's static test sleeper.
	ctx := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(ctx, "sleeper"), "../../source/docker/testdata/sleeper")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, os.WriteFile(filepath.Join(ctx, "Dockerfile"),
		[]byte("FROM scratch\nCOPY sleeper /sleeper\nENTRYPOINT [\"/sleeper\"]\n"), 0o644))
	docker("build", "-q", "-t", image, ctx)
	docker("volume", "create", vol)
	docker("run", "-d", "--name", ctr, "-v", vol+":/data", image)

	started := docker("inspect", "--format", "{{.State.StartedAt}}", ctr)

	c := newCLI(t)
	c.ok("init")
	c.ok("backup", "--docker-volume", vol, "--stop-containers", "--docker-mode", "helper")
	require.Equal(t, "true", docker("inspect", "--format", "{{.State.Running}}", ctr), "running again after the backup")
	restarted := docker("inspect", "--format", "{{.State.StartedAt}}", ctr)
	require.NotEqual(t, started, restarted, "stopped for the backup and started again")

	c.fails(exitError, "exclude each other", "backup", "--docker-volume", vol, "--stop-containers", "--pause-containers")
	require.Equal(t, restarted, docker("inspect", "--format", "{{.State.StartedAt}}", ctr), "not touched by a refused backup")

	// How the container ran is in the snapshot, and its image with
	// --docker-images.
	var inspect struct{ Config struct{ Image string } }
	require.NoError(t, json.Unmarshal([]byte(c.ok("dump", "latest", "/.cairn/containers/"+ctr+".json")), &inspect))
	require.Equal(t, image, inspect.Config.Image)
	c.fails(exitError, "needs --docker-config", "backup", "--docker-volume", vol, "--docker-images", "--docker-config=false")
	c.ok("backup", "--docker-volume", vol, "--docker-images")
	imageID := docker("image", "inspect", "--format", "{{.Id}}", image)
	saved := c.ok("dump", "latest", "/.cairn/images/"+strings.ReplaceAll(imageID, ":", "-")+".tar")
	require.Contains(t, saved, "manifest.json")
	// Restored with the container stopped meanwhile, and running after.
	before := docker("inspect", "--format", "{{.State.StartedAt}}", ctr)
	c.ok("restore", "latest", "--docker-volume", vol, "--stop-containers")
	require.Equal(t, "true", docker("inspect", "--format", "{{.State.Running}}", ctr), "running again after the restore")
	require.NotEqual(t, before, docker("inspect", "--format", "{{.State.StartedAt}}", ctr))
	c.fails(exitError, "needs --docker-volume", "restore", "latest", "--target", t.TempDir(), "--stop-containers")

	c.ok("backup", "--docker-volume", vol, "--docker-config=false")
	c.fails(exitError, "not found in snapshot", "dump", "latest", "/.cairn/volume.json")
}
