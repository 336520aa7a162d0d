package docker

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
)

// pgImage is a Debian bookworm root filesystem with PostgreSQL 15, made
// here with debootstrap because the test machine has no registry. It is
// built once and kept: later runs find it by tag, and no test removes it
// (it is the cache; `docker image rm cairn-test-postgres:bookworm-15`
// rebuilds it).
const (
	pgImage  = "cairn-test-postgres:bookworm-15"
	pgBin    = "/usr/lib/postgresql/15/bin"
	pgMirror = "http://deb.debian.org/debian"
)

// pgStart is the image's entrypoint: a throwaway cluster in /tmp/pg that
// listens on its Unix socket only, then a process that keeps the
// container running.
const pgStart = `#!/bin/sh
set -e
su postgres -c "` + pgBin + `/initdb -D /tmp/pg -A trust >/tmp/initdb.log 2>&1 &&
  ` + pgBin + `/pg_ctl -D /tmp/pg -o '-c listen_addresses=' -l /tmp/pg.log -w start"
exec sleep infinity
`

// pgBuildScript makes the root filesystem in $1. policy-rc.d keeps the
// package scripts from starting a server in the chroot.
const pgBuildScript = `set -eu
dir=$1
export DEBIAN_FRONTEND=noninteractive
debootstrap --variant=minbase bookworm "$dir" ` + pgMirror + `
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
chmod 755 "$dir/usr/sbin/policy-rc.d"
chroot "$dir" apt-get install -y -qq --no-install-recommends postgresql
chroot "$dir" apt-get clean
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin
`

// pgUnavailable skips the test, or fails it under
// CAIRN_REQUIRE_INTEGRATION=1.
func pgUnavailable(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CAIRN_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg + " (CAIRN_REQUIRE_INTEGRATION=1)")
	}
	t.Skip(msg + "; CAIRN_REQUIRE_INTEGRATION=1 makes this a failure")
}

// ensurePGImage builds pgImage unless the daemon has it already.
func ensurePGImage(t *testing.T, cli *client.Client) {
	t.Helper()
	ctx := t.Context()
	_, err := cli.ImageInspect(ctx, pgImage)
	if err == nil {
		t.Logf("reusing image %s", pgImage)
		return
	}
	require.True(t, cerrdefs.IsNotFound(err), "inspect %s: %v", pgImage, err)
	if _, err := exec.LookPath("debootstrap"); err != nil {
		pgUnavailable(t, "debootstrap not found: apt-get install debootstrap to build "+pgImage)
	}
	if os.Geteuid() != 0 {
		pgUnavailable(t, "building "+pgImage+" with debootstrap needs root")
	}
	if err := pgMirrorReachable(ctx); err != nil {
		pgUnavailable(t, fmt.Sprintf("Debian mirror %s unreachable (%v): cannot build %s", pgMirror, err, pgImage))
	}

	start := time.Now()
	dir := filepath.Join(t.TempDir(), "rootfs")
	out, err := exec.CommandContext(ctx, "sh", "-c", pgBuildScript, "sh", dir).CombinedOutput()
	require.NoError(t, err, "debootstrap %s: %s", pgImage, tail(out, 4000))
	entry := filepath.Join(dir, "usr/local/bin/pg-start")
	require.NoError(t, os.WriteFile(entry, []byte(pgStart), 0o755))
	require.NoError(t, importRootfs(ctx, cli, dir))
	t.Logf("built image %s in %v (kept as a cache for later runs)", pgImage, time.Since(start).Round(time.Second))
}

// importRootfs tars dir and imports it as pgImage through the daemon's
// image import endpoint.
func importRootfs(ctx context.Context, cli *client.Client, dir string) error {
	tarCmd := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", dir, "-cf", "-", ".")
	stdout, err := tarCmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := tarCmd.Start(); err != nil {
		return err
	}
	res, err := cli.ImageImport(ctx, client.ImageImportSource{Source: stdout, SourceName: "-"}, pgImage,
		client.ImageImportOptions{
			Message: "cairn test: debootstrap bookworm + postgresql",
			Changes: []string{
				`ENTRYPOINT ["/usr/local/bin/pg-start"]`,
				`LABEL ` + testLabel + `=true`,
			},
		})
	if err != nil {
		_ = tarCmd.Process.Kill()
		_ = tarCmd.Wait()
		return fmt.Errorf("import %s: %w", pgImage, err)
	}
	serr := readStream(res)
	res.Close()
	if err := tarCmd.Wait(); err != nil {
		return fmt.Errorf("tar %s: %w", dir, err)
	}
	if serr != nil {
		return fmt.Errorf("import %s: %w", pgImage, serr)
	}
	return nil
}

func pgMirrorReachable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, pgMirror+"/dists/bookworm/Release", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HEAD Release: %s", resp.Status)
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
