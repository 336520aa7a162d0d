package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// StopLabel, set to "true" on a container, adds it to the containers that
// Consistency.Stop or Pause quiesce, whatever volumes it uses.
const StopLabel = "cairn.stop-during-backup"

// undoTimeout bounds starting containers again and post-hooks after a
// failure whose context may be cancelled.
const undoTimeout = 5 * time.Minute

// Consistency says how containers are quiesced while volumes are read.
// The zero value stops nothing and runs only the hooks of labels.
type Consistency struct {
	// Stop stops the running containers for the read and starts them
	// again afterwards. Paused containers are left as they are.
	Stop bool
	// Pause pauses them (cgroup freezer) instead; it cannot be combined
	// with Stop.
	Pause bool
	// StopTimeout is the grace before a stopped container is killed; zero
	// means the container's own (10 s unless configured).
	StopTimeout time.Duration
	// Hooks run after the hooks of labels, in order; their Post in
	// reverse order.
	Hooks []Hook
	// HookTimeout bounds each hook; DefaultHookTimeout if zero.
	HookTimeout time.Duration
	// IgnoreLabels ignores StopLabel, ExecPreLabel and ExecPostLabel.
	IgnoreLabels bool
}

func (c Consistency) withDefaults() (Consistency, error) {
	if c.Stop && c.Pause {
		return c, errors.New("docker: consistency: Stop and Pause are exclusive")
	}
	if c.StopTimeout < 0 || c.HookTimeout < 0 {
		return c, errors.New("docker: consistency: negative timeout")
	}
	if c.HookTimeout == 0 {
		c.HookTimeout = DefaultHookTimeout
	}
	return c, nil
}

// quiesced is one container as Quiesce found it.
type quiesced struct {
	id, name        string
	running, paused bool
	labels          map[string]string
}

// Quiesce makes containers (names or IDs, in order) safe to read their
// volumes from: it runs the pre-hooks (labels of the running containers,
// then c.Hooks), then stops or pauses the running ones one after the
// other, with the containers labelled StopLabel=true appended. resume
// starts or unpauses exactly those again, in reverse order, then runs the
// post-hooks in reverse order; it reports every failure, after trying
// everything, and does nothing when called again.
//
// If Quiesce fails, it has undone what it did: containers run again and
// the post-hooks of the hooks before a failed pre-hook have run.
// The caller must call resume on every way out, with a context that is
// not cancelled with the read's (see source.Preparer).
func Quiesce(ctx context.Context, cli *client.Client, containers []string, c Consistency) (resume func(context.Context) error, err error) {
	c, err = c.withDefaults()
	if err != nil {
		return nil, err
	}
	set, err := inspectQuiesced(ctx, cli, containers)
	if err != nil {
		return nil, err
	}
	if (c.Stop || c.Pause) && !c.IgnoreLabels {
		if set, err = addLabelled(ctx, cli, set); err != nil {
			return nil, err
		}
	}
	var hooks []Hook
	if !c.IgnoreLabels {
		for _, q := range set {
			if h, ok, err := labelHook(q.id, q.labels); err != nil {
				return nil, err
			} else if ok && q.running && !q.paused {
				hooks = append(hooks, h)
			}
		}
	}
	hooks = append(hooks, c.Hooks...)
	r := &resumer{cli: cli, c: c}
	ok := false
	defer func() { // on errors, panics and cancellation
		if !ok {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
			defer cancel()
			err = errors.Join(err, r.resume(uctx))
		}
	}()
	for _, h := range hooks {
		if len(h.Pre) > 0 {
			if err := runHook(ctx, cli, h.Container, "pre", h.Pre, c.HookTimeout); err != nil {
				return nil, err
			}
		}
		r.hooks = append(r.hooks, h)
	}
	for _, q := range set {
		if !q.running || q.paused || !(c.Stop || c.Pause) {
			continue
		}
		// Recorded first: a stop that fails (or is cancelled) may still
		// have stopped it, and starting a running one does nothing.
		r.done = append(r.done, q)
		if err := r.quiesce(ctx, q); err != nil {
			return nil, err
		}
	}
	ok = true
	return r.resume, nil
}

// QuiesceVolumes quiesces the containers of several volumes at once (a
// compose project, volumes that belong together), so they are read at
// one moment: the containers that use each volume, by volume and name,
// each once.
func QuiesceVolumes(ctx context.Context, cli *client.Client, volumes []string, c Consistency) (resume func(context.Context) error, err error) {
	var ids []string
	for _, v := range volumes {
		cs, err := volumeContainers(ctx, cli, v)
		if err != nil {
			return nil, err
		}
		for _, ci := range cs {
			if !slices.Contains(ids, ci.ID) {
				ids = append(ids, ci.ID)
			}
		}
	}
	return Quiesce(ctx, cli, ids, c)
}

