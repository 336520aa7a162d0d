package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCopy(t *testing.T) {
	t.Parallel()
	src := filepath.Join(t.TempDir(), "src")
	files := map[string]string{"a.txt": "hello\n", "sub/big.bin": rand.Text() + string(make([]byte, 300_000)), "link": "->a.txt"}
	writeTree(t, src, files)
	from := newCLI(t)
	from.ok("init")
	first := jsonLines[backupResult](t, from.ok("backup", "--json", "--tag", "daily", src))
	writeTree(t, src, map[string]string{"new.txt": rand.Text()})
	second := jsonLines[backupResult](t, from.ok("backup", "--json", src))

	// The replica shares the source's chunking; its own password.
	to := newCLI(t).with(envFromPassword + "=" + from.password)
	to.password = "offsite horse"
	to.ok("init", "--copy-chunker-params-from", from.repo)

	var rep copyJSON
	to.okJSON(&rep, "copy", "--from-repo", from.repo, first[0].SnapshotID.Short())
	require.Equal(t, 1, rep.Copied)
	require.False(t, rep.Rehashed)
	require.Equal(t, first[0].SnapshotID, rep.Snapshots[0].Source)

	to.okJSON(&rep, "copy", "--from-repo", from.repo)
	require.Equal(t, 1, rep.Copied)
	require.Equal(t, 1, rep.Skipped)
	require.Equal(t, second[0].SnapshotID, rep.Snapshots[1].Source)
	require.Equal(t, uint64(2), rep.BlobsCopied, "only the new file and the new root tree")
	require.NotZero(t, rep.BlobsPresent)

	out := t.TempDir()
	to.ok("restore", rep.Snapshots[1].Copy.Short(), "--target", out, "--verify")
	require.Equal(t, readTree(t, src), readTree(t, out))
	var list []snapshotJSON
	to.okJSON(&list, "snapshots", "--tag", "daily")
	require.Len(t, list, 1)
	to.ok("check", "--read-data")

	require.Contains(t, to.ok("copy", "--from-repo", from.repo), "0 snapshots copied, 2 there already")
}

// A destination made without --copy-chunker-params-from gets the same
// files; the source's password can come from a file.
func TestCopyOtherKeys(t *testing.T) {
	t.Parallel()
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, map[string]string{"a.txt": "hello\n", "b.bin": rand.Text() + string(make([]byte, 100_000))})
	from := newCLI(t)
	from.ok("init")
	from.ok("backup", src)
	pwFile := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte(from.password+"\n"), 0o600))

	to := newCLI(t)
	to.password = "offsite horse"
	to.ok("init")
	to.fails(1, envFromPassword, "copy", "--from-repo", from.repo)
	wrong := filepath.Join(t.TempDir(), "wrong")
	require.NoError(t, os.WriteFile(wrong, []byte("wrong"), 0o600))
	to.fails(1, "wrong password", "copy", "--from-repo", from.repo, "--from-password-file", wrong)
	var rep copyJSON
	to.okJSON(&rep, "copy", "--from-repo", from.repo, "--from-password-file", pwFile, "latest")
	require.True(t, rep.Rehashed)
	require.Equal(t, 1, rep.Copied)
	out := t.TempDir()
	to.ok("restore", "latest", "--target", out, "--verify")
	require.Equal(t, readTree(t, src), readTree(t, out))
}
