// Command cairn is a restic-like command-line backup tool built on cairn's
// public API: a local repository, directory sources and targets.
//
// Usage:
//
//	cairn [global flags] VERB [flags] [arguments]
//
//	cairn init [--copy-chunker-params-from DIR]
//	cairn backup [--tag T]... [--host H] [--exclude P]... [--exclude-if-present NAME]...
//	             [--one-file-system] [--parent ID | --force] PATH...
//	cairn snapshots [--host H]... [--tag T[,T...]]...
//	cairn ls [-l|--long] ID [PATH]
//	cairn restore ID --target DIR [--path SUBDIR] [--include P]... [--exclude P]...
//	             [--verify] [--overwrite always|if-changed|never] [--no-owner]
//	cairn dump ID PATH
//	cairn key list | add | remove ID | passwd
//	cairn stats
//	cairn forget [--keep-last N] [--keep-daily N]... [--keep-within D] [--keep-tag T]... [--dry-run] [--prune] | ID...
//	cairn prune [--max-unused P%] [--max-repack-size SIZE] [--dry-run]
//	cairn check [--read-data | --read-data-subset N/M|P%]
//	cairn repair index | snapshots [--forget-damaged]
//	cairn unlock [--remove-all]
//	cairn verify ID [--sample P%] [--files N] [--seed S]
//	cairn copy --from-repo DIR [ID...]
//
// backup and restore also take Docker volumes (--docker-volume and more);
// see "cairn help backup".
//
// Every PATH given to backup becomes a snapshot of its own. ID is a snapshot
// ID, a unique prefix of one (at least 4 hex digits) or "latest".
//
// Global flags may come before or after the verb:
//
//	--repo DIR            the repository (or CAIRN_REPOSITORY)
//	--password-file FILE  read the password from FILE (or CAIRN_PASSWORD)
//	--json                machine-readable output; errors as {"error": "..."}
//	--quiet               no progress and no informational messages
//	--limit-upload KIB    upload at most KIB KiB/s to the repository
//	--limit-download KIB  download at most KIB KiB/s from the repository
//	--limit-connections N at most N repository operations at once
//
// backup --limit-read KIB reads file content at most KIB KiB/s. For every
// limit, 0 means no limit.
//
// key add and key passwd take the new password from --new-password-file or
// CAIRN_NEW_PASSWORD; copy and init --copy-chunker-params-from take the other
// repository's from --from-password-file or CAIRN_FROM_PASSWORD.
//
// Exit status: 0 on success, 1 on an error (check and verify: damage
// found), 3 when backup saved a snapshot but could not read some files.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/cairnbackup/cairn/repo"
)

// Exit statuses.
const (
	exitOK      = 0
	exitError   = 1
	exitPartial = 3 // a snapshot was saved, but some files could not be read
)

// programVersion is recorded in snapshots.
const programVersion = "cairn-cli"

// gcPercent is the garbage collector's target unless GOGC says otherwise.
// A backup's long-lived data (the index, open trees) is small next to the
// chunks passing through, so Go's default of 100, which lets the heap grow
// to twice what was live, mostly holds garbage. 50 keeps peak memory about
// a quarter lower for a little more collection work, the trade restic made
// too (restic 0.16).
const gcPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one kills the process at once.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one verb.
type command struct {
	name     string
	synopsis string // arguments, for usage
	summary  string // one line, for the verb list
	help     string // more, for "cairn help VERB"; may be empty
	// flags registers the verb's own flags; may be nil.
	flags func(fs *flag.FlagSet)
	run   func(ctx context.Context, a *app, args []string) error
}

func commands() []*command {
	return []*command{
		initCommand(),
		backupCommand(),
		snapshotsCommand(),
		lsCommand(),
		restoreCommand(),
		dumpCommand(),
		keyCommand(),
		statsCommand(),
		forgetCommand(),
		pruneCommand(),
		checkCommand(),
		repairCommand(),
		unlockCommand(),
		verifyCommand(),
		copyCommand(),
	}
}

// run is the whole program but for the process: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	global := flag.NewFlagSet("cairn", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	a.globalFlags(global)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitOK
		}
		return a.fail(usageError(err))
	}
	rest := global.Args()
	if len(rest) == 0 {
		usage(stderr)
		return exitError
	}
	if rest[0] == "help" {
		if len(rest) > 1 {
			if c := lookup(rest[1]); c != nil {
				verbUsage(stdout, c)
				return exitOK
			}
		}
		usage(stdout)
		return exitOK
	}
	c := lookup(rest[0])
	if c == nil {
		return a.fail(usageError(fmt.Errorf("unknown verb %q", rest[0])))
	}
	fs := verbFlags(c, a)
	pos, err := parseInterspersed(fs, rest[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			verbUsage(stdout, c)
			return exitOK
		}
		return a.fail(usageError(fmt.Errorf("%s: %w", c.name, err)))
	}
	a.fillFromEnv()
	return a.fail(c.run(ctx, a, pos))
}

func lookup(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// verbFlags returns c's flag set: the global flags and c's own.
func verbFlags(c *command, a *app) *flag.FlagSet {
	fs := flag.NewFlagSet("cairn "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.globalFlags(fs)
	if c.flags != nil {
		c.flags(fs)
	}
	return fs
}

// parseInterspersed parses fs from args, allowing flags after positional
// arguments, and returns the positional ones. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// statusError carries an exit status chosen by a command.
type statusError struct {
	code int
	err  error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// usageError marks a mistake on the command line.
func usageError(err error) error {
	return fmt.Errorf("%w (see \"cairn help\")", err)
}

// fail reports err, if any, and returns the exit status for it.
func (a *app) fail(err error) int {
	if err == nil {
		return exitOK
	}
	a.printError(err)
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.code
	case errors.Is(err, repo.ErrPartialSnapshot):
		return exitPartial
	}
	return exitError
}
