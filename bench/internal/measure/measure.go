// Package measure runs a benchmark's commands and reports each one's wall
// time, CPU time and peak resident memory.
//
// Peak RSS needs care. Linux carries a process's high-water mark across
// exec, and a child forked from a large process (Go forks with the
// parent's memory shared, vfork style) starts with the parent's: a
// harness holding a 256 MiB sample would make every tool it runs look
// 256 MiB large. So Run starts the command from a small wrapper, this same
// program re-executed: it starts the command, waits for it, and hands its
// rusage back through a pipe. The tool's own peak is then measured, or the
// wrapper's few MiB when that is more.
//
// Programs that use Run call Wrapped first thing in main (and in TestMain
// for their tests).
package measure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// wrapEnv marks the wrapper process; its value is unused.
const wrapEnv = "CAIRN_MEASURE_WRAPPER"

// Usage is what one command used.
type Usage struct {
	Wall, User, Sys time.Duration
	MaxRSS          int64 // peak resident set, bytes
}

// report goes from the wrapper to Run.
type report struct {
	Usage
	Exit  int
	Error string // the command could not be started
}

// Wrapped runs the wrapper's part, and exits, when this process is one;
// otherwise it returns at once.
func Wrapped() {
	if _, ok := os.LookupEnv(wrapEnv); !ok {
		return
	}
	os.Unsetenv(wrapEnv)
	out := os.NewFile(3, "report")
	rep := wrap(os.Args[1], os.Args[2:])
	if err := json.NewEncoder(out).Encode(rep); err != nil {
		os.Exit(125)
	}
	os.Exit(0)
}

func wrap(bin string, args []string) report {
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Should the wrapper be killed (Run's context ended), so is the command.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	err := cmd.Run()
	rep := report{Usage: Usage{Wall: time.Since(start)}}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		rep.Exit = max(1, exit.ExitCode())
	case err != nil:
		return report{Error: err.Error(), Exit: -1}
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rep.User = time.Duration(ru.Utime.Nano())
		rep.Sys = time.Duration(ru.Stime.Nano())
		rep.MaxRSS = ru.Maxrss << 10 // KiB on Linux
	}
	return rep
}

// ExitError is a command that ran and failed.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Run runs cmd, made by exec.Command and not started, through the wrapper
// and returns what it used; ctx's end kills both. cmd's Path, Args, Env,
// Dir and standard streams are used. A command that exits non-zero returns
// its usage and an *ExitError.
func Run(ctx context.Context, cmd *exec.Cmd) (Usage, error) {
	self, err := os.Executable()
	if err != nil {
		return Usage{}, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return Usage{}, err
	}
	defer r.Close()
	wrapper := exec.CommandContext(ctx, self, append([]string{cmd.Path}, cmd.Args[1:]...)...)
	wrapper.Env = append(cmd.Environ(), wrapEnv+"=1")
	wrapper.Dir = cmd.Dir
	wrapper.Stdin, wrapper.Stdout, wrapper.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	wrapper.ExtraFiles = []*os.File{w}
	err = wrapper.Start()
	w.Close()
	if err != nil {
		return Usage{}, err
	}
	b, rerr := io.ReadAll(r)
	werr := wrapper.Wait()
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return Usage{}, fmt.Errorf("measure %s: no report from the wrapper (%v, %v)", cmd.Path, werr, rerr)
	}
	switch {
	case rep.Error != "":
		return Usage{}, errors.New(rep.Error)
	case rep.Exit != 0:
		return rep.Usage, &ExitError{Code: rep.Exit}
	}
	return rep.Usage, nil
}

// DiskUsage is what du reports: the blocks allocated to the files under
// dir, in bytes.
func DiskUsage(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		}
		return nil
	})
	return n, err
}
