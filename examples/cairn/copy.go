package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/cairnbackup/cairn/repo"
)

// envFromPassword holds the password of the repository copy reads from.
const envFromPassword = "CAIRN_FROM_PASSWORD"

// fromRepo is another repository to read from: copy's source, or the one
// init takes its chunking from.
type fromRepo struct {
	dir          string
	passwordFile string
}

// flags registers the repository flag as name and --from-password-file.
func (f *fromRepo) flags(set *flag.FlagSet, name, usage string) {
	set.StringVar(&f.dir, name, "", usage)
	set.StringVar(&f.passwordFile, "from-password-file", "",
		"read the password of --"+name+" from `FILE` (default $"+envFromPassword+")")
}

func (f *fromRepo) password() (string, error) {
	if f.passwordFile != "" {
		return readPasswordFile(f.passwordFile)
	}
	if pw := os.Getenv(envFromPassword); pw != "" {
		return pw, nil
	}
	return "", fmt.Errorf("no password for %s given: set %s or use --from-password-file FILE", f.dir, envFromPassword)
}

// open opens the repository, the same way as --repo.
func (f *fromRepo) open(ctx context.Context, a *app) (*repo.Repository, error) {
	password, err := f.password()
	if err != nil {
		return nil, err
	}
	return a.openAt(ctx, f.dir, password)
}

type copyCmd struct {
	from fromRepo
}

func copyCommand() *command {
	c := &copyCmd{}
	return &command{
		name:     "copy",
		synopsis: "--from-repo DIR [--from-password-file FILE] [ID...]",
		summary:  "copy snapshots from another repository into this one",
		help: `Copies the snapshots ID of the repository at --from-repo, or every one
of them that the repository at --repo does not have yet, into --repo. The
password of --from-repo comes from --from-password-file or $` + envFromPassword + `.

Only the data --repo lacks is sent if it was created with
"cairn init --copy-chunker-params-from" the other: the two then chunk alike
and give data the same IDs. Otherwise every blob is read and hashed anew,
and the copies deduplicate less with backups made into --repo.`,
		flags: func(set *flag.FlagSet) {
			c.from.flags(set, "from-repo", "copy from the repository `DIR`")
		},
		run: c.run,
	}
}

// copyJSON is copy's JSON output.
type copyJSON struct {
	Snapshots    []copiedJSON `json:"snapshots"`
	Copied       int          `json:"copied"`
	Skipped      int          `json:"skipped"`
	BlobsCopied  uint64       `json:"blobs_copied"`
	BytesCopied  uint64       `json:"bytes_copied"`
	StoredBytes  uint64       `json:"stored_bytes"`
	BlobsPresent uint64       `json:"blobs_present"`
	Rehashed     bool         `json:"rehashed"`
}

type copiedJSON struct {
	Source  repo.ID `json:"source"`
	Copy    repo.ID `json:"copy"`
	Skipped bool    `json:"skipped"`
}

func (c *copyCmd) run(ctx context.Context, a *app, args []string) error {
	if c.from.dir == "" {
		return usageError(errors.New("copy: give the repository to copy from with --from-repo DIR"))
	}
	// Both passwords first: a missing one should not cost a key derivation.
	if _, err := c.from.password(); err != nil {
		return err
	}
	if _, err := a.password(); err != nil {
		return err
	}
	src, err := c.from.open(ctx, a)
	if err != nil {
		return err
	}
	defer src.Close()
	var ids []repo.ID
	for _, s := range args {
		sn, err := findSnapshot(ctx, src, s)
		if err != nil {
			return fmt.Errorf("in %s: %w", c.from.dir, err)
		}
		ids = append(ids, sn.ID)
	}
	dst, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer dst.Close()
	rep, err := src.Copy(ctx, dst, ids, repo.CopyOptions{Progress: func(s repo.CopiedSnapshot) {
		if s.Skipped {
			a.infof("snapshot %s is there already as %s", s.Source.Short(), s.Copy.Short())
		} else {
			a.infof("snapshot %s copied as %s", s.Source.Short(), s.Copy.Short())
		}
	}})
	if err != nil {
		return err
	}
	if a.json {
		out := copyJSON{Snapshots: []copiedJSON{}, Copied: rep.Copied, Skipped: rep.Skipped,
			BlobsCopied: rep.BlobsCopied, BytesCopied: rep.BytesCopied, StoredBytes: rep.StoredBytes,
			BlobsPresent: rep.BlobsPresent, Rehashed: rep.Rehashed}
		for _, s := range rep.Snapshots {
			out.Snapshots = append(out.Snapshots, copiedJSON(s))
		}
		return a.printJSON(out)
	}
	a.infof("%d snapshots copied, %d there already; %d blobs (%s) sent, %d there already",
		rep.Copied, rep.Skipped, rep.BlobsCopied, formatBytes(rep.StoredBytes), rep.BlobsPresent)
	return nil
}
