package dump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/source"
)

// StderrTail is how many bytes of a command's stderr an error keeps.
const StderrTail = 4 << 10

// CommandError says a command failed: it exited non-zero or was killed.
// It wraps source.ErrAbort, so a backup with it saves no snapshot.
type CommandError struct {
	Command  string // as recorded, redacted
	ExitCode int    // -1 when killed by a signal
	Signal   string // the signal that killed it, if one did
	Stderr   string // the last StderrTail bytes of stderr
}

func (e *CommandError) Error() string {
	status := fmt.Sprintf("exit status %d", e.ExitCode)
	if e.Signal != "" {
		status = "killed by signal " + e.Signal
	}
	msg := fmt.Sprintf("command %s: %s", e.Command, status)
	if tail := strings.TrimSpace(e.Stderr); tail != "" {
		msg += ": " + tail
	}
	return msg
}

// Unwrap makes a failed command abort the backup.
func (e *CommandError) Unwrap() error { return source.ErrAbort }

// commandError turns exec's error for cmd into a *CommandError, or
// returns it as is if the command did not run to an exit.
func commandError(line string, err error, stderr *TailBuffer) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	ce := &CommandError{Command: line, ExitCode: ee.ExitCode(), Stderr: stderr.String()}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		ce.Signal = ws.Signal().String()
	}
	return ce
}

// waitDelay bounds how long Wait waits for a command's pipes to close
// after it exited or was killed, in case children it left hold them.
const waitDelay = 5 * time.Second

// ownGroup runs cmd in a process group of its own, so that cancelling
// kills the command and everything it started (the pg_dump behind a
// wrapper script, both ends of a pipeline), not just the first process.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = waitDelay
}

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// TailBuffer is an io.Writer that keeps the last StderrTail bytes written
// to it, for the end of a command's stderr in errors. It is safe for
// concurrent use.
type TailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - StderrTail; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *TailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// stream is a running dump: its stdout (or reader) and what to check when
// it ends.
type stream struct {
	s       *Source
	ctx     context.Context
	cmd     *exec.Cmd
	out     io.ReadCloser
	stderr  *TailBuffer
	n       int64
	eof     bool
	started time.Time
}

// open starts the dump.
func (s *Source) open(ctx context.Context) (io.ReadCloser, error) {
	st := &stream{s: s, ctx: ctx, started: time.Now()}
	if s.r != nil {
		st.out = io.NopCloser(s.r)
		return st, nil
	}
	cmd := exec.CommandContext(ctx, s.path, s.args...)
	ownGroup(cmd)
	cmd.Dir = s.Dir
	if len(s.Env) > 0 {
		cmd.Env = append(os.Environ(), s.Env...)
	}
	st.stderr = new(TailBuffer)
	cmd.Stderr = st.stderr
	if s.Stderr != nil {
		cmd.Stderr = io.MultiWriter(st.stderr, s.Stderr)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dump %s: start %s: %w: %w", s.name(), s.commandLine(), err, source.ErrAbort)
	}
	st.cmd, st.out = cmd, out
	return st, nil
}

func (st *stream) Read(p []byte) (int, error) {
	n, err := st.out.Read(p)
	st.n += int64(n)
	if err == io.EOF {
		st.eof = true
	} else if err != nil {
		err = fmt.Errorf("dump %s: read: %w: %w", st.s.name(), err, source.ErrAbort)
	}
	return n, err
}

// Close waits for the command and says whether the dump is whole.
func (st *stream) Close() error {
	s := st.s
	res := Result{Name: s.name(), Command: s.commandLine(), Bytes: st.n, Started: st.started}
	var err error
	if st.cmd != nil {
		if !st.eof {
			// The reader gave up: stop the command and all it started,
			// and drop the pipe so nothing blocks writing to it.
			killGroup(st.cmd)
			st.out.Close()
		}
		err = commandError(res.Command, st.cmd.Wait(), st.stderr)
		code := st.cmd.ProcessState.ExitCode()
		res.ExitCode = &code
	}
	res.Duration = time.Since(st.started)
	switch {
	case st.ctx.Err() != nil:
		err = fmt.Errorf("dump %s: %w: %w", s.name(), st.ctx.Err(), source.ErrAbort)
	case err != nil:
		err = fmt.Errorf("dump %s: %w", s.name(), err)
	case !st.eof:
		err = fmt.Errorf("dump %s: not read to the end: %w", s.name(), source.ErrAbort)
	case st.n == 0 && !s.AllowEmpty:
		err = fmt.Errorf("dump %s: %s wrote nothing (set AllowEmpty if that is a valid dump): %w",
			s.name(), orStdin(res.Command), source.ErrAbort)
	}
	s.mu.Lock()
	s.result, s.err = res, err
	s.mu.Unlock()
	return err
}

func orStdin(line string) string {
	if line == "" {
		return "the reader"
	}
	return line
}

// check reports how the dump ended, after the walk function returned.
func (s *Source) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.result.Name == "" {
		return fmt.Errorf("dump %s: the content was never read: %w", s.name(), source.ErrAbort)
	}
	return s.err
}
