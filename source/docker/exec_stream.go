package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/cairnbackup/cairn/source"
	"github.com/cairnbackup/cairn/source/dump"
)

// Bounds on waiting for the daemon once the stream has ended: the exit
// code of an exec is recorded a moment after its output closes.
const (
	execExitWait = 30 * time.Second
	execExitPoll = 20 * time.Millisecond
)

// execStream is a running exec dump: the demultiplexed stdout and what to
// check when it ends.
type execStream struct {
	s       *ExecSource
	ctx     context.Context
	id      string // the exec
	conn    client.HijackedResponse
	stop    func() bool    // undoes closing conn on cancellation
	out     *io.PipeReader // stdout, demultiplexed by copyDone's goroutine
	copied  chan error     // stdcopy's result
	stderr  *dump.TailBuffer
	n       int64
	eof     bool
	started time.Time
}

// open creates and attaches the exec; its output is read through Read.
func (s *ExecSource) open(ctx context.Context) (io.ReadCloser, error) {
	line := s.commandLine()
	fail := func(op string, err error) error {
		return fmt.Errorf("docker: exec %s in container %q: %s: %w: %w", line, s.container, op, err, source.ErrAbort)
	}
	started := time.Now()
	cr, err := s.cli.ExecCreate(ctx, s.container, client.ExecCreateOptions{
		User: s.User, Env: s.Env, WorkingDir: s.WorkingDir, Cmd: s.cmd,
		AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, fail("create", err)
	}
	at, err := s.cli.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, fail("start", err)
	}
	st := &execStream{s: s, ctx: ctx, id: cr.ID, conn: at.HijackedResponse, started: started,
		stderr: new(dump.TailBuffer), copied: make(chan error, 1)}
	// The hijacked connection does not watch ctx once set up.
	st.stop = context.AfterFunc(ctx, func() { st.conn.Close() })
	var errw io.Writer = st.stderr
	if s.Stderr != nil {
		errw = io.MultiWriter(st.stderr, s.Stderr)
	}
	pr, pw := io.Pipe()
	st.out = pr
	go func() {
		_, err := stdcopy.StdCopy(pw, errw, st.conn.Reader)
		pw.CloseWithError(err) // nil: io.EOF for the reader
		st.copied <- err
	}()
	return st, nil
}

func (st *execStream) Read(p []byte) (int, error) {
	n, err := st.out.Read(p)
	st.n += int64(n)
	switch {
	case err == io.EOF:
		st.eof = true
	case err != nil && st.ctx.Err() != nil:
		err = fmt.Errorf("%s: %w: %w", st.what(), st.ctx.Err(), source.ErrAbort)
	case err != nil:
		err = fmt.Errorf("%s: read: %w: %w", st.what(), err, source.ErrAbort)
	}
	return n, err
}

func (st *execStream) what() string {
	return fmt.Sprintf("docker: exec %s in container %q", st.s.commandLine(), st.s.container)
}

// Close ends the stream, reads the exit code if the output was read to its
// end, and says whether the dump is whole.
func (st *execStream) Close() error {
	s := st.s
	st.stop()
	st.conn.Close() // if not at the end: the exec gets EPIPE on its next write
	st.out.Close()
	<-st.copied

	s.mu.Lock()
	res := s.result
	s.mu.Unlock()
	res.Bytes, res.Started = st.n, st.started

	var err error
	if st.eof && st.ctx.Err() == nil {
		var code int
		if code, err = st.exitCode(); err == nil {
			res.ExitCode = &code
			if code != 0 {
				err = fmt.Errorf("docker: exec in container %q: %w", s.container,
					&dump.CommandError{Command: res.Command, ExitCode: code, Stderr: st.stderr.String()})
			} else {
				err = st.sameContainer()
			}
		}
	}
	res.Duration = time.Since(st.started)
	switch {
	case st.ctx.Err() != nil:
		err = fmt.Errorf("%s: %w: %w", st.what(), st.ctx.Err(), source.ErrAbort)
	case err != nil:
	case !st.eof:
		err = fmt.Errorf("%s: not read to the end (the process may run on in the container): %w",
			st.what(), source.ErrAbort)
	case st.n == 0 && !s.AllowEmpty:
		err = fmt.Errorf("%s: wrote nothing (set AllowEmpty if that is a valid dump): %w",
			st.what(), source.ErrAbort)
	}
	s.mu.Lock()
	s.result, s.err, s.done = res, err, true
	s.mu.Unlock()
	return err
}

// exitCode waits for the daemon to record the exec's end and returns its
// exit code.
func (st *execStream) exitCode() (int, error) {
	ctx, cancel := context.WithTimeout(st.ctx, execExitWait)
	defer cancel()
	for {
		in, err := st.s.cli.ExecInspect(ctx, st.id, client.ExecInspectOptions{})
		if err != nil {
			return 0, fmt.Errorf("%s: read the exit code (did the container stop?): %w: %w",
				st.what(), err, source.ErrAbort)
		}
		if !in.Running {
			return in.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s: output ended but the process still runs after %v: %w",
				st.what(), execExitWait, errors.Join(ctx.Err(), source.ErrAbort))
		case <-time.After(execExitPoll):
		}
	}
}

// sameContainer checks that the container still runs as it did when the
// dump began: an exec that the container's end cut short may be reported
// as exit 0 (the API then has no exit code to give).
func (st *execStream) sameContainer() error {
	s := st.s
	s.mu.Lock()
	id, startedAt := s.result.ContainerID, s.startedAt
	s.mu.Unlock()
	res, now, err := s.inspect(st.ctx)
	switch {
	case err != nil:
		return err // it stopped or vanished: the dump may be cut short
	case res.ContainerID != id || now != startedAt:
		return fmt.Errorf("%s: the container restarted or was replaced during the dump: %w",
			st.what(), source.ErrAbort)
	}
	return nil
}
