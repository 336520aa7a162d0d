package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Environment variables read in place of flags.
const (
	envRepository  = "CAIRN_REPOSITORY"
	envPassword    = "CAIRN_PASSWORD"
	envNewPassword = "CAIRN_NEW_PASSWORD"
)

// app holds the global settings and where output goes.
type app struct {
	repoDir      string
	passwordFile string
	json         bool
	quiet        bool
	limits       limits
	cache        cacheFlags
	mode         openMode

	stdin          io.Reader
	stdout, stderr io.Writer
	mu             sync.Mutex // serializes writes to stderr (warnings, progress)
}

func (a *app) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&a.repoDir, "repo", a.repoDir, "repository `DIR`, or s3:https://HOST/BUCKET[/PREFIX] (default $"+envRepository+")")
	fs.StringVar(&a.passwordFile, "password-file", a.passwordFile, "read the password from `FILE` (default $"+envPassword+")")
	fs.BoolVar(&a.json, "json", a.json, "machine-readable output")
	fs.BoolVar(&a.quiet, "quiet", a.quiet, "no progress and no informational messages")
	a.limits.flags(fs)
	a.cache.flags(fs)
}

func (a *app) fillFromEnv() {
	if a.repoDir == "" {
		a.repoDir = os.Getenv(envRepository)
	}
}

// infof prints an informational line to stdout, unless quiet or in JSON
// mode, where stdout holds only the JSON.
func (a *app) infof(format string, args ...any) {
	if a.quiet || a.json {
		return
	}
	fmt.Fprintf(a.stdout, format+"\n", args...)
}

// printJSON writes v to stdout as one line of JSON.
func (a *app) printJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", data)
	return err
}

// warn reports a problem with one file that does not stop the command.
func (a *app) warn(path string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.json {
		data, _ := json.Marshal(struct {
			Warning string `json:"warning"`
			Path    string `json:"path"`
		}{err.Error(), path})
		fmt.Fprintf(a.stderr, "%s\n", data)
		return
	}
	fmt.Fprintf(a.stderr, "%swarning: %v\n", clearLine(a.stderr), err)
}

func (a *app) printError(err error) {
	if errors.Is(err, context.Canceled) {
		err = errors.New("interrupted")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.json {
		data, _ := json.Marshal(struct {
			Error string `json:"error"`
		}{err.Error()})
		fmt.Fprintf(a.stderr, "%s\n", data)
		return
	}
	fmt.Fprintf(a.stderr, "%scairn: %v\n", clearLine(a.stderr), err)
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// clearLine returns what erases a progress line on w, if w is a terminal.
func clearLine(w io.Writer) string {
	if isTerminal(w) {
		return "\r\x1b[K"
	}
	return ""
}

// formatBytes formats n with binary units: "1.5 MiB".
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// formatDuration formats d as h:mm:ss or m:ss.
func formatDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

const timeLayout = "2006-01-02 15:04:05"

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cairn [global flags] VERB [flags] [arguments]")
	fmt.Fprintln(w, "\nverbs:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nglobal flags (before or after the verb):")
	fs := flag.NewFlagSet("cairn", flag.ContinueOnError)
	(&app{}).globalFlags(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nexit status: 0 success, 1 error, 3 snapshot saved but some files unreadable")
	fmt.Fprintln(w, "run \"cairn help VERB\" for a verb's flags")
}

func verbUsage(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: cairn %s %s\n\n%s\n", c.name, c.synopsis, c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", c.help)
	}
	if c.flags == nil {
		return
	}
	fmt.Fprintln(w, "\nflags:")
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.flags(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return fmt.Sprint(*l) }
func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}
