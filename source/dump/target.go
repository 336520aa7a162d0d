package dump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/cairnbackup/cairn/source"
)

// Target restores one file of a snapshot into a command's stdin (psql,
// pg_restore, mysql) or into an io.Writer. Directories of the snapshot are
// passed over; a second file is an error, so select the one to restore
// with RestoreOptions.Include when a snapshot holds several.
type Target struct {
	// Env is added to the current process's environment.
	Env []string
	// Dir is the command's working directory.
	Dir string
	// Stdout and Stderr, if set, receive the command's output; the last
	// StderrTail bytes of stderr go into errors either way.
	Stdout, Stderr io.Writer

	path string
	args []string
	w    io.Writer
	file string // the file restored, once one was
}

var _ source.Target = (*Target)(nil)

// Into returns a target that runs the program name with args and feeds it
// the snapshot's file on stdin. The restore fails if the program exits
// non-zero or is killed, or does not take all of the input.
func Into(name string, args ...string) *Target {
	return &Target{path: name, args: args}
}

// IntoWriter returns a target that writes the snapshot's file to w.
func IntoWriter(w io.Writer) *Target {
	return &Target{w: w}
}

// Put restores e if it is the snapshot's one regular file.
func (t *Target) Put(ctx context.Context, e *source.Entry, content io.Reader) error {
	if e.Type != source.TypeFile {
		return nil
	}
	if t.file != "" {
		return fmt.Errorf("dump target: a second file %q after %q: choose one with an include pattern", e.Path, t.file)
	}
	t.file = e.Path
	if e.Hardlink != "" {
		return fmt.Errorf("dump target: %s is a hard link to %s: restore that file instead", e.Path, e.Hardlink)
	}
	in := &exactReader{r: content, left: e.Size}
	if t.w != nil {
		if _, err := io.Copy(t.w, in); err != nil {
			return fmt.Errorf("dump target: %s: %w", e.Path, err)
		}
		return in.check(e.Path)
	}
	return t.run(ctx, e.Path, in)
}

// run feeds in to the command and waits for it.
func (t *Target) run(ctx context.Context, file string, in *exactReader) error {
	cmd := exec.CommandContext(ctx, t.path, t.args...)
	ownGroup(cmd)
	cmd.Dir, cmd.Stdin, cmd.Stdout = t.Dir, in, t.Stdout
	if len(t.Env) > 0 {
		cmd.Env = append(os.Environ(), t.Env...)
	}
	stderr := new(TailBuffer)
	cmd.Stderr = stderr
	if t.Stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, t.Stderr)
	}
	line := CommandLine(append([]string{t.path}, t.args...), nil)
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("restore %s into %s: %w", file, line, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", file, commandError(line, err, stderr))
	}
	if err := in.check(file); err != nil {
		return fmt.Errorf("%w (%s exited 0 without reading all its input)", err, line)
	}
	return nil
}

// Close fails if no file was restored: a restore that wrote nothing is
// not a success.
func (t *Target) Close(context.Context) error {
	if t.file == "" {
		return errors.New("dump target: the snapshot (or the selection) holds no file to restore")
	}
	return nil
}

// exactReader passes on exactly left bytes of r.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (e *exactReader) check(file string) error {
	if e.left != 0 {
		return fmt.Errorf("restore %s: %d bytes not delivered", file, e.left)
	}
	return nil
}
