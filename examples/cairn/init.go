package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

func initCommand() *command {
	return &command{
		name:    "init",
		summary: "create a repository",
		help:    "The repository is created at --repo (or $" + envRepository + "), protected by the password.",
		run:     runInit,
	}
}

func runInit(ctx context.Context, a *app, args []string) error {
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
	be := local.New(dir)
	// Create first, so that a directory we cannot write to fails before the
	// key is derived.
	if err := be.Create(ctx); err != nil {
		return err
	}
	r, err := repo.Init(ctx, be, password, repo.InitOptions{})
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
		return "", fmt.Errorf("no repository given: use --repo DIR or set %s", envRepository)
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
	r, err := repo.Open(ctx, local.New(dir), password, repo.OpenOptions{})
	var fe *repo.FileError
	switch {
	case err == nil:
		return r, nil
	case errors.Is(err, repo.ErrWrongPassword):
		return nil, fmt.Errorf("open repository %s: wrong password or no key for it", dir)
	case errors.Is(err, repo.ErrNotFound) && !hasConfig(dir):
		return nil, fmt.Errorf("no repository at %s: create one with \"cairn init\"", dir)
	case errors.As(err, &fe) && fe.File.Type == backend.IndexFile:
		return nil, fmt.Errorf("open repository %s: %w (\"cairn repair index\" rebuilds the index from the packs)", dir, err)
	}
	return nil, fmt.Errorf("open repository %s: %w", dir, err)
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
