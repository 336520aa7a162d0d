package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/fs"
)

// RestoreOptions control how a snapshot is restored into a volume. The
// zero value restores into an existing volume, directly if this process
// can write its mountpoint and through a helper container otherwise.
type RestoreOptions struct {
	// Mode forces a write mode; ModeAuto chooses.
	Mode Mode
	// Create makes the volume when it does not exist, with Driver,
	// DriverOpts and Labels (VolumeFromDetails reads what a snapshot
	// recorded). Without Create a missing volume is an error wrapping
	// ErrNoVolume. An existing volume is restored into as it is; if
	// Driver is set, it must be the volume's driver.
	Create     bool
	Driver     string // the daemon's default ("local") if empty
	DriverOpts map[string]string
	Labels     map[string]string
	// Dir configures the directory target in direct mode (overwrite
	// policy, warnings). The helper mode always overwrites, but never
	// replaces a directory by a non-directory or the reverse.
	Dir fs.TargetOptions
	// HelperImage names the helper image; DefaultHelperImage if empty.
	HelperImage string
	// Stop stops the running containers that use the volume for the
	// duration of the restore, so that nothing writes to it while its
	// files are replaced, and starts exactly those again afterwards, on
	// every way out (RestoreVolume only). Labels and hooks are ignored.
	Stop bool
	// StopTimeout is the grace before a stopped container is killed; zero
	// means the container's own.
	StopTimeout time.Duration
}

// VolumeFromDetails decodes the Details of a "docker-volume" snapshot
// source: the volume's name, driver and labels as they were at backup
// time, to create a volume like it (RestoreOptions.Create).
func VolumeFromDetails(raw json.RawMessage) (VolumeInfo, error) {
	var d details
	if err := json.Unmarshal(raw, &d); err != nil {
		return VolumeInfo{}, fmt.Errorf("docker: volume details: %w", err)
	}
	if d.Name == "" || d.Driver == "" {
		return VolumeInfo{}, errors.New("docker: volume details: no volume name or driver")
	}
	return d.VolumeInfo, nil
}

// ConfigExclude returns the patterns (for repo.RestoreOptions.Exclude)
// that leave the snapshot's ConfigDir out of a restore of the snapshot's
// root, or nil when it has none.
func (v VolumeInfo) ConfigExclude() []string {
	if v.ConfigDir == "" {
		return nil
	}
	return []string{"/" + v.ConfigDir}
}

// RestoreVolume restores into the volume called name: it calls fn with
// the target IntoVolume returns (fn runs repo.Repository.Restore with it)
// and tidies up afterwards on every way out, so no helper container is
// left whether fn succeeds, fails, panics or ctx is cancelled. fn should
// exclude the snapshot's configuration (VolumeInfo.ConfigExclude), which
// describes the volume rather than belonging in it.
func RestoreVolume(ctx context.Context, cli *client.Client, name string, opts RestoreOptions,
	fn func(context.Context, source.Target) error) (err error) {
	t, tidy, err := IntoVolume(ctx, cli, name, opts)
	if err != nil {
		return err
	}
	defer func() {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		err = errors.Join(err, tidy(tctx))
	}()
	if opts.Stop {
		c := Consistency{Stop: true, StopTimeout: opts.StopTimeout, IgnoreLabels: true}
		resume, err := QuiesceVolumes(ctx, cli, []string{name}, c)
		if err != nil {
			return err
		}
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
			defer cancel()
			if rerr := resume(rctx); rerr != nil {
				err = errors.Join(err, fmt.Errorf("docker: volume %q: starting containers again: %w", name, rerr))
			}
		}()
	}
	return fn(ctx, t)
}

// IntoVolume returns a target that restores into the volume called name,
// creating the volume first if it is missing and opts.Create is set. In
// direct mode the target is an *fs.Target on the volume's mountpoint; in
// helper mode a *HelperTarget.
//
// tidy must be called on every way out of the restore once IntoVolume
// has succeeded, with a context that is not cancelled with the restore's:
// when a restore fails outside the target, Close is not called (see
// source.Target), and only tidy then removes the helper container.
func IntoVolume(ctx context.Context, cli *client.Client, name string, opts RestoreOptions) (t source.Target, tidy func(context.Context) error, err error) {
	if opts.Mode < ModeAuto || opts.Mode > ModeHelper {
		return nil, nil, fmt.Errorf("docker: unknown mode %d", int(opts.Mode))
	}
	if opts.HelperImage == "" {
		opts.HelperImage = DefaultHelperImage
	}
	info, plain, err := ensureVolume(ctx, cli, name, opts)
	if err != nil {
		return nil, nil, err
	}
	if opts.Mode != ModeHelper {
		err := writable(cli, info.Mountpoint)
		switch {
		case err == nil && opts.Mode == ModeDirect:
			return fs.Into(info.Mountpoint, opts.Dir), noTidy, nil
		case err != nil && opts.Mode == ModeDirect:
			return nil, nil, fmt.Errorf("docker: volume %q: direct write: %w", name, err)
		case err == nil && plain && (os.Geteuid() == 0 || opts.Dir.NoOwner):
			return fs.Into(info.Mountpoint, opts.Dir), noTidy, nil
		}
	}
	h := &HelperTarget{cli: cli, vol: info.Name, image: opts.HelperImage}
	return h, h.tidy, nil
}

func noTidy(context.Context) error { return nil }

// ensureVolume inspects the volume, or creates it when it is missing and
// opts.Create is set. plain reports a volume of the local driver without
// driver options: its mountpoint is where its files are, while a local
// volume with options (an NFS share, a bind) is mounted there only while
// a container uses it, and another driver's files may be elsewhere.
func ensureVolume(ctx context.Context, cli *client.Client, name string, opts RestoreOptions) (info VolumeInfo, plain bool, err error) {
	res, err := cli.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err) && !opts.Create:
		return info, false, fmt.Errorf("docker: volume %q: %w (restore with Create to make it)", name, ErrNoVolume)
	case cerrdefs.IsNotFound(err):
		c, err := cli.VolumeCreate(ctx, client.VolumeCreateOptions{
			Name: name, Driver: opts.Driver, DriverOpts: opts.DriverOpts, Labels: opts.Labels,
		})
		if err != nil {
			return info, false, fmt.Errorf("docker: volume %q: create: %w", name, err)
		}
		res.Volume = c.Volume
	case err != nil:
		return info, false, fmt.Errorf("docker: volume %q: inspect: %w", name, err)
	case opts.Driver != "" && res.Volume.Driver != opts.Driver:
		return info, false, fmt.Errorf("docker: volume %q exists with driver %q, not %q", name, res.Volume.Driver, opts.Driver)
	}
	v := res.Volume
	info = VolumeInfo{Name: v.Name, Driver: v.Driver, Labels: v.Labels, Mountpoint: v.Mountpoint}
	return info, v.Driver == "local" && len(v.Options) == 0, nil
}

// writable checks that this process can write dir, the mountpoint of a
// volume of the daemon cli talks to (see readable).
func writable(cli *client.Client, dir string) error {
	if !strings.HasPrefix(cli.DaemonHost(), "unix://") {
		return fmt.Errorf("daemon %s is not local", cli.DaemonHost())
	}
	if dir == "" {
		return errors.New("the volume has no mountpoint")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("mountpoint %s is not a directory", dir)
	}
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return &os.PathError{Op: "access", Path: dir, Err: err}
	}
	return nil
}
