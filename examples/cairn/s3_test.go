package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairnbackup/cairn/internal/tests3"
)

// TestS3Repository runs the CLI against an S3 repository on a real
// S3-compatible server: init, backup, restore, check, and a copy of a local
// repository into S3 restored from there.
func TestS3Repository(t *testing.T) {
	srv := tests3.Start(t)
	src := filepath.Join(t.TempDir(), "src")
	files := map[string]string{"a.txt": "hello\n", "sub/big.bin": rand.Text() + string(make([]byte, 3_000_000)), "link": "->a.txt"}
	writeTree(t, src, files)
	cache := t.TempDir()

	c := newCLI(t).with(srv.Env()...)
	c.repo = srv.URL("cli", "repo")
	c.ok("init")
	c.fails(exitError, "exists", "init")
	c.ok("--cache-dir", cache, "backup", src)
	entries, err := os.ReadDir(cache)
	require.NoError(t, err)
	require.NotEmpty(t, entries, "the remote repository is cached")
	out := t.TempDir()
	c.ok("--cache-dir", cache, "restore", "latest", "--target", out, "--verify")
	require.Equal(t, files, readTree(t, out))
	c.ok("--no-cache", "check", "--read-data")
	c.ok("--cache-dir", cache, "forget", "--keep-last", "1", "--prune")

	// Offsite: a local repository copied into S3.
	local := newCLI(t)
	local.ok("init")
	local.ok("backup", src)
	offsite := newCLI(t).with(srv.Env()...).with(envFromPassword + "=" + local.password)
	offsite.repo = srv.URL("offsite", "")
	offsite.ok("init", "--copy-chunker-params-from", local.repo)
	offsite.ok("--no-cache", "copy", "--from-repo", local.repo)
	out2 := t.TempDir()
	offsite.ok("--no-cache", "restore", "latest", "--target", out2, "--verify")
	require.Equal(t, files, readTree(t, out2))

	// Wrong credentials and a bad address are clear errors.
	bad := newCLI(t).with("AWS_ACCESS_KEY_ID="+tests3.AccessKey, "AWS_SECRET_ACCESS_KEY=wrong")
	bad.repo = srv.URL("cli", "repo")
	bad.fails(exitError, "access refused", "--no-cache", "snapshots")
	bad.repo = "s3:ftp://host/bucket"
	bad.fails(exitError, "s3:https://HOST/BUCKET", "snapshots")
	none := newCLI(t).with(srv.Env()...)
	none.repo = srv.URL("empty", "")
	none.fails(exitError, "does not exist", "--no-cache", "snapshots")
}
