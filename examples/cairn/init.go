package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend"
)

func initCommand() *command {
	var from fromRepo
	return &command{
		name:     "init",
		synopsis: "[--copy-chunker-params-from DIR [--from-password-file FILE]]",
		summary:  "create a repository",
		help: "The repository is created at --repo (or $" + envRepository + "), protected by the password.\n" +
			"With --copy-chunker-params-from it chunks and names data as that repository does (password\n" +
			"from --from-password-file or $" + envFromPassword + "), so that copy between them sends only\n" +
			"what is missing; whoever holds both passwords can then tell which data they share.",
		flags: func(set *flag.FlagSet) {
			from.flags(set, "copy-chunker-params-from", "take the chunking and blob IDs of the repository `DIR`")
		},
		run: func(ctx context.Context, a *app, args []string) error { return runInit(ctx, a, args, &from) },
	}
}

func runInit(ctx context.Context, a *app, args []string, from *fromRepo) error {
	if len(args) != 0 {
		return usageError(errors.New("init takes no arguments"))
	}
	dir, err := a.repository()
	if err != nil {
		return err
	}
	password, err := a.password()
	if err != nil {
		return err
	}
	var opts repo.InitOptions
	if from.dir != "" {
		src, err := from.open(ctx, a)
		if err != nil {
			return err
		}
		defer src.Close()
		opts.ChunkerFrom = src
	}
	l, err := parseLocation(dir)
	if err != nil {
		return err
	}
	be, err := a.backendAt(ctx, l, true)
	if err != nil {
		return err
	}
	r, err := repo.Init(ctx, be, password, opts)
	if errors.Is(err, repo.ErrExists) {
		return fmt.Errorf("a repository exists at %s already", dir)
	}
	if err != nil {
		return fmt.Errorf("init %s: %w", dir, err)
	}
	defer r.Close()
	id := r.Config().ID
	if a.json {
		return a.printJSON(struct {
			ID         repo.ID `json:"id"`
			Repository string  `json:"repository"`
		}{id, dir})
	}
	a.infof("created repository %s at %s", id.Short(), dir)
	a.infof("Without the password the data cannot be read: keep it safe.")
	return nil
}

// repository returns the repository directory from --repo or the
// environment.
func (a *app) repository() (string, error) {
	if a.repoDir == "" {
		return "", fmt.Errorf("no repository given: use --repo DIR (or s3:https://HOST/BUCKET) or set %s", envRepository)
	}
	return a.repoDir, nil
}

// password returns the password from --password-file or the environment.
func (a *app) password() (string, error) {
	if a.passwordFile != "" {
		return readPasswordFile(a.passwordFile)
	}
	if pw := os.Getenv(envPassword); pw != "" {
		return pw, nil
	}
	return "", fmt.Errorf("no password given: set %s or use --password-file FILE", envPassword)
}

// readPasswordFile reads a password, without one trailing newline.
func readPasswordFile(name string) (string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if pw == "" {
		return "", fmt.Errorf("password file %s is empty", name)
	}
	return pw, nil
}

// open opens the repository, turning the common failures into messages
// that say what to do.
func (a *app) open(ctx context.Context) (*repo.Repository, error) {
	dir, err := a.repository()
	if err != nil {
		return nil, err
	}
	password, err := a.password()
	if err != nil {
		return nil, err
	}
	return a.openAt(ctx, dir, password)
}

// openAt opens the repository at addr with password: the one place that
// turns a repository address into a Repository.
func (a *app) openAt(ctx context.Context, addr, password string) (*repo.Repository, error) {
	l, err := parseLocation(addr)
	if err != nil {
		return nil, err
	}
	be, err := a.backendAt(ctx, l, false)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", addr, err)
	}
	opts, err := a.openOptions(l)
	if err != nil {
		return nil, err
	}
	r, err := repo.Open(ctx, be, password, opts)
	var fe *repo.FileError
	switch {
	case err == nil:
		return r, nil
	case errors.Is(err, repo.ErrWrongPassword):
		return nil, fmt.Errorf("open repository %s: wrong password or no key for it", addr)
	case noSuchRepository(l, err):
		return nil, fmt.Errorf("no repository at %s: create one with \"cairn init\"", addr)
	case errors.As(err, &fe) && fe.File.Type == backend.IndexFile:
		return nil, fmt.Errorf("open repository %s: %w (\"cairn repair index\" rebuilds the index from the packs)", addr, err)
	}
	return nil, fmt.Errorf("open repository %s: %w", addr, err)
}

// hasConfig reports whether dir looks like a repository: the config file
// is what makes one (see FORMAT.md).
func hasConfig(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "config"))
	return !errors.Is(err, fs.ErrNotExist)
}

// openSnapshot opens the repository and resolves snapshot s in it.
func (a *app) openSnapshot(ctx context.Context, s string) (*repo.Repository, *repo.Snapshot, error) {
	r, err := a.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	sn, err := findSnapshot(ctx, r, s)
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return r, sn, nil
}

// openFS opens the repository and an io/fs view of snapshot s in it.
func (a *app) openFS(ctx context.Context, s string) (*repo.Repository, *repo.Snapshot, *repo.SnapshotFS, error) {
	r, sn, err := a.openSnapshot(ctx, s)
	if err != nil {
		return nil, nil, nil, err
	}
	fsys, err := r.FS(ctx, sn.ID)
	if err != nil {
		r.Close()
		return nil, nil, nil, err
	}
	return r, sn, fsys, nil
}

// findSnapshot resolves "latest", an ID or an ID prefix.
func findSnapshot(ctx context.Context, r *repo.Repository, s string) (*repo.Snapshot, error) {
	sn, err := r.FindSnapshot(ctx, s)
	if errors.Is(err, repo.ErrNotFound) {
		if s == "latest" {
			return nil, errors.New("no snapshot found: the repository has none yet")
		}
		return nil, fmt.Errorf("snapshot %q not found", s)
	}
	return sn, err
}
