package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// ErrNoVolume is wrapped by the error about a volume that does not exist.
var ErrNoVolume = errors.New("no such volume")

// VolumeInfo describes a volume and the containers that use it. It goes
// into the snapshot as the source's Details (JSON).
type VolumeInfo struct {
	Name       string
	Driver     string
	Labels     map[string]string `json:",omitempty"`
	Mountpoint string
	Created    string `json:",omitempty"` // RFC 3339, as the daemon says
	// Containers use the volume (running or not), helper containers left
	// out. Filled by Open and again when the source is prepared.
	Containers []ContainerInfo `json:",omitempty"`
	// ConfigDir is the snapshot's top-level directory that holds the
	// inspect JSON of the volume, its containers and their images (see
	// the constant ConfigDir); empty if the snapshot has none. Set once
	// the volume has been walked.
	ConfigDir string `json:",omitempty"`
}

// ContainerInfo is a container that mounts a volume.
type ContainerInfo struct {
	ID      string
	Name    string
	Image   string
	ImageID string
	State   string // "running", "exited", …
	Target  string // where the volume is mounted in the container
	RW      bool
}

// Selector says which volumes FindVolumes returns: those that match every
// criterion given. At least one must be given.
type Selector struct {
	// Names are volumes wanted by name; a missing one is an error.
	Names []string
	// Labels are KEY=VALUE (or just KEY) that a volume must carry.
	Labels []string
	// Project is a compose project: its volumes carry
	// com.docker.compose.project=Project.
	Project string
}

// FindVolumes returns the volumes sel selects, sorted by name, without
// their containers.
func FindVolumes(ctx context.Context, cli *client.Client, sel Selector) ([]VolumeInfo, error) {
	labels := slices.Clone(sel.Labels)
	if sel.Project != "" {
		labels = append(labels, ComposeProjectLabel+"="+sel.Project)
	}
	if len(sel.Names) == 0 && len(labels) == 0 {
		return nil, errors.New("docker: find volumes: empty selector")
	}
	var vols []VolumeInfo
	if len(sel.Names) > 0 {
		for _, name := range sel.Names {
			v, _, err := inspectVolume(ctx, cli, name)
			if err != nil {
				return nil, err
			}
			if hasLabels(v.Labels, labels) {
				vols = append(vols, v)
			}
		}
	} else {
		f := client.Filters{}
		f.Add("label", labels...)
		res, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
		if err != nil {
			return nil, fmt.Errorf("docker: list volumes: %w", err)
		}
		for _, v := range res.Items {
			vols = append(vols, VolumeInfo{Name: v.Name, Driver: v.Driver, Labels: v.Labels, Mountpoint: v.Mountpoint, Created: v.CreatedAt})
		}
	}
	slices.SortFunc(vols, func(a, b VolumeInfo) int { return strings.Compare(a.Name, b.Name) })
	return vols, nil
}

// hasLabels reports whether have carries every KEY=VALUE or KEY of want.
func hasLabels(have map[string]string, want []string) bool {
	for _, w := range want {
		k, v, withValue := strings.Cut(w, "=")
		got, ok := have[k]
		if !ok || withValue && got != v {
			return false
		}
	}
	return true
}

// inspectVolume returns the volume called name and its inspect JSON; the
// error names it.
func inspectVolume(ctx context.Context, cli *client.Client, name string) (VolumeInfo, json.RawMessage, error) {
	res, err := cli.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		return VolumeInfo{}, nil, fmt.Errorf("docker: volume %q: %w", name, ErrNoVolume)
	case err != nil:
		return VolumeInfo{}, nil, fmt.Errorf("docker: volume %q: inspect: %w", name, err)
	}
	v := res.Volume
	return VolumeInfo{Name: v.Name, Driver: v.Driver, Labels: v.Labels, Mountpoint: v.Mountpoint, Created: v.CreatedAt}, res.Raw, nil
}

// volumeContainers lists the containers that mount the volume name,
// helper containers left out.
func volumeContainers(ctx context.Context, cli *client.Client, name string) ([]ContainerInfo, error) {
	f := client.Filters{}
	f.Add("volume", name)
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: volume %q: list containers: %w", name, err)
	}
	var out []ContainerInfo
	for _, c := range res.Items {
		if c.Labels[HelperLabel] == "true" {
			continue
		}
		for _, m := range c.Mounts {
			if m.Type != mount.TypeVolume || m.Name != name {
				continue
			}
			ci := ContainerInfo{ID: c.ID, Image: c.Image, ImageID: c.ImageID, State: string(c.State), Target: m.Destination, RW: m.RW}
			if len(c.Names) > 0 {
				ci.Name = strings.TrimPrefix(c.Names[0], "/")
			}
			out = append(out, ci)
			break
		}
	}
	slices.SortFunc(out, func(a, b ContainerInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
