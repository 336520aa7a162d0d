package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/dump"
)

// ExecSource is a dump taken by a command run inside a running container
// (pg_dumpall in the postgres container, say): its stdout is backed up as
// one file of a snapshot, as source/dump does for host commands. Set the
// fields before Backup.
//
// The command runs as a non-TTY exec, so stdout and stderr come apart;
// stderr is kept for errors (its last dump.StderrTail bytes) and handed to
// Stderr if set. Once stdout ends the exec's exit code is read. The backup
// fails, and no snapshot is written, if the container does not exist or is
// not running, the command exits non-zero (a *dump.CommandError), the
// stream breaks, or the command writes nothing (unless AllowEmpty).
//
// The Engine API has no way to kill an exec'd process: if the backup is
// cancelled or gives up, the connection is closed and the process gets
// EPIPE on its next write, but one that does not write may run on inside
// the container until it ends by itself (or the container stops).
type ExecSource struct {
	// Name is the file's name in the snapshot; default:
	// "<container>-<command base name>.dump".
	Name string
	// Env is set in the command's environment (KEY=VALUE) on top of the
	// container's; environment values are never recorded in the snapshot.
	Env []string
	// User runs the command as this user (name or UID[:GID]); the
	// container's user if empty.
	User string
	// WorkingDir is the command's working directory in the container.
	WorkingDir string
	// AllowEmpty accepts a dump of zero bytes; otherwise it is an error.
	AllowEmpty bool
	// Redact lists substrings of the command line shown as "***" in the
	// snapshot and in errors.
	Redact []string
	// Stderr, if set, receives the command's stderr as it comes.
	Stderr io.Writer

	cli       *client.Client
	container string
	cmd       []string

	mu        sync.Mutex
	result    ExecResult
	startedAt string // the container's, when the walk began
	err       error
	done      bool
}

// ExecResult is what the snapshot records about an exec dump, as the JSON
// of source.Info.Details. Before a backup only the fields known from the
// source's settings are set.
type ExecResult struct {
	dump.Result
	Container     string `json:"container"`                // as given to Exec
	ContainerID   string `json:"container_id,omitempty"`   // full ID
	ContainerName string `json:"container_name,omitempty"` // without the leading "/"
	Image         string `json:"image,omitempty"`          // the reference it was created from
	ImageID       string `json:"image_id,omitempty"`
	User          string `json:"user,omitempty"`
	WorkingDir    string `json:"working_dir,omitempty"`
}

var (
	_ source.Source     = (*ExecSource)(nil)
	_ source.Sequential = (*ExecSource)(nil)
)

// Exec returns a source that runs cmd in the running container (a name or
// ID) and backs up its stdout.
func Exec(cli *client.Client, container string, cmd ...string) *ExecSource {
	return &ExecSource{cli: cli, container: container, cmd: cmd}
}

func (s *ExecSource) name() string {
	if s.Name != "" {
		return s.Name
	}
	base := "exec"
	if len(s.cmd) > 0 {
		base = path.Base(s.cmd[0])
	}
	return strings.TrimPrefix(s.container, "/") + "-" + base + ".dump"
}

// commandLine is the command as recorded: quoted where needed, redacted.
func (s *ExecSource) commandLine() string { return dump.CommandLine(s.cmd, s.Redact) }

// Info describes the dump: kind "docker-exec", path the file name, details
// an ExecResult.
func (s *ExecSource) Info() source.Info {
	s.mu.Lock()
	res := s.result
	s.mu.Unlock()
	if res.Name == "" {
		res = s.baseResult()
	}
	d, _ := json.Marshal(res) // plain data: cannot fail
	return source.Info{
		Kind:        "docker-exec",
		Description: "exec in " + s.container + ": " + s.commandLine(),
		Paths:       []string{s.name()},
		Details:     d,
	}
}

func (s *ExecSource) baseResult() ExecResult {
	return ExecResult{
		Result:    dump.Result{Name: s.name(), Command: s.commandLine()},
		Container: s.container, User: s.User, WorkingDir: s.WorkingDir,
	}
}

// Sequential marks the content as readable only during the walk.
func (s *ExecSource) Sequential() {}

// Walk checks that the container is running, then yields the snapshot root
// and the dump file, whose content is the command's stdout, read while fn
// runs.
func (s *ExecSource) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	if len(s.cmd) == 0 {
		return fmt.Errorf("docker: exec in container %q: no command", s.container)
	}
	name := s.name()
	if !source.ValidName(name) {
		return fmt.Errorf("docker: exec in container %q: invalid file name %q", s.container, name)
	}
	res, startedAt, err := s.inspect(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.result, s.startedAt, s.err, s.done = res, startedAt, nil, false
	s.mu.Unlock()

	root := source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o700, ModTime: time.Now()}
	if err := fn(&root); err != nil {
		return err
	}
	e := source.Entry{Path: name, Type: source.TypeFile, Perm: 0o600, Size: -1, ModTime: time.Now(),
		Open: func() (io.ReadCloser, error) { return s.open(ctx) }}
	if err := fn(&e); err != nil {
		return err
	}
	return s.check()
}

// inspect finds the container and checks that it runs; it returns what
// the snapshot records and when the container started.
func (s *ExecSource) inspect(ctx context.Context) (ExecResult, string, error) {
	res := s.baseResult()
	in, err := s.cli.ContainerInspect(ctx, s.container, client.ContainerInspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		return res, "", fmt.Errorf("docker: exec %s in container %q: no such container: %w: %w",
			res.Command, s.container, err, source.ErrAbort)
	case err != nil:
		return res, "", fmt.Errorf("docker: exec %s in container %q: inspect: %w: %w",
			res.Command, s.container, err, source.ErrAbort)
	}
	c := in.Container
	res.ContainerID, res.ContainerName, res.ImageID = c.ID, strings.TrimPrefix(c.Name, "/"), c.Image
	if c.Config != nil {
		res.Image = c.Config.Image
	}
	if c.State == nil || !c.State.Running || c.State.Paused || c.State.Restarting {
		state := "unknown"
		if c.State != nil {
			state = string(c.State.Status)
		}
		return res, "", fmt.Errorf("docker: exec %s in container %q: %w (state %s): %w",
			res.Command, s.container, ErrNotRunning, state, source.ErrAbort)
	}
	return res, c.State.StartedAt, nil
}

// ErrNotRunning is wrapped by the error of an exec dump in a container that
// is not running (created, exited, paused or restarting).
var ErrNotRunning = errors.New("container is not running")

// check reports how the dump ended, after the walk function returned.
func (s *ExecSource) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		return fmt.Errorf("docker: exec in container %q: dump %s: the content was never read: %w",
			s.container, s.name(), source.ErrAbort)
	}
	return s.err
}
