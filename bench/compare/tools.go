package main

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// op is one kind of tool command.
type op int

const (
	opInit op = iota
	opBackup
	opRestore
	opCheck
)

// invocation is what a tool command needs to know about its round.
type invocation struct {
	repo   string // the repository directory; does not exist before init
	src    string // the data set to back up
	target string // an empty directory to restore into
	state  string // a directory for the tool's cache and configuration
	snap   int    // the number of the backup (1, 2, …), or of the latest one
}

// tool runs one backup program.
type tool struct {
	name    string
	bin     string
	version string
	// env returns the variables for a round's commands, added to os.Environ.
	env func(inv invocation) []string
	// args returns the arguments for op and the working directory ("" for
	// the current one).
	args func(o op, inv invocation) (args []string, dir string)
}

// password is every tool's repository password.
const password = "compare"

// errNotFound marks a tool that is not installed.
var errNotFound = errors.New("not found on PATH")

// findTool sets up the tool called name; binDir receives cairn's binary.
func findTool(name, binDir string) (*tool, error) {
	switch name {
	case "cairn":
		return buildCairn(binDir)
	case "restic":
		return lookTool(name, []string{"version"}, resticEnv, resticArgs)
	case "borg":
		return lookTool(name, []string{"--version"}, borgEnv, borgArgs)
	case "kopia":
		if _, err := exec.LookPath("kopia"); err != nil {
			return nil, errNotFound
		}
		return nil, errors.New("found, but not supported by this harness yet")
	}
	return nil, fmt.Errorf("unknown tool (have cairn, restic, borg, kopia)")
}

// buildCairn builds examples/cairn into binDir.
func buildCairn(binDir string) (*tool, error) {
	bin := filepath.Join(binDir, "cairn")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/cairnbackup/cairn/examples/cairn")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, out)
	}
	return &tool{
		name:    "cairn",
		bin:     bin,
		version: cairnVersion(bin),
		env: func(inv invocation) []string {
			return []string{"CAIRN_REPOSITORY=" + inv.repo, "CAIRN_PASSWORD=" + password}
		},
		args: resticArgs, // cairn's CLI takes restic's verbs and flags for these steps
	}, nil
}

// cairnVersion describes the commit the binary was built from.
func cairnVersion(bin string) string {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "cairn (unknown version)"
	}
	v := "cairn " + info.Main.Version
	stamped := false
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision":
			v += " " + s.Value[:min(12, len(s.Value))]
			stamped = true
		case s.Key == "vcs.modified" && s.Value == "true":
			v += "+dirty"
		}
	}
	if !stamped {
		v += " " + gitDescribe()
	}
	return v + ", " + info.GoVersion
}

// gitDescribe names the commit of the current directory, for binaries the
// go command did not stamp.
func gitDescribe() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "(no commit)"
	}
	return "commit " + strings.TrimSpace(string(out))
}

// lookTool finds an installed tool and asks for its version.
func lookTool(name string, versionArgs []string, env func(invocation) []string, args func(op, invocation) ([]string, string)) (*tool, error) {
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, errNotFound
	}
	out, _ := exec.Command(bin, versionArgs...).Output()
	version := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	if version == "" {
		version = name + " (unknown version)"
	}
	return &tool{name: name, bin: bin, version: version, env: env, args: args}, nil
}

func resticEnv(inv invocation) []string {
	return []string{
		"RESTIC_REPOSITORY=" + inv.repo,
		"RESTIC_PASSWORD=" + password,
		"RESTIC_CACHE_DIR=" + filepath.Join(inv.state, "cache"),
	}
}

// resticArgs are the command lines of each step for restic, and for cairn,
// whose CLI takes the same verbs and flags for them.
func resticArgs(o op, inv invocation) ([]string, string) {
	switch o {
	case opInit:
		return []string{"init"}, ""
	case opBackup:
		return []string{"--quiet", "backup", inv.src}, ""
	case opRestore:
		return []string{"--quiet", "restore", "latest", "--target", inv.target}, ""
	}
	return []string{"--quiet", "check", "--read-data"}, ""
}

// borgEnv keeps borg's cache, keys and security files in the round's state
// directory.
func borgEnv(inv invocation) []string {
	return []string{
		"BORG_REPO=" + inv.repo,
		"BORG_PASSPHRASE=" + password,
		"BORG_BASE_DIR=" + inv.state,
	}
}

func borgArgs(o op, inv invocation) ([]string, string) {
	archive := fmt.Sprintf("::s%d", inv.snap)
	switch o {
	case opInit:
		return []string{"init", "--encryption=repokey-blake2"}, ""
	case opBackup:
		return []string{"create", archive, inv.src}, ""
	case opRestore:
		return []string{"extract", archive}, inv.target // borg extracts into the working directory
	}
	return []string{"check", "--verify-data"}, ""
}

// toolEnv is the environment for a round's commands.
func toolEnv(t *tool, inv invocation) []string {
	return append(os.Environ(), t.env(inv)...)
}
