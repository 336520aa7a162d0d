package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/moby/moby/client"
)

// buildScratchImage compiles the static Go program in ./testdata/<prog>
// and builds it into a FROM scratch image tagged tag, with /<prog> as its
// entrypoint, through the build endpoint from an in-memory context: no
// registry is needed. The image carries testLabel.
func buildScratchImage(ctx context.Context, cli *client.Client, prog, tag string) error {
	dir, err := os.MkdirTemp("", "cairn-"+prog)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, prog)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./testdata/"+prog)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", prog, err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	dockerfile := fmt.Sprintf("FROM scratch\nCOPY %s /%s\nENTRYPOINT [\"/%s\"]\n", prog, prog, prog)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {prog, 0o755, exe}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true,
		Labels: map[string]string{testLabel: "true"},
	})
	if err != nil {
		return fmt.Errorf("build %s image: %w", prog, err)
	}
	defer res.Body.Close()
	if err := readStream(res.Body); err != nil {
		return fmt.Errorf("build %s image: %w", prog, err)
	}
	return nil
}
