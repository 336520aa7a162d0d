package docker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/cairnbackup/cairn/source"
)

// ConfigDir is the top-level directory of a volume snapshot that holds how
// the volume was used, next to the volume's own files:
//
//	.cairn/volume.json                 volume inspect JSON
//	.cairn/containers/NAME.json        inspect JSON of each container using it
//	.cairn/images/sha256-HEX.json      image inspect JSON (tags, digests) of their images
//	.cairn/images/sha256-HEX.tar       the image itself (docker save), with Options.Images
//
// When the volume holds a top-level entry of that name itself, the
// directory is called ".cairn.1" (or ".cairn.2", …) instead;
// VolumeInfo.ConfigDir, read back with VolumeFromDetails, says which.
// Restores into a volume leave it out (see RestoreVolume).
const ConfigDir = ".cairn"

// volumeConfig is what goes into ConfigDir: files by slash-separated path
// below it, in walk order.
type volumeConfig struct {
	cli   *client.Client
	at    time.Time // the volume's creation, to the second
	files []configFile
}

type configFile struct {
	path  string
	data  []byte // JSON; or
	image string // the ID of an image to save
}

// collectConfig inspects the volume's containers and their images. The
// volume's own inspect JSON is vol.
func collectConfig(ctx context.Context, cli *client.Client, vol json.RawMessage, info VolumeInfo, images bool) (*volumeConfig, error) {
	c := &volumeConfig{cli: cli, at: time.Unix(0, 0).UTC()}
	if t, err := time.Parse(time.RFC3339, info.Created); err == nil {
		c.at = t.Truncate(time.Second)
	}
	c.add("volume.json", vol)
	seen := map[string]bool{}
	for _, ct := range info.Containers {
		res, err := cli.ContainerInspect(ctx, ct.ID, client.ContainerInspectOptions{})
		if cerrdefs.IsNotFound(err) {
			continue // removed since it was listed: it no longer uses the volume
		}
		if err != nil {
			return nil, fmt.Errorf("docker: volume %q: inspect container %s: %w", info.Name, ct.Name, err)
		}
		c.add("containers/"+ct.Name+".json", res.Raw)
		if seen[ct.ImageID] {
			continue
		}
		seen[ct.ImageID] = true
		if err := c.addImage(ctx, cli, ct.ImageID, images); err != nil {
			return nil, fmt.Errorf("docker: volume %q: container %s: %w", info.Name, ct.Name, err)
		}
	}
	slices.SortFunc(c.files, func(a, b configFile) int { return strings.Compare(a.path, b.path) })
	return c, nil
}

// addImage adds the inspect JSON of image id and, with save, the image.
// An image that is gone (removed by force while a container still uses
// it) is left out.
func (c *volumeConfig) addImage(ctx context.Context, cli *client.Client, id string, save bool) error {
	var raw bytes.Buffer
	_, err := cli.ImageInspect(ctx, id, client.ImageInspectWithRawResponse(&raw))
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect image %s: %w", id, err)
	}
	name := "images/" + strings.ReplaceAll(id, ":", "-")
	c.add(name+".json", raw.Bytes())
	if save {
		c.files = append(c.files, configFile{path: name + ".tar", image: id})
	}
	return nil
}

// add adds a JSON file, indented for people to read.
func (c *volumeConfig) add(path string, raw json.RawMessage) {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		b.Reset()
		b.Write(raw) // not JSON after all: keep it as the daemon sent it
	}
	b.WriteByte('\n')
	c.files = append(c.files, configFile{path: path, data: b.Bytes()})
}

// walk runs walk, passing its entries to fn, then adds the configuration
// under a top-level directory the walk did not use, and returns its name.
func (c *volumeConfig) walk(ctx context.Context, walk func(context.Context, func(*source.Entry) error) error,
	fn func(*source.Entry) error) (string, error) {
	top := map[string]bool{}
	err := walk(ctx, func(e *source.Entry) error {
		if !strings.Contains(e.Path, "/") {
			top[e.Path] = true
		}
		return fn(e)
	})
	if err != nil {
		return "", err
	}
	dir := ConfigDir
	for i := 1; top[dir]; i++ {
		dir = ConfigDir + "." + strconv.Itoa(i)
	}
	return dir, c.emit(ctx, dir, fn)
}

// emit passes the configuration's entries to fn, below dir.
func (c *volumeConfig) emit(ctx context.Context, dir string, fn func(*source.Entry) error) error {
	if err := fn(c.entry(dir, source.TypeDir)); err != nil {
		return err
	}
	open := dir
	for _, f := range c.files {
		p := dir + "/" + f.path
		if sub := p[:strings.LastIndexByte(p, '/')]; sub != open && sub != dir {
			if err := fn(c.entry(sub, source.TypeDir)); err != nil {
				return err
			}
			open = sub
		}
		e := c.entry(p, source.TypeFile)
		if f.image != "" {
			e.Size, e.Open = -1, c.saver(ctx, f.image)
		} else {
			c.identify(e, f.data)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// saver opens the image save stream (a tar) of image id.
func (c *volumeConfig) saver(ctx context.Context, id string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		rc, err := c.cli.ImageSave(ctx, []string{id})
		if err != nil {
			return nil, fmt.Errorf("docker: save image %s: %w", id, err)
		}
		return rc, nil
	}
}

// identify gives e the content data. Its time and inode are made from a
// hash of data, so that a backup recognises an unchanged file from the
// parent snapshot without reading it, and a changed one as changed even
// if its length is the same: the sub-second part of the time and the
// inode come from the hash.
func (c *volumeConfig) identify(e *source.Entry, data []byte) {
	sum := sha256.Sum256(data)
	e.Size = int64(len(data))
	e.ModTime = c.at.Add(time.Duration(binary.LittleEndian.Uint64(sum[:8]) % uint64(time.Second)))
	e.ChangeTime = e.ModTime
	e.Inode = binary.LittleEndian.Uint64(sum[8:16])
	e.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

// entry makes an entry readable by its owner only: inspect JSON holds the
// containers' environment, passwords included.
func (c *volumeConfig) entry(p string, t source.Type) *source.Entry {
	e := &source.Entry{Path: p, Type: t, Perm: 0o600, ModTime: c.at, ChangeTime: c.at, Links: 1}
	if t == source.TypeDir {
		e.Perm = 0o700
	}
	return e
}
