package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	src := filepath.Join(t.TempDir(), "src")
	files := map[string]string{"a.txt": "a\n", "b.txt": "b\n", "sub/c.txt": "c\n", "sub/big.bin": maintRandom(200_000), "link": "->a.txt"}
	id := maintBackup(t, c, src, files)

	out := c.ok("verify", "latest")
	require.Contains(t, out, "verified snapshot "+id.Short()+": 4 files (4 read back), 2 dirs, 1 other")
	require.Contains(t, out, "everything matches the snapshot")

	var rep verifyJSON
	c.okJSON(&rep, "verify", id.Short(), "--files", "2", "--seed", "7")
	require.True(t, rep.OK)
	require.Equal(t, id, rep.SnapshotID)
	require.Equal(t, 2, rep.Files)
	require.Equal(t, 2, rep.Verified)
	require.Equal(t, int64(7), rep.Seed)
	c.okJSON(&rep, "verify", "latest", "--sample", "50%", "--path", "/sub")
	require.True(t, rep.OK)

	dir := filepath.Join(t.TempDir(), "scratch")
	c.okJSON(&rep, "verify", "latest", "--dir", dir, "--keep")
	require.Equal(t, dir, rep.Dir)
	require.Equal(t, files, readTree(t, dir))

	for _, args := range [][]string{
		{"verify"},
		{"verify", "latest", "--sample", "0%"},
		{"verify", "latest", "--sample", "half"},
		{"verify", "latest", "--sample", "200%"},
		{"verify", "latest", "--files", "-1"},
	} {
		c.fails(exitError, `see "cairn help"`, args...)
	}
	c.fails(exitError, "not empty", "verify", "latest", "--dir", dir)

	// Flip a byte in the middle of the pack that holds big.bin.
	packs := maintPackFiles(t, c)
	data, err := os.ReadFile(packs[0])
	require.NoError(t, err)
	data[len(data)/2] ^= 1
	require.NoError(t, os.WriteFile(packs[0], data, 0o600))
	r := c.fails(exitError, "big.bin", "verify", "latest")
	require.Contains(t, r.stderr, "corrupt or tampered")
	c.fails(exitError, "big.bin", "verify", "latest", "--path", "sub")
}