// inspectQuiesced inspects the containers, each once.
func inspectQuiesced(ctx context.Context, cli *client.Client, containers []string) ([]quiesced, error) {
	var set []quiesced
	for _, name := range containers {
		res, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
		switch {
		case cerrdefs.IsNotFound(err):
			return nil, fmt.Errorf("docker: container %s: does not exist", containerRef(name))
		case err != nil:
			return nil, fmt.Errorf("docker: container %s: inspect: %w", containerRef(name), err)
		}
		ct := res.Container
		if slices.ContainsFunc(set, func(q quiesced) bool { return q.id == ct.ID }) {
			continue
		}
		q := quiesced{id: ct.ID, name: strings.TrimPrefix(ct.Name, "/")}
		if ct.State != nil {
			q.running, q.paused = ct.State.Running, ct.State.Paused
		}
		if ct.Config != nil {
			q.labels = ct.Config.Labels
		}
		set = append(set, q)
	}
	return set, nil
}

// addLabelled appends the running containers labelled StopLabel=true
// that set lacks, by name.
func addLabelled(ctx context.Context, cli *client.Client, set []quiesced) ([]quiesced, error) {
	f := client.Filters{}
	f.Add("label", StopLabel+"=true")
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers labelled %s: %w", StopLabel, err)
	}
	var ids []string
	for _, s := range res.Items {
		if !slices.ContainsFunc(set, func(q quiesced) bool { return q.id == s.ID }) {
			ids = append(ids, s.ID)
		}
	}
	more, err := inspectQuiesced(ctx, cli, ids)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(more, func(a, b quiesced) int { return strings.Compare(a.name, b.name) })
	return append(set, more...), nil
}

// resumer undoes a Quiesce.
type resumer struct {
	cli   *client.Client
	c     Consistency
	done  []quiesced // stopped or paused, in order
	hooks []Hook     // whose pre-hooks ran, in order
	once  sync.Once
	err   error
}

func (r *resumer) quiesce(ctx context.Context, q quiesced) error {
	var err error
	if r.c.Pause {
		_, err = r.cli.ContainerPause(ctx, q.id, client.ContainerPauseOptions{})
	} else {
		opts := client.ContainerStopOptions{}
		if r.c.StopTimeout > 0 {
			secs := int((r.c.StopTimeout + time.Second - 1) / time.Second)
			opts.Timeout = &secs
		}
		_, err = r.cli.ContainerStop(ctx, q.id, opts)
	}
	if err != nil {
		return fmt.Errorf("docker: container %s: %s: %w", q.name, r.verb(false), err)
	}
	return nil
}

func (r *resumer) verb(undo bool) string {
	switch {
	case r.c.Pause && undo:
		return "unpause"
	case r.c.Pause:
		return "pause"
	case undo:
		return "start"
	}
	return "stop"
}

func (r *resumer) resume(ctx context.Context) error {
	r.once.Do(func() {
		var errs []error
		for _, q := range slices.Backward(r.done) {
			if err := r.wake(ctx, q); err != nil {
				errs = append(errs, err)
			}
		}
		for _, h := range slices.Backward(r.hooks) {
			if len(h.Post) > 0 {
				errs = append(errs, runHook(ctx, r.cli, h.Container, "post", h.Post, r.c.HookTimeout))
			}
		}
		r.err = errors.Join(errs...)
	})
	return r.err
}

// wake starts or unpauses q. An error is reported only if q is not
// running unpaused afterwards: a quiesce that failed may not have
// happened.
func (r *resumer) wake(ctx context.Context, q quiesced) error {
	var err error
	if r.c.Pause {
		_, err = r.cli.ContainerUnpause(ctx, q.id, client.ContainerUnpauseOptions{})
	} else {
		_, err = r.cli.ContainerStart(ctx, q.id, client.ContainerStartOptions{})
	}
	if err == nil {
		return nil
	}
	res, ierr := r.cli.ContainerInspect(ctx, q.id, client.ContainerInspectOptions{})
	if ierr == nil && res.Container.State != nil && res.Container.State.Running && !res.Container.State.Paused {
		return nil
	}
	return fmt.Errorf("docker: container %s: %s again: %w", q.name, r.verb(true), err)
}
