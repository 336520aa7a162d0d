package docker

import (
	"fmt"

	"github.com/cairnbackup/cairn/source/fs"
)

// Mode is how a volume's files are read. See the package doc.
type Mode int

const (
	// ModeAuto reads directly when the mountpoint is readable, through a
	// helper container otherwise.
	ModeAuto Mode = iota
	// ModeDirect reads the volume's mountpoint as a directory, and fails
	// if it cannot.
	ModeDirect
	// ModeHelper reads through a helper container's archive endpoint.
	ModeHelper
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeDirect:
		return "direct"
	case ModeHelper:
		return "helper"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Defaults of Options.
const (
	// DefaultHelperImage is the local image helper containers are made
	// from; it is created from an empty tar when missing.
	DefaultHelperImage = "cairn-helper:empty"
	// HelperLabel, set to "true", marks helper images and containers.
	HelperLabel = "cairn.helper"
	// VolumeLabel on a helper container names the volume it reads.
	VolumeLabel = "cairn.volume"
	// ComposeProjectLabel is the label compose puts on a project's volumes.
	ComposeProjectLabel = "com.docker.compose.project"
)

// Options control how a volume is read. The zero value works.
type Options struct {
	// Mode forces a read mode; ModeAuto chooses.
	Mode Mode
	// Dir configures the directory walk in direct mode (excludes,
	// one-file-system). Helper mode ignores it.
	Dir fs.Options
	// HelperImage names the helper image; DefaultHelperImage if empty.
	HelperImage string
	// NoConfig leaves out the ConfigDir directory: the inspect JSON of the
	// volume, its containers and their images. That JSON holds the
	// containers' environment, often with passwords, stored encrypted
	// like the volume's data.
	NoConfig bool
	// Images also stores each image those containers run, as its
	// "docker save" stream (a tar for "docker load"). It is read in full
	// on every backup; its chunks are stored once, whatever the number of
	// snapshots and volumes that hold the image.
	Images bool
}

func (o Options) withDefaults() (Options, error) {
	if o.Mode < ModeAuto || o.Mode > ModeHelper {
		return o, fmt.Errorf("docker: unknown mode %d", int(o.Mode))
	}
	if o.HelperImage == "" {
		o.HelperImage = DefaultHelperImage
	}
	return o, nil
}
