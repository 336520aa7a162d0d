package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/cairnbackup/cairn/source"
)

// helperMount is where helper containers mount the volume; its archive
// has "volume" as the top entry.
const helperMount = "/volume"

// HelperVolume reads a volume through a helper container's archive
// endpoint. Content is readable only while the walk function runs for the
// entry (source.Sequential).
type HelperVolume struct {
	*volume
	container string // the helper container, while prepared
}

var (
	_ source.Source     = (*HelperVolume)(nil)
	_ source.Preparer   = (*HelperVolume)(nil)
	_ source.Sequential = (*HelperVolume)(nil)
)

// Volume returns what is known of the volume and its containers.
func (h *HelperVolume) Volume() VolumeInfo { return h.info }

// Mode returns ModeHelper.
func (h *HelperVolume) Mode() Mode { return ModeHelper }

// Sequential marks the source as readable in walk order only.
func (h *HelperVolume) Sequential() {}

// Info describes the volume as DirectVolume.Info does.
func (h *HelperVolume) Info() source.Info { return h.sourceInfo(ModeHelper) }

// Prepare inspects the volume and its containers again, makes the helper
// image if it is missing and creates the helper container; tidy removes
// the container.
func (h *HelperVolume) Prepare(ctx context.Context) (func(context.Context) error, error) {
	if h.container != "" {
		return nil, fmt.Errorf("docker: volume %q: prepared twice", h.info.Name)
	}
	if err := h.refresh(ctx); err != nil {
		return nil, err
	}
	if err := ensureHelperImage(ctx, h.cli, h.opts.HelperImage); err != nil {
		return nil, err
	}
	id, err := createHelper(ctx, h.cli, h.opts.HelperImage, h.info.Name, true)
	if err != nil {
		return nil, err
	}
	h.container = id
	return func(ctx context.Context) error {
		h.container = ""
		return removeHelper(ctx, h.cli, id)
	}, nil
}

// Walk streams the volume's files from the helper container, then adds
// the configuration (see ConfigDir). Without
// Prepare it prepares and tidies up itself.
func (h *HelperVolume) Walk(ctx context.Context, fn func(*source.Entry) error) (err error) {
	if h.container == "" {
		tidy, err := h.Prepare(ctx)
		if err != nil {
			return err
		}
		defer func() {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			err = errors.Join(err, tidy(tctx))
		}()
	}
	res, err := h.cli.CopyFromContainer(ctx, h.container, client.CopyFromContainerOptions{SourcePath: helperMount})
	if err != nil {
		return fmt.Errorf("docker: volume %q: read archive: %w", h.info.Name, err)
	}
	defer res.Content.Close()
	return h.walk(ctx, func(ctx context.Context, fn func(*source.Entry) error) error {
		return walkArchive(ctx, res.Content, h.info.Name, fn)
	}, fn)
}

// ensureHelperImage imports an empty tar as the helper image, unless an
// image of that name exists.
func ensureHelperImage(ctx context.Context, cli *client.Client, ref string) error {
	_, err := cli.ImageInspect(ctx, ref)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker: helper image %s: %w", ref, err)
	}
	empty := bytes.NewReader(make([]byte, 1024)) // a tar archive with no entries
	res, err := cli.ImageImport(ctx, client.ImageImportSource{Source: empty, SourceName: "-"}, ref,
		client.ImageImportOptions{
			Message: "cairn helper: an empty image for containers that are never started",
			Changes: []string{"LABEL " + HelperLabel + "=true"},
		})
	if err != nil {
		return fmt.Errorf("docker: helper image %s: import: %w", ref, err)
	}
	defer res.Close()
	if err := readStream(res); err != nil {
		return fmt.Errorf("docker: helper image %s: import: %w", ref, err)
	}
	return nil
}

// createHelper creates (and never starts) a container of image with the
// volume mounted at helperMount: read-only to back it up, writable to
// restore into it.
func createHelper(ctx context.Context, cli *client.Client, image, vol string, readOnly bool) (string, error) {
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image:           image,
			Cmd:             []string{"/cairn-helper-is-never-started"},
			Labels:          map[string]string{HelperLabel: "true", VolumeLabel: vol},
			NetworkDisabled: true,
		},
		HostConfig: &container.HostConfig{
			NetworkMode: "none",
			Mounts: []mount.Mount{{
				Type: mount.TypeVolume, Source: vol, Target: helperMount, ReadOnly: readOnly,
			}},
		},
	})
	if err != nil {
		return "", fmt.Errorf("docker: volume %q: create helper container: %w", vol, err)
	}
	return res.ID, nil
}

// removeHelper removes a helper container; one already gone is fine.
func removeHelper(ctx context.Context, cli *client.Client, id string) error {
	_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker: remove helper container %.12s: %w", id, err)
	}
	return nil
}

// readStream reads a JSON message stream of the Engine API (image import,
// image build) to its end and returns the first error it reports.
func readStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string
			ErrorDetail *struct{ Message string }
		}
		err := dec.Decode(&m)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("reading the daemon's messages: %w", err)
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return errors.New(m.ErrorDetail.Message)
		case m.Error != "":
			return errors.New(m.Error)
		}
	}
}
