package dump

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/source"
)

// Source is one dump stream: the stdout of a command, or an io.Reader. It
// backs up as a snapshot holding one file. Set the fields before Backup.
type Source struct {
	// Name is the file's name in the snapshot; default: the command's
	// base name plus ".dump", or "stdin" for a Reader.
	Name string
	// Env is added to the current process's environment (KEY=VALUE);
	// environment values are never recorded in the snapshot.
	Env []string
	// Dir is the command's working directory.
	Dir string
	// AllowEmpty accepts a dump of zero bytes; otherwise it is an error.
	AllowEmpty bool
	// Redact lists substrings of the command line (a password in a
	// connection string) shown as "***" in the snapshot and in errors.
	Redact []string
	// Stderr, if set, receives the command's stderr as it comes; the
	// last StderrTail bytes are kept for errors either way.
	Stderr io.Writer

	path string
	args []string
	r    io.Reader

	mu     sync.Mutex
	result Result
	err    error
}

// Result is what the snapshot records about one dump.
type Result struct {
	Name     string        `json:"name"`
	Command  string        `json:"command,omitempty"` // redacted
	ExitCode *int          `json:"exit_code,omitempty"`
	Bytes    int64         `json:"bytes"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration"`
}

var (
	_ source.Source     = (*Source)(nil)
	_ source.Sequential = (*Source)(nil)
)

// Command returns a source that runs the program name with args (looked
// up in PATH as exec.Command does) and backs up its stdout. The backup
// fails, and no snapshot is written, if the program exits non-zero, is
// killed, or writes nothing (unless AllowEmpty).
func Command(name string, args ...string) *Source {
	return &Source{path: name, args: args}
}

// Reader returns a source that backs up what r yields until io.EOF, as a
// file called name ("stdin" if empty). A read error fails the backup.
func Reader(r io.Reader, name string) *Source {
	return &Source{Name: name, r: r}
}

func (s *Source) name() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.r != nil:
		return "stdin"
	}
	return filepath.Base(s.path) + ".dump"
}

// commandLine is the command as recorded: quoted where needed, redacted.
func (s *Source) commandLine() string {
	if s.r != nil {
		return ""
	}
	return CommandLine(append([]string{s.path}, s.args...), s.Redact)
}

// CommandLine formats argv for records and errors: arguments quoted where
// a shell would need it, every non-empty string of redact shown as "***".
func CommandLine(argv []string, redact []string) string {
	parts := make([]string, 0, len(argv))
	for _, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	line := strings.Join(parts, " ")
	for _, secret := range redact {
		if secret != "" {
			line = strings.ReplaceAll(line, secret, "***")
		}
	}
	return line
}

// Info describes the dump; after a backup it carries the Result.
func (s *Source) Info() source.Info { return info([]*Source{s}) }

// Sequential marks the content as readable only during the walk.
func (s *Source) Sequential() {}

// Walk yields the snapshot root and the dump file.
func (s *Source) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	return walk(ctx, []*Source{s}, fn)
}

// MultiSource is several dumps in one snapshot, one file each.
type MultiSource struct {
	sources []*Source
}

var (
	_ source.Source     = (*MultiSource)(nil)
	_ source.Sequential = (*MultiSource)(nil)
)

// Multi puts several dumps (one per database, say) into one snapshot. They
// run one after the other; if any fails, the backup fails.
func Multi(sources ...*Source) *MultiSource { return &MultiSource{sources: sources} }

// Info describes the dumps; after a backup it carries their Results.
func (m *MultiSource) Info() source.Info { return info(m.sources) }

// Sequential marks the content as readable only during the walk.
func (m *MultiSource) Sequential() {}

// Walk yields the snapshot root and one file per dump.
func (m *MultiSource) Walk(ctx context.Context, fn func(*source.Entry) error) error {
	return walk(ctx, m.sources, fn)
}

func info(sources []*Source) source.Info {
	in := source.Info{Kind: "dump"}
	var descs []string
	var results []Result
	for _, s := range sources {
		in.Paths = append(in.Paths, s.name())
		d := s.commandLine()
		if d == "" {
			d = s.name()
		}
		descs = append(descs, d)
		s.mu.Lock()
		if s.result.Name != "" {
			results = append(results, s.result)
		}
		s.mu.Unlock()
	}
	in.Description = strings.Join(descs, "; ")
	if len(results) > 0 {
		in.Details, _ = json.Marshal(struct {
			Dumps []Result `json:"dumps"`
		}{results})
	}
	return in
}

// walk yields the root, then each dump's file; its content is read while
// fn runs.
func walk(ctx context.Context, sources []*Source, fn func(*source.Entry) error) error {
	if len(sources) == 0 {
		return errors.New("dump: no source")
	}
	seen := map[string]bool{}
	for _, s := range sources {
		name := s.name()
		if !source.ValidName(name) || seen[name] {
			return fmt.Errorf("dump: file name %q: invalid or used twice", name)
		}
		seen[name] = true
	}
	now := time.Now()
	root := source.Entry{Path: ".", Type: source.TypeDir, Perm: 0o700, ModTime: now}
	if err := fn(&root); err != nil {
		return err
	}
	for _, s := range sources {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := source.Entry{Path: s.name(), Type: source.TypeFile, Perm: 0o600, Size: -1, ModTime: time.Now(),
			Open: func() (io.ReadCloser, error) { return s.open(ctx) }}
		if err := fn(&e); err != nil {
			return err
		}
		if err := s.check(); err != nil {
			return err // the consumer did not read the dump
		}
	}
	return nil
}
