package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// Labels that put hooks on a container. The value is the command, run
// without a shell (images made FROM scratch have none): split on white
// space into argv, or, when it starts with "[", a JSON array of strings
// like a Dockerfile's exec form, e.g. ["sh", "-c", "pg_dump db > /x"].
const (
	ExecPreLabel  = "cairn.exec-pre"
	ExecPostLabel = "cairn.exec-post"
)

// DefaultHookTimeout bounds one hook when Consistency.HookTimeout is zero.
const DefaultHookTimeout = time.Minute

// hookOutputMax is how much of a hook's output a HookError keeps: the end,
// where the reason for a failure usually is.
const hookOutputMax = 2048

// Hook is a pair of commands run inside a running container: Pre before
// the volumes are read (and before containers are stopped or paused),
// Post afterwards (after they run again). Either may be empty.
type Hook struct {
	Container string   // name or ID
	Pre, Post []string // argv, run by exec without a shell
}

// HookError is a hook that failed: it could not run, timed out or exited
// non-zero.
type HookError struct {
	Container string
	Phase     string // "pre" or "post"
	Cmd       []string
	ExitCode  int    // -1 when it did not finish
	Output    string // the end of its stdout and stderr
	Err       error  // why it did not finish; nil when it exited non-zero
}

func (e *HookError) Error() string {
	msg := fmt.Sprintf("docker: container %s: %s-hook %q", containerRef(e.Container), e.Phase, e.Cmd)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	} else {
		msg += fmt.Sprintf(": exit status %d", e.ExitCode)
	}
	if out := strings.TrimSpace(e.Output); out != "" {
		msg += ": output: " + out
	}
	return msg
}

func (e *HookError) Unwrap() error { return e.Err }

// labelHook reads the hook labels of a container; hooks without commands
// give false.
func labelHook(id string, labels map[string]string) (Hook, bool, error) {
	h := Hook{Container: id}
	var err error
	if h.Pre, err = hookArgv(labels[ExecPreLabel]); err != nil {
		return h, false, fmt.Errorf("docker: container %s: label %s: %w", containerRef(id), ExecPreLabel, err)
	}
	if h.Post, err = hookArgv(labels[ExecPostLabel]); err != nil {
		return h, false, fmt.Errorf("docker: container %s: label %s: %w", containerRef(id), ExecPostLabel, err)
	}
	return h, len(h.Pre) > 0 || len(h.Post) > 0, nil
}

// hookArgv parses a hook label's value into argv.
func hookArgv(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if !strings.HasPrefix(v, "[") {
		return strings.Fields(v), nil
	}
	var argv []string
	if err := json.Unmarshal([]byte(v), &argv); err != nil {
		return nil, fmt.Errorf("not a JSON array of strings: %w", err)
	}
	return argv, nil
}

// runHook runs argv in container by exec and waits for it, at most
// timeout. The Engine API cannot kill an exec: one that times out goes on
// running inside the container.
func runHook(ctx context.Context, cli *client.Client, container, phase string, argv []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(code int, out string, err error) error {
		return &HookError{Container: container, Phase: phase, Cmd: argv, ExitCode: code, Output: out, Err: err}
	}
	cr, err := cli.ExecCreate(ctx, container, client.ExecCreateOptions{
		AttachStdout: true, AttachStderr: true, Cmd: argv,
	})
	if err != nil {
		return fail(-1, "", err)
	}
	att, err := cli.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	if err != nil {
		return fail(-1, "", err)
	}
	defer att.Close()
	out := &hookOutput{}
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, out, att.Reader)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		att.Close() // ends the copy
		<-done
		err := ctx.Err()
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %v: %w", timeout, err)
		}
		return fail(-1, out.String(), err)
	}
	if err != nil {
		return fail(-1, out.String(), fmt.Errorf("reading output: %w", err))
	}
	code, err := hookExitCode(ctx, cli, cr.ID)
	if err != nil {
		return fail(-1, out.String(), err)
	}
	if code != 0 {
		return fail(code, out.String(), nil)
	}
	return nil
}

// hookExitCode waits for the daemon to record the exit code of an exec
// whose output has ended; that takes a moment.
func hookExitCode(ctx context.Context, cli *client.Client, id string) (int, error) {
	for {
		res, err := cli.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err != nil {
			return -1, fmt.Errorf("inspect: %w", err)
		}
		if !res.Running {
			return res.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("waiting for the exit code: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// hookOutput keeps the last hookOutputMax bytes written to it. One
// goroutine writes; it is read after that one ended.
type hookOutput struct{ b []byte }

func (o *hookOutput) Write(p []byte) (int, error) {
	o.b = append(o.b, p...)
	if over := len(o.b) - hookOutputMax; over > 0 {
		o.b = append(o.b[:0], o.b[over:]...)
	}
	return len(p), nil
}

func (o *hookOutput) String() string { return string(o.b) }

// containerRef shortens a container ID for messages; names pass unchanged.
func containerRef(s string) string {
	if len(s) == 64 && strings.Trim(s, "0123456789abcdef") == "" {
		return s[:12]
	}
	return s
}
