package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/fs"
	"github.com/moby/moby/client"
)

// NewClient returns a Docker Engine API client configured from the
// environment (DOCKER_HOST, DOCKER_API_VERSION, DOCKER_CERT_PATH,
// DOCKER_TLS_VERIFY). Unless DOCKER_API_VERSION fixes one, the API version
// is negotiated with the daemon on the first request (API 1.40 and later).
func NewClient() (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker: client: %w", err)
	}
	return cli, nil
}

// Open inspects the volume called name, lists the containers that use it
// and chooses the read mode (see Options.Mode). It returns a *DirectVolume
// or a *HelperVolume. A missing volume gives an error wrapping ErrNoVolume
// that names it.
func Open(ctx context.Context, cli *client.Client, name string, opts Options) (source.Source, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	v := &volume{cli: cli, opts: opts, info: VolumeInfo{Name: name}}
	if err := v.refresh(ctx); err != nil {
		return nil, err
	}
	if opts.Mode == ModeHelper {
		return &HelperVolume{volume: v}, nil
	}
	err = readable(cli, v.info.Mountpoint)
	switch {
	case err == nil:
		return &DirectVolume{volume: v}, nil
	case opts.Mode == ModeDirect:
		return nil, fmt.Errorf("docker: volume %q: direct read: %w", name, err)
	}
	return &HelperVolume{volume: v}, nil
}

// readable checks that this process can read dir, the mountpoint of a
// volume of the daemon cli talks to. A daemon reached over the network
// has its mountpoints on another host, whatever this one holds there.
func readable(cli *client.Client, dir string) error {
	if !strings.HasPrefix(cli.DaemonHost(), "unix://") {
		return fmt.Errorf("daemon %s is not local", cli.DaemonHost())
	}
	if dir == "" {
		return fmt.Errorf("the volume has no mountpoint")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("mountpoint %s is not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("mountpoint %s: %w", dir, err)
	}
	return nil
}

// volume is what both read modes share.
type volume struct {
	cli    *client.Client
	opts   Options
	info   VolumeInfo
	config *volumeConfig // nil with Options.NoConfig
}

// refresh inspects the volume, its containers and their images again.
func (v *volume) refresh(ctx context.Context) error {
	info, raw, err := inspectVolume(ctx, v.cli, v.info.Name)
	if err != nil {
		return err
	}
	if info.Containers, err = volumeContainers(ctx, v.cli, info.Name); err != nil {
		return err
	}
	if !v.opts.NoConfig {
		if v.config, err = collectConfig(ctx, v.cli, raw, info, v.opts.Images); err != nil {
			return err
		}
	}
	v.info = info
	return nil
}

// walk runs walk, the volume's own, then adds the configuration.
func (v *volume) walk(ctx context.Context, walk func(context.Context, func(*source.Entry) error) error,
	fn func(*source.Entry) error) error {
	if v.config == nil {
		return walk(ctx, fn)
	}
	dir, err := v.config.walk(ctx, walk, fn)
	v.info.ConfigDir = dir
	return err
}

// details is the JSON of source.Info.Details.
type details struct {
	VolumeInfo
	Mode string
}

func (v *volume) sourceInfo(m Mode) source.Info {
	d, _ := json.Marshal(details{VolumeInfo: v.info, Mode: m.String()}) // plain data: cannot fail
	return source.Info{
		Kind:        "docker-volume",
		Description: "volume " + v.info.Name,
		Paths:       []string{v.info.Name},
		Details:     d,
	}
}

// DirectVolume reads a volume from its mountpoint on this host.
type DirectVolume struct {
	*volume
}

var (
	_ source.Source   = (*DirectVolume)(nil)
	_ source.Preparer = (*DirectVolume)(nil)
	_ source.Counter  = (*DirectVolume)(nil)
)

// Volume returns what is known of the volume and its containers.
func (d *DirectVolume) Volume() VolumeInfo { return d.info }

// Mode returns ModeDirect.
func (d *DirectVolume) Mode() Mode { return ModeDirect }

// Info describes the volume: kind "docker-volume", path the volume name,
// details a VolumeInfo and the mode as JSON.
func (d *DirectVolume) Info() source.Info { return d.sourceInfo(ModeDirect) }

// Prepare inspects the volume and its containers again, so the snapshot
// records them as they are at backup time.
func (d *DirectVolume) Prepare(ctx context.Context) (func(context.Context) error, error) {
	if err := d.refresh(ctx); err != nil {
		return nil, err
	}
	return func(context.Context) error { return nil }, nil
}

// Walk walks the mountpoint as a source/fs directory, then adds the
// configuration (see ConfigDir).
func (d *DirectVolume) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	return d.walk(ctx, fs.Dir(d.info.Mountpoint, d.opts.Dir).Walk, fn)
}

// Count counts the files and bytes under the mountpoint.
func (d *DirectVolume) Count(ctx context.Context) (files, bytes uint64, err error) {
	return fs.Dir(d.info.Mountpoint, d.opts.Dir).Count(ctx)
}
